# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host's firewall opens, forwards and masquerades, computed from the inventory. Pure Python.

Inputs:
- the WireGuard planner's input for each WireGuard network (the shape `wireguard_inventory` extracts),
  turned into per-host tunnel facts by `tunnels()`: interface, listen port, hub/exit/router roles;
- the inventory groups: members of `headscale`, `derp`, `tailnet` (or whatever `group_ports` names; a
  missing group is an empty one) get that group's ports;
- the host's firewall settings (role variables `firewall_*`, see roles/firewall/meta/argument_specs.yml).

`ruleset()` returns one backend-neutral rule set; the role renders it for nftables, ufw or firewalld.
Its order is the order rules are evaluated: the management SSH port is always the first accept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.inventory import load_network
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.plan import Planner

PROTOCOLS = ("tcp", "udp")
BACKENDS = ("nftables", "ufw", "firewalld", "none")
TUNNEL_POLICIES = ("accept", "restricted")
INPUT_POLICIES = ("drop", "reject")
FORWARD_POLICIES = ("drop", "accept")

# Ports per inventory group when the caller gives none: every port those servers may use. The firewall
# role passes what the headscale and derp roles' variables say they serve (roles/firewall/vars/main.yml).
GROUP_PORTS: dict[str, list[str]] = {
    "headscale": ["443/tcp", "80/tcp", "3478/udp"],
    "derp": ["443/tcp", "80/tcp", "3478/udp"],
    "tailnet": ["41641/udp"],
}

# Names accepted wherever a port is expected ("ssh" means the management port).
SERVICES: dict[str, list[str]] = {
    "dns": ["53/udp", "53/tcp"],
    "http": ["80/tcp"],
    "https": ["443/tcp"],
    "stun": ["3478/udp"],
    "ntp": ["123/udp"],
    "tailscale": ["41641/udp"],
}
# The interface tailscaled creates.
TAILNET_INTERFACE = "tailscale0"


# A Linux interface name (IFNAMSIZ: at most 15 bytes) as every backend takes it: rendered inside quotes
# (nftables) or as a bare word (ufw, firewalld), a quote or space in it would change the rule.
_INTERFACE = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}")
_PORT_SPEC = re.compile(r"^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*/\s*([a-zA-Z]+)\s*$")


class FirewallError(ValueError):
    """The firewall settings cannot be turned into a rule set; `problems` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"the firewall settings have {len(self.problems)} problem(s):\n{lines}")


# -- tunnels, from the WireGuard planner ----------------------------------------------------------


def tunnels(inventory: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per present host of one WireGuard network, what the firewall needs to know.

    {HOST: {interface, listen_port, networks, forwarding, hub, exit_node, routed, exit_client_subnets,
    other_routed}}; an empty or missing inventory gives {}. Planner errors (PlanError) propagate.
    """
    if not inventory or not inventory.get("hosts"):
        return {}
    plain = {
        "hosts": {name: dict(values) for name, values in inventory["hosts"].items()},
        "groups": dict(inventory.get("groups") or {}),
    }
    network = load_network(plain)
    planner = Planner(network)
    networks = [str(n) for n in network.networks]
    all_routed = [(name, subnet) for name in planner.names for subnet in network.hosts[name].routed]
    clients_of: dict[str, set[str]] = {}
    for other in planner.names:
        exit_node = network.hosts[other].via_exit
        if exit_node:
            clients_of.setdefault(exit_node, set()).add(other)
    result: dict[str, dict[str, Any]] = {}
    for name in planner.names:
        spec = network.hosts[name]
        clients = clients_of.get(name, set())
        result[name] = {
            "interface": spec.interface,
            "listen_port": spec.listen_port,
            "networks": networks,
            "forwarding": planner.host(name).forwarding,
            "hub": bool(spec.hub and network.topology == "hub_spoke"),
            "exit_node": spec.exit_node,
            "routed": list(spec.routed),
            "exit_client_subnets": [s for owner, s in all_routed if owner in clients],
            "other_routed": [s for owner, s in all_routed if owner != name],
        }
    return result


