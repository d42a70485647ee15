# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human views of a plan document: a text table and a Mermaid or Graphviz topology diagram."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DIAGRAM_FORMATS = ("mermaid", "graphviz")


def table(plan: Mapping[str, Any]) -> str:
    """One block per host: its interface line, then a row per peer."""
    lines: list[str] = []
    for host in sorted(plan):
        entry = plan[host]
        port = entry.get("listen_port")
        lines.append(
            f"{host}  {entry['interface']}  {', '.join(entry['addresses'])}  "
            f"port {port if port is not None else 'auto'}  {len(entry['peers'])} peer(s)"
        )
        rows = [("peer", "allowed ips", "endpoint", "keepalive", "psk", "key")]
        for peer in entry["peers"]:
            rows.append(
                (
                    peer["name"],
                    ", ".join(peer["allowed_ips"]),
                    peer["endpoint"] or "-",
                    str(peer["persistent_keepalive"] or "-"),
                    "yes" if peer["preshared_key"] else "no",
                    peer["public_key"][:10] + "..." if peer["public_key"] else "not known yet",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            lines.append("    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.append("")
    return "\n".join(lines)


def _node_id(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _edges(plan: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Undirected links once each, with whether either side routes more than the peer's own address."""
    edges = []
    for host in sorted(plan):
        for peer in plan[host]["peers"]:
            name = peer["name"]
            if name > host or name not in plan:
                routes = any(not ip.endswith(("/32", "/128")) for ip in peer["allowed_ips"])
                edges.append((host, name, routes))
    return edges


def diagram(plan: Mapping[str, Any], fmt: str = "mermaid") -> str:
    if fmt not in DIAGRAM_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    edges = _edges(plan)
    if fmt == "mermaid":
        out = ["graph LR"]
        out += [f'  {_node_id(h)}["{h}<br/>{"<br/>".join(plan[h]["addresses"])}"]' for h in sorted(plan)]
        out += [f"  {_node_id(a)} {'===' if routes else '---'} {_node_id(b)}" for a, b, routes in edges]
        return "\n".join(out) + "\n"
    out = ["graph wireguard {", "  node [shape=box];"]
    newline = "\\n"  # Graphviz's own line break inside a label
    out += [f'  {_node_id(h)} [label="{newline.join([h, *plan[h]["addresses"]])}"];' for h in sorted(plan)]
    out += [f"  {_node_id(a)} -- {_node_id(b)}{' [style=bold]' if routes else ''};" for a, b, routes in edges]
    return "\n".join(out) + "\n}\n"
