# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human views of a plan document: a text table and a Mermaid or Graphviz topology diagram (SVG or PNG
through Graphviz's dot)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

DIAGRAM_FORMATS = ("mermaid", "graphviz")
# Beyond this many links the Graphviz diagram draws only those that route or touch a hub or exit node.
MAX_EDGES = 300


def table(plan: Mapping[str, Any]) -> str:
    """One block per host: its interface line, then a row per peer."""
    lines: list[str] = []
    for host in sorted(plan):
        entry = plan[host]
        lines.append(_host_line(host, entry))
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


def _host_line(host: str, entry: Mapping[str, Any]) -> str:
    port = entry.get("listen_port")
    return (
        f"{host}  {entry['interface']}  {', '.join(entry['addresses'])}  "
        f"port {port if port is not None else 'auto'}  {len(entry['peers'])} peer(s)"
    )


def _node_ids(plan: Mapping[str, Any]) -> dict[str, str]:
    """Diagram node ids by position in the sorted host list: distinct for db-1 and db_1 alike."""
    return {name: f"n{index}" for index, name in enumerate(sorted(plan))}


def _edges(plan: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Undirected links once each, bold when either side routes more than the other's own addresses."""
    edges: dict[tuple[str, str], bool] = {}
    for host in sorted(plan):
        for peer in plan[host]["peers"]:
            pair = (host, peer["name"]) if host < peer["name"] else (peer["name"], host)
            routes = any(not ip.endswith(("/32", "/128")) for ip in peer["allowed_ips"])
            edges[pair] = edges.get(pair, False) or routes
    return [(a, b, routes) for (a, b), routes in sorted(edges.items())]


def diagram(
    plan: Mapping[str, Any],
    fmt: str = "mermaid",
    roles: Mapping[str, Mapping[str, Any]] | None = None,
    max_edges: int = MAX_EDGES,
) -> str:
    """The topology as Mermaid or Graphviz text. `roles` (host -> hub, exit_node, unmanaged, routed: the
    planner's host specs) marks hubs, exit nodes, unmanaged peers and the subnets each host routes in the
    Graphviz form; beyond `max_edges` links only those that route or touch a hub or exit node are drawn,
    and the others are summed up in the picture's title, so a hundred-host mesh stays readable."""
    if fmt not in DIAGRAM_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    edges = _edges(plan)
    ids = _node_ids(plan)
    if fmt == "mermaid":
        out = ["graph LR"]
        out += [f'  {ids[h]}["{h}<br/>{"<br/>".join(plan[h]["addresses"])}"]' for h in sorted(plan)]
        out += [f"  {ids[a]} {'===' if routes else '---'} {ids[b]}" for a, b, routes in edges]
        return "\n".join(out) + "\n"
    roles = roles or {}
    special = {h for h, r in roles.items() if r.get("hub") or r.get("exit_node")}
    drawn = edges
    if len(edges) > max_edges:
        drawn = [(a, b, routes) for a, b, routes in edges if routes or a in special or b in special]
    title = f"WireGuard: {len(plan)} host(s), {len(edges)} tunnel(s)"
    if len(drawn) < len(edges):
        title += f"; {len(edges) - len(drawn)} direct tunnel(s) between plain peers not drawn"
    out = [
        "graph wireguard {",
        f'  graph [rankdir=LR, fontname="Helvetica", fontsize=12, labelloc=t, label="{title}"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
        '  edge [color="#5b7aa6"];',
    ]
    newline = "\\n"  # Graphviz's own line break inside a label
    subnets: list[tuple[str, str]] = []
    for h in sorted(plan):
        role = roles.get(h, {})
        kinds = [k for k, on in (("hub", role.get("hub")), ("exit node", role.get("exit_node"))) if on]
        kinds += ["unmanaged"] if role.get("unmanaged") else []
        lines = [h.replace('"', '\\"'), *plan[h]["addresses"], *([", ".join(kinds)] if kinds else [])]
        attrs = [f'label="{newline.join(lines)}"']
        if role.get("hub"):
            attrs += ["shape=doubleoctagon", 'fillcolor="#cfe0ff"']
        elif role.get("exit_node"):
            attrs += ["shape=house", 'fillcolor="#ffe3c4"']
        if role.get("unmanaged"):
            attrs += ['style="rounded,dashed"', "fillcolor=white"]
        out.append(f"  {ids[h]} [{', '.join(attrs)}];")
        subnets += [(h, str(subnet)) for subnet in role.get("routed", ()) or ()]
    out += [f"  {ids[a]} -- {ids[b]}{' [style=bold]' if routes else ''};" for a, b, routes in drawn]
    for index, (h, subnet) in enumerate(subnets):
        out.append(f'  s{index} [label="{subnet}", shape=note, fillcolor="#e8f5e2"];')
        out.append(f'  {ids[h]} -- s{index} [style=dashed, color="#6a9a5b"];')
    return "\n".join(out) + "\n}\n"


def roles_of(hosts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the diagram marks, from the planner's host specs (wireguard_inventory.HostSpec)."""
    return {
        name: {"hub": spec.hub, "exit_node": spec.exit_node, "unmanaged": spec.unmanaged, "routed": list(spec.routed)}
        for name, spec in hosts.items()
    }


IMAGE_FORMATS = ("svg", "png")


def render_image(text: str, fmt: str, path: str) -> None:
    """Draw Graphviz `text` into `path` as SVG or PNG with Graphviz's dot (written whole or not at all)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(IMAGE_FORMATS)}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"{path}: an .{fmt} picture is drawn by Graphviz's dot, which is not installed on the controller; "
            "install Graphviz (Debian and Ubuntu: apt install graphviz; Fedora and RHEL: dnf install graphviz), "
            "or write a .dot or .mmd diagram instead"
        )
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".diagram-", suffix=f".{fmt}", dir=directory)
    os.close(handle)
    try:
        done = subprocess.run(
            [dot, f"-T{fmt}", "-o", temporary], input=text.encode(), capture_output=True, check=False, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"{path}: dot failed: {done.stderr.decode(errors='replace').strip()}")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class LazyPlan(Mapping):
    """A plan document whose host entries are computed on access, never all held at once.

    A 1000-host mesh plan holds a million peer entries; the table, the diagram and the JSON file read
    one host at a time from this.
    """

    def __init__(self, planner: Any) -> None:
        self._planner = planner
        self._names = list(planner.names)
        self._known = frozenset(self._names)

    def __getitem__(self, name: str) -> dict[str, Any]:
        if name not in self._known:
            raise KeyError(name)
        return self._planner.host(name).as_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._known


def write_plan_json(plan: Mapping[str, Any], handle: IO[str]) -> None:
    """The plan file (docs/plan-format.md): one JSON object, one line per host, hosts sorted."""
    names = sorted(plan)
    handle.write("{\n")
    for index, name in enumerate(names):
        handle.write(f"  {json.dumps(name)}: {json.dumps(plan[name], sort_keys=True)}")
        handle.write(",\n" if index < len(names) - 1 else "\n")
    handle.write("}\n")


def summary(plan: Mapping[str, Any], hosts: Sequence[str] | None = None, limit: int = 200) -> str:
    """One line per host (interface, addresses, port, peer count); at most `limit` lines, then a count."""
    names = sorted(plan) if hosts is None else sorted(h for h in hosts if h in plan)
    lines = []
    for host in names[:limit]:
        lines.append(_host_line(host, plan[host]))
    if len(names) > limit:
        lines.append(
            f"... and {len(names) - limit} more host(s): the plan file has them all (-e wireguard_plan_file=PATH)"
        )
    return "\n".join(lines)