# -- port entries -----------------------------------------------------------------------------------


def _split_family(items: Sequence[str]) -> tuple[list[str], list[str]]:
    v4 = [
        str(ipaddress.ip_network(i, strict=False)) for i in items if ipaddress.ip_network(i, strict=False).version == 4
    ]
    v6 = [
        str(ipaddress.ip_network(i, strict=False)) for i in items if ipaddress.ip_network(i, strict=False).version == 6
    ]
    return v4, v6


def _sources(problems: list[str], where: str, value: Any) -> list[str] | None:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        problems.append(f"{where}: sources {value!r} is not a list of addresses or CIDRs")
        return None
    result = []
    for item in items:
        try:
            result.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            problems.append(f"{where}: source '{item}' is not an IP address or CIDR")
            return None
    return result


def _entry(port: str, proto: str, sources: list[str], comment: str) -> dict[str, Any]:
    v4, v6 = _split_family(sources)
    return {"port": port, "proto": proto, "sources": sources, "sources4": v4, "sources6": v6, "comment": comment}


def _port_range(problems: list[str], where: str, low: str, high: str | None) -> str | None:
    first, last = int(low), int(high) if high is not None else int(low)
    if not (1 <= first <= 65535 and 1 <= last <= 65535 and first <= last):
        problems.append(f"{where}: port {low}{'-' + high if high else ''} is not a port (1-65535) or a rising range")
        return None
    return str(first) if first == last else f"{first}-{last}"


def parse_ports(
    problems: list[str], where: str, value: Any, ssh_port: int | None = None, comment: str = ""
) -> list[dict[str, Any]]:
    """Normalise a list of port specs: "443/tcp", "8000-8100/udp", a service name, or
    {port, proto, sources, comment}. Problems are appended, naming `where` (host and variable)."""
    if value is None:
        return []
    if isinstance(value, (str, int, Mapping)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        problems.append(f"{where}: {value!r} is not a list of ports")
        return []
    entries: list[dict[str, Any]] = []
    for item in value:
        sources: list[str] | None = []
        explicit = ""
        if isinstance(item, Mapping):
            unknown = sorted(set(item) - {"port", "proto", "sources", "comment"})
            if unknown:
                problems.append(f"{where}: {dict(item)!r} has unknown key(s) {', '.join(unknown)}")
                continue
            if "port" not in item:
                problems.append(f"{where}: {dict(item)!r} has no port")
                continue
            proto = str(item.get("proto", "tcp")).lower()
            spec = f"{item['port']}/{proto}"
            sources = _sources(problems, where, item.get("sources"))
            explicit = str(item.get("comment") or "")
        else:
            spec = str(item)
        if sources is None:
            continue
        name = spec.strip().lower()
        if name == "ssh":
            specs = [f"{ssh_port}/tcp"] if ssh_port else []
            note = explicit or "ssh"
        elif name in SERVICES:
            specs = SERVICES[name]
            note = explicit or name
        else:
            specs = [spec]
            note = explicit or comment
        for one in specs:
            match = _PORT_SPEC.match(one)
            if not match:
                problems.append(
                    f"{where}: '{item}' is not PORT/PROTO (like 443/tcp or 60000-61000/udp) or a known service "
                    f"(ssh, {', '.join(SERVICES)})"
                )
                continue
            proto = match.group(3).lower()
            if proto not in PROTOCOLS:
                problems.append(f"{where}: '{item}': protocol {proto} is not one of {', '.join(PROTOCOLS)}")
                continue
            port = _port_range(problems, where, match.group(1), match.group(2))
            if port is not None:
                entries.append(_entry(port, proto, sources, note))
    return entries


def _merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (port, proto, sources), first position kept, comments joined."""
    merged: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["port"], entry["proto"], tuple(entry["sources"]))
        if key in merged:
            seen = merged[key]
            if entry["comment"] and entry["comment"] not in seen["comment"].split(", "):
                seen["comment"] = f"{seen['comment']}, {entry['comment']}" if seen["comment"] else entry["comment"]
        else:
            merged[key] = dict(entry)
    return list(merged.values())


# -- the rule set -------------------------------------------------------------------------------------


def _choice(problems: list[str], host: str, variable: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        problems.append(f"host {host}: {variable}: {value!r} is not one of {', '.join(choices)}")
        return choices[0]
    return str(value)


def _interfaces(problems: list[str], host: str, variable: str, value: Any) -> list[str]:
    """A list of interface names (None: none), each a whole name; problems for anything else."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        problems.append(
            f"host {host}: {variable}: {value!r} is not a list of interface names; write it as a list, like [eth0]"
        )
        return []
    names = []
    for name in value:
        if isinstance(name, str) and _INTERFACE.fullmatch(name):
            names.append(name)
        else:
            problems.append(
                f"host {host}: {variable}: {name!r} is not an interface name "
                "(1 to 15 letters, digits, '_', '.' or '-'; no quotes, spaces or wildcards)"
            )
    return list(dict.fromkeys(names))


