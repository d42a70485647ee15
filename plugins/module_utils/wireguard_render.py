# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human views of a plan document: a text table and a Mermaid or Graphviz topology diagram."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

DIAGRAM_FORMATS = ("mermaid", "graphviz")


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


def diagram(plan: Mapping[str, Any], fmt: str = "mermaid") -> str:
    if fmt not in DIAGRAM_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    edges = _edges(plan)
    ids = _node_ids(plan)
    if fmt == "mermaid":
        out = ["graph LR"]
        out += [f'  {ids[h]}["{h}<br/>{"<br/>".join(plan[h]["addresses"])}"]' for h in sorted(plan)]
        out += [f"  {ids[a]} {'===' if routes else '---'} {ids[b]}" for a, b, routes in edges]
        return "\n".join(out) + "\n"
    out = ["graph wireguard {", "  node [shape=box];"]
    newline = "\\n"  # Graphviz's own line break inside a label
    out += [f'  {ids[h]} [label="{newline.join([h, *plan[h]["addresses"]])}"];' for h in sorted(plan)]
    out += [f"  {ids[a]} -- {ids[b]}{' [style=bold]' if routes else ''};" for a, b, routes in edges]
    return "\n".join(out) + "\n}\n"


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
