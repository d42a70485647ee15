# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WireGuard network as the inventory describes it: normalised, validated, addresses allocated.

Input is plain data, the shape `wireguard_inventory` (the filter) extracts from an Ansible inventory:

    {"hosts": {HOST: {"wireguard_network": ..., "wireguard_address": ..., ...}},
     "groups": {GROUP: [HOST, ...]}}

plus the fleet state recorded before (public keys and allocated addresses). Every problem is collected
and raised together in one PlanError, each naming the host and the variable. Pure Python.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .wireguard_addressing import Allocator, EndpointError, IPInterface, IPNetwork, parse_endpoint, usable_offsets
from .wireguard_keys import InvalidKeyError, decode_key

# The planner owns these defaults; roles/wireguard/defaults/main.yml repeats them and a unit test keeps
# both in step (role defaults are not visible through hostvars of other hosts, the planner's are).
DEFAULTS: dict[str, Any] = {
    "wireguard_topology": "mesh",
    "wireguard_port": 51820,
    "wireguard_interface": "wg0",
    "wireguard_state": "present",
    "wireguard_behind_nat": False,
    "wireguard_hub": False,
    "wireguard_exit_node": False,
    "wireguard_persistent_keepalive": 25,
    "wireguard_unreachable_pairs": "warn",
    "wireguard_routed_subnets": [],
    "wireguard_peers_include": [],
    "wireguard_peers_exclude": [],
    "wireguard_unmanaged_peers": [],
}

# Variables the planner reads from each host. `wireguard_psk_secret_set` is not an inventory variable:
# the extracting filter sets it to whether `wireguard_psk_secret` is defined, so no secret gets here.
INPUT_VARIABLES = (
    "wireguard_network",
    "wireguard_topology",
    "wireguard_port",
    "wireguard_interface",
    "wireguard_address",
    "wireguard_endpoint",
    "wireguard_behind_nat",
    "wireguard_routed_subnets",
    "wireguard_hub",
    "wireguard_exit_node",
    "wireguard_via_exit_node",
    "wireguard_public_key",
    "wireguard_peers_include",
    "wireguard_peers_exclude",
    "wireguard_state",
    "wireguard_persistent_keepalive",
    "wireguard_unreachable_pairs",
    "wireguard_psk_secret_set",
    "wireguard_unmanaged_peers",
)

TOPOLOGIES = ("mesh", "hub_spoke")
# Unmanaged peers (phones, laptops) are planned like hosts behind NAT; these are their entry's fields.
_UNMANAGED_FIELDS = {
    "wireguard_address": "address",
    "wireguard_peers_include": "connect_to",
    "wireguard_via_exit_node": "via_exit_node",
    "wireguard_persistent_keepalive": "persistent_keepalive",
}
_PEER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_INTERFACE_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")


@dataclass(frozen=True)
class Problem:
    host: str
    variable: str
    message: str

    def __str__(self) -> str:
        return f"host {self.host}: {self.variable}: {self.message}"