def _flag(problems: list[str], host: str, variable: str, value: Any, default: bool | None) -> bool | None:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    problems.append(f"host {host}: {variable}: {value!r} is not a boolean")
    return default


def _family_subnets(subnets: Sequence[str]) -> dict[str, list[str]]:
    v4, v6 = _split_family(subnets)
    return {"v4": v4, "v6": v6}


def ruleset(
    host: str,
    groups: Mapping[str, Sequence[str]],
    networks: Sequence[Mapping[str, Mapping[str, Any]]],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The rule set of `host`. `networks` holds one `tunnels()` result per WireGuard network.

    Raises FirewallError listing every problem in the settings.
    """
    problems: list[str] = []
    s = dict(settings)
    backend = _choice(problems, host, "firewall_backend", s.get("backend", "nftables"), BACKENDS)
    input_policy = _choice(problems, host, "firewall_input_policy", s.get("input_policy", "drop"), INPUT_POLICIES)
    forward_policy = _choice(
        problems, host, "firewall_forward_policy", s.get("forward_policy", "drop"), FORWARD_POLICIES
    )
    tunnel_policy = _choice(problems, host, "firewall_tunnel_policy", s.get("tunnel_policy", "accept"), TUNNEL_POLICIES)

    ssh_port: int | None = None
    raw_port = s.get("ssh_port", 22)
    if (isinstance(raw_port, int) and not isinstance(raw_port, bool)) or str(raw_port).strip().isdigit():
        ssh_port = int(raw_port)
    if ssh_port is None or not 1 <= ssh_port <= 65535:
        problems.append(
            f"host {host}: firewall_ssh_port: {raw_port!r} is not a port; the management SSH port is always opened"
        )
        ssh_port = None
    ssh_sources = _sources(problems, f"host {host}: firewall_ssh_sources", s.get("ssh_sources")) or []

    # 1. management SSH, always first
    accept: list[dict[str, Any]] = []
    if ssh_port is not None:
        accept.append(_entry(str(ssh_port), "tcp", ssh_sources, "management ssh"))

    # 2. WireGuard listen ports, then the service groups, then the host's own extra ports
    mine = [net[host] for net in networks if host in net]
    for tunnel in mine:
        if tunnel["listen_port"]:
            accept.append(_entry(str(tunnel["listen_port"]), "udp", [], f"wireguard {tunnel['interface']}"))
    group_ports = s.get("group_ports")
    if group_ports is None:
        group_ports = GROUP_PORTS
    if not isinstance(group_ports, Mapping):
        problems.append(f"host {host}: firewall_group_ports: {group_ports!r} is not a mapping of group to ports")
        group_ports = {}
    opened: list[tuple[str, list[dict[str, Any]]]] = []  # (variable, its entries) besides the SSH entry
    for group, ports in group_ports.items():
        if host in (groups.get(group) or ()):
            where = f"firewall_group_ports[{group}]"
            opened.append((where, parse_ports(problems, f"host {host}: {where}", ports, ssh_port, comment=group)))
            accept.extend(opened[-1][1])
    opened.append(
        (
            "firewall_allowed_ports",
            parse_ports(
                problems,
                f"host {host}: firewall_allowed_ports",
                s.get("allowed_ports"),
                ssh_port,
                "firewall_allowed_ports",
            ),
        )
    )
    accept.extend(opened[-1][1])
    accept = _merge(accept)

    # 3. the tunnel interfaces
    tunnel_allowed = parse_ports(
        problems, f"host {host}: firewall_tunnel_allowed", s.get("tunnel_allowed"), ssh_port, "firewall_tunnel_allowed"
    )
    opened.append(("firewall_tunnel_allowed", tunnel_allowed))
    if ssh_sources and ssh_port is not None:
        # firewall_ssh_sources restrict the management port on every interface (the backends refuse it to
        # any other source before the other rules); a second entry that opens it would be dead, or worse,
        # admit a source the lock-out check counts on. So there is one place to say who may SSH in.
        for variable, entries in opened:
            for entry in entries:
                if entry["proto"] == "tcp" and _port_matches(entry["port"], ssh_port):
                    problems.append(
                        f"host {host}: {variable}: {entry['port']}/tcp opens the management SSH port {ssh_port}, "
                        "which firewall_ssh_sources restrict on every interface, tunnels included; add its "
                        "sources (or the tunnel's network) to firewall_ssh_sources instead"
                    )
    if s.get("tunnel_allowed") and tunnel_policy == "accept":
        problems.append(
            f"host {host}: firewall_tunnel_allowed is set but firewall_tunnel_policy is accept (everything is "
            "allowed on the tunnel); set firewall_tunnel_policy: restricted"
        )
    extra_tunnels = _interfaces(problems, host, "firewall_tunnel_interfaces", s.get("tunnel_interfaces") or [])
    uplinks = _interfaces(problems, host, "firewall_uplink_interfaces", s.get("uplink_interfaces"))
    interfaces = list(dict.fromkeys([t["interface"] for t in mine] + extra_tunnels))
    tunnel_rules = [
        {"interface": name, "policy": tunnel_policy, "allowed": _merge(tunnel_allowed)} for name in interfaces
    ]

    # 4. forwarding and NAT. A tailnet subnet router or exit node forwards from tailscale0 to anywhere
    # (tailscaled masquerades those flows itself).
    tailnet_forwarding = bool(s.get("tailnet_forwarding"))
    planned = any(t["forwarding"] for t in mine) or tailnet_forwarding
    forwarding = _flag(problems, host, "firewall_forwarding", s.get("forwarding"), planned)
    masquerade_exit = _flag(problems, host, "firewall_masquerade_exit_node", s.get("masquerade_exit_node"), True)
    masquerade_routed = _flag(problems, host, "firewall_masquerade_routed", s.get("masquerade_routed"), False)
    forward: dict[str, list[Any]] = {"tunnel_to_tunnel": [], "tunnel_to_any": [], "routed": []}
    masquerade: list[dict[str, Any]] = []
    if forwarding and tailnet_forwarding:
        forward["tunnel_to_any"].append(TAILNET_INTERFACE)
    if forwarding:
        for tunnel in mine:
            iface = tunnel["interface"]
            if tunnel["hub"]:
                forward["tunnel_to_tunnel"].append(iface)
            if tunnel["exit_node"]:
                forward["tunnel_to_any"].append(iface)
                if masquerade_exit:
                    if not uplinks:
                        problems.append(
                            f"host {host}: firewall_uplink_interfaces: this host is an exit node of {iface} and "
                            "masquerades its clients (firewall_masquerade_exit_node), only where they leave through "
                            "the uplink, but no uplink is known (the host has no default route); set "
                            "firewall_uplink_interfaces to the interfaces its internet traffic leaves through"
                        )
                    masquerade.append(
                        {
                            "interface": iface,
                            "out_interfaces": [name for name in uplinks if name != iface],
                            "sources": _family_subnets(tunnel["networks"] + tunnel["exit_client_subnets"]),
                            "destinations": {"v4": [], "v6": []},
                            "comment": f"exit node: {iface} clients to the internet",
                        }
                    )
            if tunnel["routed"]:
                forward["routed"].append({"interface": iface, "subnets": _family_subnets(tunnel["routed"])})
                if masquerade_routed:
                    masquerade.append(
                        {
                            "interface": iface,
                            "sources": _family_subnets(tunnel["networks"] + tunnel["other_routed"]),
                            "destinations": _family_subnets(tunnel["routed"]),
                            "out_interfaces": [],
                            "comment": f"subnet router: {iface} peers into the routed LAN",
                        }
                    )
    families = {ipaddress.ip_network(n).version for t in mine for n in t["networks"]}
    allow_ping = _flag(problems, host, "firewall_allow_ping", s.get("allow_ping"), True)

    if problems:
        raise FirewallError(problems)
    return {
        "backend": backend,
        "policy": {"input": input_policy, "forward": forward_policy},
        "allow_ping": bool(allow_ping),
        "ssh_port": ssh_port,
        # firewall_ssh_sources restrict SSH on every interface, tunnels included: the backends refuse the
        # management port to any other source before a tunnel's accept-all (or allowed services) applies.
        "ssh_guard": accept[0] if ssh_sources and ssh_port is not None else None,
        "accept": accept,
        "tunnels": tunnel_rules,
        "forwarding": {
            "enabled": bool(forwarding),
            "ipv4": bool(forwarding),
            "ipv6": bool(forwarding) and (6 in families),
        },
        "forward": forward,
        "masquerade": masquerade,
    }


# -- the management connection -------------------------------------------------------------------------


def _port_matches(spec: str, port: int) -> bool:
    bounds = spec.split("-", 1)
    return int(bounds[0]) <= port <= int(bounds[-1])


def _source_matches(sources: Sequence[str], client: str | None) -> bool:
    if not sources:
        return True
    if client is None:
        return False
    address = ipaddress.ip_address(client.split("%")[0])
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(s) for s in sources)


def management_check(rules: Mapping[str, Any], port: Any = None, client: str | None = None) -> list[str]:
    """Why `rules` would cut the management connection (SSH to `port` from `client`); [] when it would not.

    `client` is None when it is unknown (no SSH_CONNECTION, or not an SSH connection at all): then only the
    port is checked.
    """
    if port in (None, ""):
        port = rules.get("ssh_port")
    try:
        port = int(port)
    except (TypeError, ValueError):
        return [f"the management port {port!r} is not a number"]
    try:
        if client is not None:
            ipaddress.ip_address(client.split("%")[0])
    except ValueError:
        client = None
    for entry in rules.get("accept", []):
        if entry["proto"] != "tcp" or not _port_matches(entry["port"], port):
            continue
        if client is None or _source_matches(entry["sources"], client):
            return []
    if any(e["proto"] == "tcp" and _port_matches(e["port"], port) for e in rules.get("accept", [])):
        return [
            f"the management connection comes from {client} to port {port}/tcp, but the rules accept that port only "
            f"from {', '.join(s for e in rules['accept'] if _port_matches(e['port'], port) for s in e['sources'])}; "
            "add the controller's address to firewall_ssh_sources"
        ]
    return [
        f"the management connection uses port {port}/tcp, which the rules do not accept (firewall_ssh_port is "
        f"{rules.get('ssh_port')}); set firewall_ssh_port to the port Ansible connects to"
    ]