class PlanError(ValueError):
    """The inventory cannot be planned. `problems` lists every reason found, not only the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"the WireGuard inventory has {len(self.problems)} problem(s):\n{lines}")


@dataclass
class HostSpec:
    name: str
    interface: str
    port: int
    listen_port: int | None
    endpoint: str | None
    behind_nat: bool
    keepalive: int
    routed: tuple[str, ...]
    hub: bool
    exit_node: bool
    via_exit: str | None
    public_key: str | None
    include: frozenset[str] | None
    exclude: frozenset[str]
    psk: bool
    addresses: list[IPInterface] = field(default_factory=list)
    allocated: bool = False
    unmanaged: bool = False


@dataclass
class Network:
    networks: list[IPNetwork]
    topology: str
    unreachable_pairs: str
    hosts: dict[str, HostSpec]
    absent: list[str]
    warnings: list[str]
    unmanaged: dict[str, str] = field(default_factory=dict)  # unmanaged peer -> host whose vars define it

    @property
    def allocations(self) -> dict[str, list[str]]:
        """Addresses the planner chose (as opposed to explicit ones): what the fleet state records."""
        return {name: [str(a) for a in spec.addresses] for name, spec in self.hosts.items() if spec.allocated}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, host: str, variable: str, message: str) -> None:
        self.problems.append(Problem(host, variable, message))


def attribute_unmanaged(problems: Sequence[Problem], owners: Mapping[str, str]) -> list[Problem]:
    """Problems found on an unmanaged peer's stand-in values name the inventory variable it came from."""
    result = []
    for problem in problems:
        if problem.host in owners:
            field = _UNMANAGED_FIELDS.get(problem.variable, problem.variable)
            problem = Problem(
                owners[problem.host], f"wireguard_unmanaged_peers[{problem.host}].{field}", problem.message
            )
        result.append(problem)
    return result


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _bool(check: _Checker, host: str, variable: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    check.add(host, variable, f"{value!r} is not a boolean; use true or false")
    return False


def _int(check: _Checker, host: str, variable: str, value: Any, low: int, high: int) -> int | None:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        check.add(host, variable, f"{value!r} is not a whole number from {low} to {high}")
        return None
    return number


def _cidr_hint(item: Any) -> str:
    """'; did you mean 10.0.0.0/24?' for a CIDR with host bits set, else nothing."""
    try:
        return f"; did you mean {ipaddress.ip_network(str(item), strict=False)}?"
    except ValueError:
        return ""


def _parse_networks(check: _Checker, host: str, value: Any) -> list[IPNetwork] | None:
    items = _as_list(value)
    if not items:
        check.add(
            host,
            "wireguard_network",
            "is not set; give the network a CIDR such as 10.99.0.0/24 (and optionally an IPv6 /64)",
        )
        return None
    networks: list[IPNetwork] = []
    for item in items:
        try:
            network = ipaddress.ip_network(str(item), strict=True)
        except ValueError as exc:
            check.add(host, "wireguard_network", f"'{item}' is not a network CIDR ({exc}){_cidr_hint(item)}")
            return None
        if usable_offsets(network)[1] < 2:
            check.add(host, "wireguard_network", f"{network} has room for fewer than two hosts; use a larger prefix")
            return None
        networks.append(network)
    versions = [n.version for n in networks]
    if len(set(versions)) != len(versions):
        check.add(
            host,
            "wireguard_network",
            "lists two networks of the same IP version; give at most one IPv4 and one IPv6 prefix",
        )
        return None
    return sorted(networks, key=lambda n: n.version)


def _parse_addresses(check: _Checker, host: str, value: Any, networks: list[IPNetwork]) -> list[IPInterface] | None:
    result: list[IPInterface] = []
    for item in _as_list(value):
        try:
            interface = ipaddress.ip_interface(str(item))
        except ValueError:
            check.add(host, "wireguard_address", f"'{item}' is not an IP address")
            return None
        matches = [n for n in networks if n.version == interface.version]
        if not matches:
            check.add(
                host,
                "wireguard_address",
                f"{item} is IPv{interface.version} but wireguard_network has no IPv{interface.version} prefix",
            )
            return None
        network = matches[0]
        if interface.ip not in network:
            check.add(
                host,
                "wireguard_address",
                f"{interface.ip} is outside wireguard_network {network}; pick an address inside it",
            )
            return None
        if "/" in str(item) and interface.network.prefixlen != network.prefixlen:
            check.add(
                host,
                "wireguard_address",
                f"{item} has prefix /{interface.network.prefixlen} but wireguard_network {network} is /{network.prefixlen}; drop the prefix or make it match",
            )
            return None
        low, high = usable_offsets(network)
        offset = int(interface.ip) - int(network.network_address)
        if not low <= offset <= high:
            check.add(
                host,
                "wireguard_address",
                f"{interface.ip} is the network or broadcast address of {network}; pick a host address",
            )
            return None
        result.append(ipaddress.ip_interface(f"{interface.ip}/{network.prefixlen}"))
    if len({a.version for a in result}) != len(result):
        check.add(host, "wireguard_address", "lists two addresses of the same IP version; give one per network")
        return None
    if len(result) == 1 and len(networks) == 2:
        # Dual stack with one address given: the other family gets the same host offset (10.0.0.7 -> fd00::7).
        given = result[0]
        source = next(n for n in networks if n.version == given.version)
        other = next(n for n in networks if n.version != given.version)
        offset = int(given.ip) - int(source.network_address)
        if offset > usable_offsets(other)[1]:
            check.add(
                host,
                "wireguard_address",
                f"{given.ip} has no counterpart in {other}; give the IPv{other.version} address too",
            )
            return None
        result.append(ipaddress.ip_interface(f"{other.network_address + offset}/{other.prefixlen}"))
    return sorted(result, key=lambda a: a.version)


def _parse_subnets(check: _Checker, host: str, value: Any) -> tuple[str, ...]:
    subnets: list[str] = []
    for item in _as_list(value):
        try:
            network = ipaddress.ip_network(str(item), strict=True)
        except ValueError as exc:
            check.add(host, "wireguard_routed_subnets", f"'{item}' is not a network CIDR ({exc}){_cidr_hint(item)}")
            continue
        if network.prefixlen == 0:
            check.add(
                host,
                "wireguard_routed_subnets",
                f"{network} is a default route; make the host an exit node (wireguard_exit_node: true) instead",
            )
            continue
        subnets.append(str(network))
    return tuple(subnets)


def _names(
    check: _Checker, host: str, variable: str, value: Any, hosts: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> frozenset[str]:
    names: set[str] = set()
    for item in _as_list(value):
        if item in hosts:
            names.add(item)
        elif item in groups:
            names.update(groups[item])
        else:
            check.add(host, variable, f"'{item}' is neither a host of the WireGuard group nor an inventory group")
    return frozenset(names)


def _network_wide(check: _Checker, raw_hosts: Mapping[str, Mapping[str, Any]], variable: str) -> tuple[str, Any]:
    """The value a network-wide variable has on every host; a problem if hosts disagree."""
    seen: dict[str, str] = {}
    first_host, first_value = "", DEFAULTS.get(variable)
    for name, values in raw_hosts.items():
        value = values.get(variable, DEFAULTS.get(variable))
        key = repr(sorted(str(item) for item in _as_list(value)))
        if not seen:
            first_host, first_value = name, value
        seen.setdefault(key, name)
    if len(seen) > 1:
        other = next(h for h in seen.values() if h != first_host)
        check.add(
            other,
            variable,
            f"differs from host {first_host} ({raw_hosts[other].get(variable)!r} vs {first_value!r}); it is network-wide, set it once in the group vars",
        )
    return first_host, first_value


def load_network(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> Network:
    """Normalise and validate the inventory, allocate addresses; raise PlanError listing every problem."""
    check = _Checker()
    raw_hosts: Mapping[str, Mapping[str, Any]] = inventory.get("hosts") or {}
    groups: Mapping[str, Sequence[str]] = inventory.get("groups") or {}
    recorded: Mapping[str, Mapping[str, Any]] = (state or {}).get("hosts") or {}
    warnings: list[str] = []

    if not raw_hosts:
        raise PlanError(
            [Problem("(none)", "wireguard group", "has no hosts; add hosts to the group the wireguard role plans")]
        )

    present: dict[str, Mapping[str, Any]] = {}
    absent: list[str] = []
    for name, values in raw_hosts.items():
        state_value = values.get("wireguard_state", DEFAULTS["wireguard_state"])
        if state_value == "absent":
            absent.append(name)
        elif state_value == "present":
            present[name] = values
        else:
            check.add(name, "wireguard_state", f"{state_value!r} is not one of present, absent")

    net_host, net_value = _network_wide(check, raw_hosts, "wireguard_network")
    networks = _parse_networks(check, net_host, net_value) or []
    topo_host, topology = _network_wide(check, raw_hosts, "wireguard_topology")
    if topology not in TOPOLOGIES:
        check.add(topo_host, "wireguard_topology", f"{topology!r} is not one of {', '.join(TOPOLOGIES)}")
    pairs_host, unreachable = _network_wide(check, raw_hosts, "wireguard_unreachable_pairs")
    if unreachable not in ("warn", "fail"):
        check.add(pairs_host, "wireguard_unreachable_pairs", f"{unreachable!r} is not one of warn, fail")

    specs: dict[str, HostSpec] = {}
    explicit: dict[str, list[IPInterface]] = {}
    for name, values in present.items():
        spec = _host_spec(check, name, values, raw_hosts, groups, recorded.get(name) or {})
        if spec is None:
            continue
        addresses = _parse_addresses(check, name, values.get("wireguard_address"), networks) if networks else None
        if addresses:
            explicit[name] = addresses
        specs[name] = spec

    unmanaged = _unmanaged_peers(check, raw_hosts)
    for name, values in unmanaged.items():
        spec = _host_spec(check, name, values, raw_hosts, groups, recorded.get(name) or {})
        addresses = _parse_addresses(check, name, values.get("wireguard_address"), networks) if networks else None
        spec.unmanaged = True
        if addresses:
            explicit[name] = addresses
        specs[name] = spec

    _check_cross_host(check, specs, topology, raw_hosts)
    if networks:
        _assign_addresses(check, specs, explicit, recorded, networks)
    owners = {name: values["__defined_on"] for name, values in unmanaged.items()}
    if check.problems:
        raise PlanError(attribute_unmanaged(check.problems, owners))
    return Network(networks, topology, unreachable, specs, sorted(absent), warnings, owners)


def _unmanaged_peers(check: _Checker, raw_hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stand-in host values for each present entry of the network-wide `wireguard_unmanaged_peers`."""
    host, entries = _network_wide(check, raw_hosts, "wireguard_unmanaged_peers")
    result: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(_as_list(entries)):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        where = f"wireguard_unmanaged_peers[{name if name else index}]"
        if not isinstance(name, str) or not _PEER_NAME.match(name):
            check.add(host, where, "needs a name of letters, digits, '.', '_' or '-' (it names the client's .conf)")
            continue
        if name in raw_hosts or name in result:
            check.add(host, where, f"the name {name} is already used by a host or another unmanaged peer")
            continue
        unknown = sorted(
            set(entry)
            - {"name", "connect_to", "address", "via_exit_node", "persistent_keepalive", "allowed_ips", "dns", "state"}
        )
        if unknown:
            check.add(host, where, f"unknown key(s) {', '.join(unknown)}")
        if entry.get("state", "present") == "absent":
            continue
        if not _as_list(entry.get("connect_to")):
            check.add(host, f"{where}.connect_to", "is required: name the host(s) or group(s) this client connects to")
            continue
        result[name] = {
            "__defined_on": host,
            "wireguard_address": entry.get("address"),
            "wireguard_behind_nat": True,
            "wireguard_peers_include": entry.get("connect_to"),
            "wireguard_via_exit_node": entry.get("via_exit_node"),
            "wireguard_persistent_keepalive": entry.get(
                "persistent_keepalive", DEFAULTS["wireguard_persistent_keepalive"]
            ),
        }
    return result


def _host_spec(
    check: _Checker,
    name: str,
    values: Mapping[str, Any],
    known: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    recorded: Mapping[str, Any],
) -> HostSpec | None:
    def get(variable: str) -> Any:
        value = values.get(variable)
        return DEFAULTS.get(variable) if value is None else value

    interface = str(get("wireguard_interface"))
    if not _INTERFACE_NAME.match(interface):
        check.add(
            name,
            "wireguard_interface",
            f"'{interface}' must be 1-15 characters of letters, digits and _=+.- (a Linux interface name)",
        )
    port = _int(check, name, "wireguard_port", get("wireguard_port"), 1, 65535) or DEFAULTS["wireguard_port"]
    keepalive = (
        _int(check, name, "wireguard_persistent_keepalive", get("wireguard_persistent_keepalive"), 0, 65535) or 0
    )
    behind_nat = _bool(check, name, "wireguard_behind_nat", get("wireguard_behind_nat"))
    hub = _bool(check, name, "wireguard_hub", get("wireguard_hub"))
    exit_node = _bool(check, name, "wireguard_exit_node", get("wireguard_exit_node"))
    psk = bool(values.get("wireguard_psk_secret_set"))

    endpoint = None
    if values.get("wireguard_endpoint"):
        try:
            endpoint = parse_endpoint(values["wireguard_endpoint"], port)
        except EndpointError as exc:
            check.add(name, "wireguard_endpoint", str(exc))
    # A roaming host behind NAT with no endpoint needs no fixed port: the kernel picks one.
    listen_port = None if behind_nat and endpoint is None else port

    public_key = values.get("wireguard_public_key") or None
    if public_key is not None:
        try:
            decode_key(public_key)
        except InvalidKeyError as exc:
            check.add(name, "wireguard_public_key", f"{exc}; it is what `wg pubkey` prints")
            public_key = None
    elif recorded.get("public_key"):
        public_key = recorded["public_key"]
        try:
            decode_key(public_key)
        except InvalidKeyError as exc:
            check.add(
                name,
                "wireguard_public_key",
                f"the key recorded in the fleet state {exc}; delete it there and converge the host to record it again",
            )
            public_key = None

    via = values.get("wireguard_via_exit_node") or None
    # Names may point at absent hosts too (harmless: those are peers of nobody).
    include = _names(check, name, "wireguard_peers_include", values.get("wireguard_peers_include"), known, groups)
    exclude = _names(check, name, "wireguard_peers_exclude", values.get("wireguard_peers_exclude"), known, groups)
    return HostSpec(
        name=name,
        interface=interface,
        port=port,
        listen_port=listen_port,
        endpoint=endpoint,
        behind_nat=behind_nat,
        keepalive=keepalive,
        routed=_parse_subnets(check, name, values.get("wireguard_routed_subnets")),
        hub=hub,
        exit_node=exit_node,
        via_exit=via,
        public_key=public_key,
        include=(include - {name}) if values.get("wireguard_peers_include") else None,
        exclude=exclude,
        psk=psk,
    )


def _check_cross_host(
    check: _Checker, specs: Mapping[str, HostSpec], topology: str, raw_hosts: Mapping[str, Any]
) -> None:
    hubs = [s.name for s in specs.values() if s.hub]
    if topology == "hub_spoke" and specs and not hubs:
        first = sorted(specs)[0]
        check.add(
            first, "wireguard_topology", "is hub_spoke but no host sets wireguard_hub: true; mark the hub host(s)"
        )
    if topology == "mesh":
        for name in hubs:
            check.add(
                name,
                "wireguard_hub",
                "is true but wireguard_topology is mesh; set wireguard_topology: hub_spoke or drop wireguard_hub",
            )

    owners: dict[str, str] = {}
    for name, spec in specs.items():
        if spec.public_key is not None:
            other = owners.setdefault(spec.public_key, name)
            if other != name:
                check.add(
                    name,
                    "wireguard_public_key",
                    f"is the same key as host {other}'s; every host needs its own key pair",
                )

    subnet_owner: dict[str, str] = {}
    for name in sorted(specs):
        for subnet in specs[name].routed:
            other = subnet_owner.setdefault(subnet, name)
            if other != name:
                check.add(
                    name,
                    "wireguard_routed_subnets",
                    f"{subnet} is routed by host {other} too; a prefix can live behind one host only",
                )

    for name in sorted(specs):
        spec = specs[name]
        if spec.via_exit is None:
            continue
        target = specs.get(spec.via_exit)
        if spec.via_exit == name:
            check.add(
                name,
                "wireguard_via_exit_node",
                "names the host itself; name another host that has wireguard_exit_node: true",
            )
        elif target is None:
            known = "is absent" if spec.via_exit in raw_hosts else "is not in the WireGuard group"
            check.add(
                name,
                "wireguard_via_exit_node",
                f"'{spec.via_exit}' {known}; name a present host that has wireguard_exit_node: true",
            )
        elif not target.exit_node:
            check.add(
                name,
                "wireguard_via_exit_node",
                f"'{spec.via_exit}' is not an exit node; set wireguard_exit_node: true on it or pick another host",
            )
        elif spec.exit_node:
            check.add(
                name,
                "wireguard_via_exit_node",
                "is set on an exit node; an exit node sends its own traffic out directly",
            )


def _check_subnets_against_network(
    check: _Checker, specs: Mapping[str, HostSpec], networks: Sequence[IPNetwork]
) -> None:
    parsed = [(name, ipaddress.ip_network(s)) for name in sorted(specs) for s in specs[name].routed]
    for name, subnet in parsed:
        for network in networks:
            if subnet.version == network.version and subnet.overlaps(network):
                check.add(
                    name,
                    "wireguard_routed_subnets",
                    f"{subnet} overlaps wireguard_network {network}; a routed LAN must lie outside the tunnel network",
                )


def _assign_addresses(
    check: _Checker,
    specs: Mapping[str, HostSpec],
    explicit: Mapping[str, list[IPInterface]],
    recorded: Mapping[str, Mapping[str, Any]],
    networks: list[IPNetwork],
) -> None:
    _check_subnets_against_network(check, specs, networks)
    allocator = Allocator(networks)
    owner: dict[IPInterface, str] = {}
    for name in sorted(explicit):
        for address in explicit[name]:
            other = owner.setdefault(address, name)
            if other != name:
                check.add(
                    name, "wireguard_address", f"{address.ip} is also host {other}'s address; give each host its own"
                )
            allocator.take(address)
        specs[name].addresses = list(explicit[name])

    pending: list[str] = []
    for name in sorted(specs):
        if name in explicit:
            continue
        kept = _recorded_addresses(recorded.get(name, {}).get("addresses"), networks)
        clash = [a for a in kept if a in owner]
        if kept and not clash:
            for address in kept:
                owner[address] = name
                allocator.take(address)
            specs[name].addresses = kept
            specs[name].allocated = True
        elif clash:
            other = owner[clash[0]]
            if other in explicit:
                message = (
                    f"the fleet state gives this host {clash[0].ip}, which host {other} now sets explicitly; "
                    f"choose another address for {other} or set this host's wireguard_address"
                )
            else:
                message = (
                    f"the fleet state gives {clash[0].ip} to both this host and host {other} (a bad merge of the "
                    "state file?); delete one of the two entries there and run again"
                )
            check.add(name, "wireguard_address", message)
        else:
            pending.append(name)
    for name in pending:
        addresses = allocator.allocate()
        if addresses is None:
            check.add(
                name,
                "wireguard_network",
                f"{', '.join(map(str, networks))} has no free address left for this host; use a larger network",
            )
            continue
        specs[name].addresses = addresses
        specs[name].allocated = True


def _recorded_addresses(value: Any, networks: Sequence[IPNetwork]) -> list[IPInterface]:
    """Addresses from the fleet state, kept only if they still fit the current network(s) exactly."""
    kept: list[IPInterface] = []
    for item in _as_list(value):
        try:
            interface = ipaddress.ip_interface(str(item))
        except ValueError:
            return []
        if interface.network not in networks:
            return []
        kept.append(interface)
    if sorted(a.version for a in kept) != [n.version for n in networks]:
        return []
    return sorted(kept, key=lambda a: a.version)
