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

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError, Problem
from ansible_collections.wgops.fleet.plugins.module_utils._values import is_dns_name
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.addressing import (
    HOSTNAME,
    Allocator,
    EndpointError,
    IPInterface,
    IPNetwork,
    parse_endpoint,
    usable_offsets,
)
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.keys import (
    PSK_SECRET_MIN_LENGTH,
    InvalidKeyError,
    decode_key,
)

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
    "wireguard_unknown_variables": "fail",
    "wireguard_routed_subnets": [],
    "wireguard_peers_include": [],
    "wireguard_peers_exclude": [],
    "wireguard_unmanaged_peers": [],
}

# Every `wireguard_*` variable a host may carry: the options of roles/wireguard/meta/argument_specs.yml
# (a unit test keeps them equal) plus the extra variables of playbooks/plan.yml. Others are reported.
KNOWN_VARIABLES = (
    "wireguard_group",
    "wireguard_state_dir",
    "wireguard_renumber",
    "wireguard_network",
    "wireguard_topology",
    "wireguard_port",
    "wireguard_interface",
    "wireguard_address",
    "wireguard_endpoint",
    "wireguard_endpoints",
    "wireguard_behind_nat",
    "wireguard_persistent_keepalive",
    "wireguard_routed_subnets",
    "wireguard_hub",
    "wireguard_exit_node",
    "wireguard_via_exit_node",
    "wireguard_public_key",
    "wireguard_private_key",
    "wireguard_psk_secret",
    "wireguard_peers_include",
    "wireguard_peers_exclude",
    "wireguard_state",
    "wireguard_unreachable_pairs",
    "wireguard_unknown_variables",
    "wireguard_userspace",
    "wireguard_mtu",
    "wireguard_dns",
    "wireguard_table",
    "wireguard_fwmark",
    "wireguard_pre_up",
    "wireguard_post_up",
    "wireguard_pre_down",
    "wireguard_post_down",
    "wireguard_unmanaged_peers",
    "wireguard_clients_dir",
    "wireguard_manage_forwarding",
    "wireguard_domain",
)
PLAYBOOK_VARIABLES = ("wireguard_plan_file", "wireguard_plan_diagram", "wireguard_plan_record", "wireguard_plan_table")
# Added to each host by the extractor (_wireguard/extract.py), never read from the inventory: whether
# `wireguard_psk_secret` is set and its length, the public key derived from `wireguard_private_key` or why
# it is malformed, and the names of the host's `wireguard_*` variables. No secret gets here.
DERIVED_VARIABLES = (
    "wireguard_psk_secret_set",
    "wireguard_psk_secret_length",
    "wireguard_psk_secret_invalid",
    "wireguard_private_key_public",
    "wireguard_private_key_invalid",
    "wireguard_variables",
)
# What the planner reads from each host: every known variable but the secrets and the controller paths
# (role settings such as wireguard_mtu included, so they are refused before any host is touched).
INPUT_VARIABLES = (
    tuple(
        name
        for name in KNOWN_VARIABLES
        if name
        not in (
            "wireguard_group",
            "wireguard_state_dir",
            "wireguard_clients_dir",
            "wireguard_private_key",
            "wireguard_psk_secret",
        )
    )
    + DERIVED_VARIABLES
)

TOPOLOGIES = ("mesh", "hub_spoke")
# Unmanaged peers (phones, laptops) are planned like hosts behind NAT; these are their entry's fields.
_UNMANAGED_FIELDS = {
    "wireguard_address": "address",
    "wireguard_peers_include": "connect_to",
    "wireguard_via_exit_node": "via_exit_node",
    "wireguard_persistent_keepalive": "persistent_keepalive",
    "wireguard_public_key": "public_key",
}
_PEER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
# wg-quick's own rule; the kernel also refuses '.' and '..'.
_INTERFACE_NAME = re.compile(r"(?!\.{1,2}\Z)[a-zA-Z0-9_=+.-]{1,15}")
# Newlines and other control characters would start a new wg-quick directive or shell line.
_ONE_LINE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*")
_DIGITS = re.compile(r"[0-9]{1,10}")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_FWMARK = re.compile(r"0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10}")


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
    # wireguard_endpoints: (underlay network, endpoint there or None, priority). Empty: the host is on the one
    # implicit network DEFAULT_UNDERLAY, at `endpoint` (wireguard_endpoint) or without one.
    endpoints: tuple[tuple[str, str | None, int], ...] = ()

    def underlays(self) -> dict[str, tuple[str | None, int]]:
        """The networks this host is on: name -> (the endpoint peers dial there or None, priority)."""
        if not self.endpoints:
            return {DEFAULT_UNDERLAY: (self.endpoint, 0)}
        return {network: (endpoint, priority) for network, endpoint, priority in self.endpoints}


# The underlay network of hosts that name none (wireguard_endpoint, unmanaged peers).
DEFAULT_UNDERLAY = "default"
_UNDERLAY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ENDPOINT_FIELDS = ("network", "endpoint", "priority")


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
        self.refused: set[tuple[str, str]] = set()  # (host, variable) whose value was refused by type

    def add(self, host: str, variable: str, message: str) -> None:
        self.problems.append(Problem(host, variable, message))


# -- types ------------------------------------------------------------------------------------------------
# What each variable must be, in YAML terms: (accepted shapes, what the message says is expected).
_STR, _INT, _BOOL, _STR_OR_INT, _LIST, _STR_OR_LIST, _DICT_LIST = (
    "str",
    "int",
    "bool",
    "str_or_int",
    "list",
    "str_or_list",
    "dict_list",
)
_EXPECTED = {
    _STR: "a string",
    _INT: "an integer",
    _BOOL: "a boolean (true or false)",
    _STR_OR_INT: "a string or an integer",
    _LIST: "a list of strings",
    _STR_OR_LIST: "a string or a list of strings",
    _DICT_LIST: "a list of mappings",
}
VARIABLE_TYPES: dict[str, tuple[str, str]] = {
    "wireguard_network": (_STR_OR_LIST, "a CIDR or a list of one IPv4 and one IPv6 CIDR"),
    "wireguard_topology": (_STR, "mesh or hub_spoke"),
    "wireguard_port": (_INT, "a UDP port"),
    "wireguard_interface": (_STR, "an interface name"),
    "wireguard_address": (_STR_OR_LIST, "an address or a list of one per IP version"),
    "wireguard_endpoint": (_STR, "host, host:port or [v6]:port"),
    "wireguard_behind_nat": (_BOOL, ""),
    "wireguard_routed_subnets": (_LIST, "CIDRs"),
    "wireguard_hub": (_BOOL, ""),
    "wireguard_exit_node": (_BOOL, ""),
    "wireguard_via_exit_node": (_STR, "one host name"),
    "wireguard_public_key": (_STR, "what `wg pubkey` prints"),
    "wireguard_peers_include": (_LIST, "host or group names"),
    "wireguard_peers_exclude": (_LIST, "host or group names"),
    "wireguard_state": (_STR, "present or absent"),
    "wireguard_persistent_keepalive": (_INT, "seconds"),
    "wireguard_unreachable_pairs": (_STR, "warn or fail"),
    "wireguard_unknown_variables": (_STR, "fail or warn"),
    "wireguard_unmanaged_peers": (_DICT_LIST, "one '- name: ...' entry per client"),
    "wireguard_endpoints": (_DICT_LIST, "one '- network: NAME' entry (endpoint, priority) per underlay network"),
    "wireguard_userspace": (_STR, "auto, always or never"),
    "wireguard_manage_forwarding": (_BOOL, ""),
    "wireguard_mtu": (_INT, "bytes"),
    "wireguard_domain": (_STR, "a DNS domain such as wg, or '' for no peer names"),
    "wireguard_dns": (_LIST, "IP addresses or search domains"),
    "wireguard_table": (_STR_OR_INT, "off, auto, or a routing table number or name"),
    "wireguard_fwmark": (_STR_OR_INT, "off, or a number such as 0xca6c"),
    "wireguard_pre_up": (_LIST, "shell commands"),
    "wireguard_post_up": (_LIST, "shell commands"),
    "wireguard_pre_down": (_LIST, "shell commands"),
    "wireguard_post_down": (_LIST, "shell commands"),
}
_UNMANAGED_TYPES: dict[str, tuple[str, str]] = {
    "name": (_STR, "the client's name"),
    "connect_to": (_LIST, "host or group names"),
    "address": (_STR_OR_LIST, "an address or a list of one per IP version"),
    "via_exit_node": (_STR, "one host name"),
    "persistent_keepalive": (_INT, "seconds"),
    "allowed_ips": (_LIST, "CIDRs"),
    "dns": (_LIST, "IP addresses or search domains"),
    "state": (_STR, "present or absent"),
    "public_key": (_STR, "the public key the client's WireGuard app made"),
}
# Derived by the extractor: (type, value used when missing or malformed). Never reported.
_DERIVED_TYPES: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "wireguard_psk_secret_set": (bool, False),
    "wireguard_psk_secret_length": (int, 0),
    "wireguard_psk_secret_invalid": (str, None),
    "wireguard_private_key_public": (str, None),
    "wireguard_private_key_invalid": (str, None),
    "wireguard_variables": (list, []),
}


def type_name(value: Any) -> str:
    """The YAML name of a value's type, with an article: 'a list', 'an integer', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_problem(kind: str, value: Any) -> str | None:
    """Why `value` is not of `kind`, or None when it is."""
    is_str = isinstance(value, str)
    if kind == _STR and is_str:
        return None
    if kind in (_INT, _STR_OR_INT) and (is_str or (isinstance(value, int) and not isinstance(value, bool))):
        return None  # a string is judged (digits, range) by the variable's own check
    if kind == _BOOL and (is_str or isinstance(value, bool)):
        return None
    if kind in (_LIST, _STR_OR_LIST, _DICT_LIST) and isinstance(value, (list, tuple)):
        wanted: Any = Mapping if kind == _DICT_LIST else str
        for index, item in enumerate(value):
            if not isinstance(item, wanted):
                return f"item {index} is {type_name(item)} ({_shown(item)})"
        return None
    if kind == _STR_OR_LIST and is_str:
        return None
    got = f"got {type_name(value)} ({_shown(value)})"
    if kind == _LIST and is_str:
        return f"{got}; a YAML list needs one '- item' per line (or [a, b])"
    if kind == _DICT_LIST and isinstance(value, Mapping):
        return f"{got}; a YAML list of entries needs a '- ' before each entry's first key"
    return got


def _one_line(value: Any) -> bool:
    """No string in `value` holds a newline or another control character."""
    if isinstance(value, str):
        return _ONE_LINE.fullmatch(value) is not None
    if isinstance(value, Mapping):
        return all(_one_line(key) and _one_line(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(_one_line(item) for item in value)
    return True


def _check_type(check: _Checker, host: str, variable: str, value: Any, spec: tuple[str, str]) -> bool:
    """Report a value of the wrong type or with control characters; True when it may be used."""
    kind, what = spec
    problem = _type_problem(kind, value)
    if problem is not None:
        expected = _EXPECTED[kind] + (f" ({what})" if what else "")
        check.add(host, variable, f"expected {expected}, {problem}")
        return False
    if kind != _DICT_LIST and not _one_line(value):  # entries' fields are checked one by one
        check.add(
            host,
            variable,
            "contains a newline or another control character; it would end up as a separate line of the "
            "wg-quick configuration or a shell command: keep it on one line",
        )
        return False
    return True


def _typed(check: _Checker, host: str, values: Any) -> dict[str, Any]:
    """The host's values with every wrongly typed one reported and left out (so nothing crashes later)."""
    if not isinstance(values, Mapping):
        check.add(host, "(host variables)", f"expected a mapping of variables, got {type_name(values)}")
        return {}
    result: dict[str, Any] = {}
    for variable, value in values.items():
        spec = VARIABLE_TYPES.get(variable)
        derived = _DERIVED_TYPES.get(variable)
        if derived is not None:
            result[variable] = value if isinstance(value, derived[0]) else derived[1]
        elif value is None or spec is None or _check_type(check, host, variable, value, spec):
            result[variable] = value
        else:
            check.refused.add((host, variable))
    return result


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


def _int(check: _Checker, host: str, variable: str, value: Any, low: int, high: int, hint: str = "") -> int | None:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or not low <= number <= high:
        check.add(host, variable, f"{_shown(value)} is not a whole number from {low} to {high}{hint}")
        return None
    return number


def _unscoped(item: Any) -> str:
    """The text of an address or network; a %scope (fe80::1%eth0) is refused, it has no meaning in a tunnel."""
    text = str(item)
    if "%" in text:
        raise ValueError("an IPv6 %scope has no place here")
    return text


def _ip_network(item: Any, strict: bool = True) -> IPNetwork:
    return ipaddress.ip_network(_unscoped(item), strict=strict)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("yes", "true"))


def _dns_problem(item: str) -> str | None:
    try:
        ipaddress.ip_address(_unscoped(item))
        return None
    except ValueError:
        pass
    if HOSTNAME.fullmatch(item) and not re.fullmatch(r"[0-9.]+", item):
        return None
    return f"'{item}' is neither an IP address nor a search domain"


def _table_ok(value: Any) -> bool:
    if isinstance(value, int):
        return 0 <= value <= 0xFFFFFFFF
    if value in ("off", "auto") or _TABLE_NAME.fullmatch(value):
        return True
    return _DIGITS.fullmatch(value) is not None and int(value) <= 0xFFFFFFFF


def _fwmark_ok(value: Any) -> bool:
    if isinstance(value, int):
        return 0 <= value <= 0xFFFFFFFF
    if value == "off":
        return True
    if not _FWMARK.fullmatch(value):
        return False
    return int(value, 16 if value[:2].lower() == "0x" else 10) <= 0xFFFFFFFF


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
            network = _ip_network(item)
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
            interface = ipaddress.ip_interface(_unscoped(item))
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
            network = _ip_network(item)
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
        if (name, variable) in check.refused:
            continue
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


_KNOWN = frozenset(KNOWN_VARIABLES + PLAYBOOK_VARIABLES)


def _unknown_variables(raw_hosts: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """One problem per misspelled or unknown `wireguard_*` variable, with the closest known name."""
    where: dict[str, list[str]] = {}
    for name, values in raw_hosts.items():
        for variable in values.get("wireguard_variables") or ():
            if isinstance(variable, str) and variable.startswith("wireguard_") and variable not in _KNOWN:
                where.setdefault(variable, []).append(name)
    problems = []
    known = sorted(_KNOWN)
    for variable in sorted(where):
        hosts = sorted(where[variable])
        close = difflib.get_close_matches(variable, known, n=1)
        message = "unknown variable; " + (
            f"did you mean {close[0]}?" if close else "no known variable is close (docs/inventory.md lists them)"
        )
        problems.append(Problem(hosts[0], variable, message + _also_on(hosts)))
    return problems


def _also_on(hosts: Sequence[str]) -> str:
    """' (also on 2 other host(s): b, c)' for a problem reported once on hosts[0] for all of them."""
    if len(hosts) < 2:
        return ""
    others = ", ".join(hosts[1:6]) + (", ..." if len(hosts) > 6 else "")
    return f" (also on {len(hosts) - 1} other host(s): {others})"


def _merge_group_wide(problems: Sequence[Problem], variable: str) -> list[Problem]:
    """The same problem with a variable usually set in the group vars, once for all the hosts it is on."""
    hosts: dict[str, list[str]] = {}
    for problem in problems:
        if problem.variable == variable:
            hosts.setdefault(problem.message, []).append(problem.host)
    result = []
    for problem in problems:
        if problem.variable != variable:
            result.append(problem)
        elif hosts[problem.message][0] == problem.host:
            result.append(Problem(problem.host, variable, problem.message + _also_on(hosts[problem.message])))
    return result


def _check_settings(check: _Checker, name: str, values: Mapping[str, Any], networks: Sequence[IPNetwork]) -> None:
    """The role's own settings (interface, wg-quick keys): every value the role would write or run."""
    interface = values.get("wireguard_interface")
    if interface is not None and not _INTERFACE_NAME.fullmatch(interface):
        check.add(
            name,
            "wireguard_interface",
            f"'{interface}' must be 1-15 characters of letters, digits and _=+.-, and not '.' or '..' "
            "(a Linux interface name)",
        )
    mtu = values.get("wireguard_mtu")
    if mtu is not None:
        low = 1280 if any(network.version == 6 for network in networks) else 576
        hint = " (IPv6 needs at least 1280)" if low == 1280 else ""
        _int(check, name, "wireguard_mtu", mtu, low, 65535, f"{hint}; leave it unset to let wg-quick choose")
    table = values.get("wireguard_table")
    if table is not None and not _table_ok(table):
        check.add(
            name,
            "wireguard_table",
            f"{_shown(table)} is not off, auto, a table number (0-4294967295) or a table name "
            "(letters, digits, '_', '.', '-')",
        )
    fwmark = values.get("wireguard_fwmark")
    if fwmark is not None and not _fwmark_ok(fwmark):
        check.add(
            name, "wireguard_fwmark", f"{_shown(fwmark)} is not off or a 32-bit number (decimal, or hex as 0xca6c)"
        )
    for item in values.get("wireguard_dns") or ():
        problem = _dns_problem(item)
        if problem:
            check.add(name, "wireguard_dns", problem)
    userspace = values.get("wireguard_userspace")
    if userspace is not None and userspace not in ("auto", "always", "never"):
        check.add(name, "wireguard_userspace", f"{_shown(userspace)} is not one of auto, always, never")
    if values.get("wireguard_manage_forwarding") is not None:
        _bool(check, name, "wireguard_manage_forwarding", values["wireguard_manage_forwarding"])
    domain = values.get("wireguard_domain")
    if isinstance(domain, str) and domain and not is_dns_name(domain):
        check.add(
            name,
            "wireguard_domain",
            f"{_shown(domain)} is not a DNS domain (labels of letters, digits, '-' and '_' joined by dots, "
            "no trailing dot); peers are named HOST.DOMAIN in /etc/hosts, so use for example wg",
        )


def _parse_endpoints(check: _Checker, name: str, entries: Any, port: int) -> tuple[tuple[str, str | None, int], ...]:
    """wireguard_endpoints: one entry per underlay network the host is on; its endpoint there (where peers on
    that network dial it: an address, or a NAT's public address and remapped port) or none (the host can
    reach that network but not be reached on it), and a priority (a pair uses the shared network with the
    highest sum of both sides' priorities)."""
    if not entries:
        return ()
    variable = "wireguard_endpoints"
    result: list[tuple[str, str | None, int]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"item {index}"
        unknown = sorted(str(key) for key in entry if key not in _ENDPOINT_FIELDS)
        if unknown:
            check.add(
                name,
                variable,
                f"{where} has unknown key(s) {', '.join(unknown)}; the keys are network, endpoint, priority",
            )
        network = entry.get("network")
        if not isinstance(network, str) or not _UNDERLAY_NAME.fullmatch(network):
            check.add(
                name,
                variable,
                f"{where}: network {_shown(network)} is not a name (letters, digits, '.', '_', '-'); name the "
                "underlay network this endpoint is on, for example site-berlin or internet",
            )
            continue
        if network in seen:
            check.add(name, variable, f"{where}: network {network} is listed twice; give one entry per network")
            continue
        seen.add(network)
        endpoint = None
        raw = entry.get("endpoint")
        if raw is not None and raw != "":
            if not isinstance(raw, str):
                check.add(
                    name, variable, f"{where}: endpoint {_shown(raw)} is not a string (host, host:port or [v6]:port)"
                )
            else:
                try:
                    endpoint = parse_endpoint(raw, port)
                except EndpointError as exc:
                    check.add(name, variable, f"{where} ({network}): {exc}")
        priority = _int(
            check, name, variable, entry.get("priority", 0), 0, 1000, f" ({where}, {network}: its priority)"
        )
        result.append((network, endpoint, priority or 0))
    return tuple(result)


def _endpoint_ip(endpoint: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP literal of a normalised endpoint (`ip:port`, `[v6]:port`), None for a host name."""
    if endpoint is None:
        return None
    host = endpoint[1:].partition("]")[0] if endpoint.startswith("[") else endpoint.rpartition(":")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_endpoints(check: _Checker, specs: Mapping[str, HostSpec]) -> None:
    """No two hosts share one endpoint; no endpoint lies inside another host's routed subnet."""
    owner: dict[tuple[str, str], str] = {}
    for name in sorted(specs):
        spec = specs[name]
        variable = "wireguard_endpoints" if spec.endpoints else "wireguard_endpoint"
        for underlay, (endpoint, _priority) in spec.underlays().items():
            if endpoint is None:
                continue
            # One address and port belongs to one host per network: a site's LAN address may recur at another site.
            other = owner.setdefault((underlay, endpoint.lower()), name)
            if other != name:
                where = f" on network {underlay}" if underlay != DEFAULT_UNDERLAY else ""
                check.add(
                    name,
                    variable,
                    f"{endpoint} is host {other}'s endpoint too{where}; two hosts cannot share one address and port: "
                    "give each its own port (wireguard_port and the endpoint's :port) or address",
                )
    # Subnets by (IP version, prefix length): each endpoint is looked up once per length, not per subnet.
    by_length: dict[tuple[int, int], dict[int, tuple[str, str]]] = {}
    for name in sorted(specs):
        for subnet in specs[name].routed:
            network = ipaddress.ip_network(subnet)
            table = by_length.setdefault((network.version, network.prefixlen), {})
            table.setdefault(int(network.network_address), (name, subnet))
    if not by_length:
        return
    every = {(n, a) for n in specs for e, _p in specs[n].underlays().values() if (a := _endpoint_ip(e)) is not None}
    for name, address in sorted(every, key=lambda item: (item[0], item[1].version, int(item[1]))):
        bits = address.max_prefixlen
        for (version, length), table in by_length.items():
            router = (
                table.get(int(address) >> (bits - length) << (bits - length)) if version == address.version else None
            )
            if router is not None and router[0] != name:
                check.add(
                    router[0],
                    "wireguard_routed_subnets",
                    f"{router[1]} contains host {name}'s endpoint {address}; peers would route {name}'s handshakes "
                    f"into the tunnel itself: keep {name}'s endpoint out of the routed subnets (narrow {router[1]} "
                    f"or give {name} another endpoint)",
                )


def load_network(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> Network:
    """Normalise and validate the inventory, allocate addresses; raise PlanError listing every problem."""
    check = _Checker()
    given: Mapping[str, Any] = inventory.get("hosts") or {}
    groups: Mapping[str, Sequence[str]] = inventory.get("groups") or {}
    recorded: Mapping[str, Mapping[str, Any]] = (state or {}).get("hosts") or {}
    warnings: list[str] = []

    if not given:
        raise PlanError(
            [Problem("(none)", "wireguard group", "has no hosts; add hosts to the group the wireguard role plans")]
        )
    # Types first: a wrongly typed value is reported and left out, so every other check can still run.
    raw_hosts: dict[str, dict[str, Any]] = {name: _typed(check, name, values) for name, values in given.items()}

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
    refused_network = any(variable == "wireguard_network" for _host, variable in check.refused)
    networks = [] if net_value is None and refused_network else _parse_networks(check, net_host, net_value) or []
    topo_host, topology = _network_wide(check, raw_hosts, "wireguard_topology")
    if topology not in TOPOLOGIES:
        check.add(topo_host, "wireguard_topology", f"{topology!r} is not one of {', '.join(TOPOLOGIES)}")
    pairs_host, unreachable = _network_wide(check, raw_hosts, "wireguard_unreachable_pairs")
    if unreachable not in ("warn", "fail"):
        check.add(pairs_host, "wireguard_unreachable_pairs", f"{unreachable!r} is not one of warn, fail")
    unknown_host, unknown_mode = _network_wide(check, raw_hosts, "wireguard_unknown_variables")
    if unknown_mode not in ("fail", "warn"):
        check.add(unknown_host, "wireguard_unknown_variables", f"{unknown_mode!r} is not one of fail, warn")
    for problem in _unknown_variables(raw_hosts):
        if unknown_mode == "warn":
            warnings.append(str(problem))
        else:
            check.problems.append(problem)
    # Settings the role uses on absent hosts too (the interface to remove) are checked on every host.
    for name, values in raw_hosts.items():
        _check_settings(check, name, values, networks)

    specs: dict[str, HostSpec] = {}
    explicit: dict[str, list[IPInterface]] = {}
    for name, host_values in present.items():
        spec = _host_spec(check, name, host_values, raw_hosts, groups, recorded.get(name) or {})
        if spec is None:
            continue
        addresses = _parse_addresses(check, name, host_values.get("wireguard_address"), networks) if networks else None
        if addresses:
            explicit[name] = addresses
        specs[name] = spec

    unmanaged = _unmanaged_peers(check, raw_hosts)
    for name, peer in unmanaged.items():
        spec = _host_spec(check, name, peer, raw_hosts, groups, recorded.get(name) or {})
        if spec is None:
            continue
        addresses = _parse_addresses(check, name, peer.get("wireguard_address"), networks) if networks else None
        spec.unmanaged = True
        if addresses:
            explicit[name] = addresses
        specs[name] = spec

    _check_cross_host(check, specs, topology, raw_hosts)
    _check_endpoints(check, specs)
    if networks:
        _assign_addresses(check, specs, explicit, recorded, networks)
    owners = {name: values["__defined_on"] for name, values in unmanaged.items()}
    if check.problems:
        raise PlanError(attribute_unmanaged(_merge_group_wide(check.problems, "wireguard_psk_secret"), owners))
    return Network(networks, topology, unreachable, specs, sorted(absent), warnings, owners)


def _unmanaged_peers(check: _Checker, raw_hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stand-in host values for each present entry of the network-wide `wireguard_unmanaged_peers`."""
    host, entries = _network_wide(check, raw_hosts, "wireguard_unmanaged_peers")
    result: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(_as_list(entries)):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        where = f"wireguard_unmanaged_peers[{name if isinstance(name, str) and name else index}]"
        if not isinstance(name, str) or not _PEER_NAME.fullmatch(name):
            check.add(host, where, "needs a name of letters, digits, '.', '_' or '-' (it names the client's .conf)")
            continue
        if name in raw_hosts or name in result:
            check.add(host, where, f"the name {name} is already used by a host or another unmanaged peer")
            continue
        unknown = sorted(str(key) for key in entry if key not in _UNMANAGED_TYPES)
        if unknown:
            check.add(host, where, f"unknown key(s) {', '.join(unknown)}")
        fields = {
            key: value
            for key, value in entry.items()
            if key in _UNMANAGED_TYPES
            and (value is None or _check_type(check, host, f"{where}.{key}", value, _UNMANAGED_TYPES[key]))
        }
        state = fields.get("state") or "present"
        if state not in ("present", "absent"):
            check.add(host, f"{where}.state", f"{_shown(state)} is not one of present, absent")
            continue
        if state == "absent":
            continue
        for item in fields.get("dns") or ():
            problem = _dns_problem(item)
            if problem:
                check.add(host, f"{where}.dns", problem)
        for item in fields.get("allowed_ips") or ():
            try:
                _ip_network(item, strict=False)
            except ValueError:
                check.add(host, f"{where}.allowed_ips", f"'{item}' is not a network CIDR such as 10.99.0.0/24")
        if not fields.get("connect_to"):
            if "connect_to" in fields or "connect_to" not in entry:
                check.add(
                    host, f"{where}.connect_to", "is required: name the host(s) or group(s) this client connects to"
                )
            continue
        keepalive = fields.get("persistent_keepalive")
        result[name] = {
            "__defined_on": host,
            "wireguard_address": fields.get("address"),
            "wireguard_behind_nat": True,
            "wireguard_peers_include": fields.get("connect_to"),
            "wireguard_via_exit_node": fields.get("via_exit_node"),
            # A key made on the client (its WireGuard app): the controller then never holds its private key.
            "wireguard_public_key": fields.get("public_key"),
            "wireguard_persistent_keepalive": DEFAULTS["wireguard_persistent_keepalive"]
            if keepalive is None
            else keepalive,
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

    interface = str(get("wireguard_interface"))  # checked with the other settings, on every host
    port = _int(check, name, "wireguard_port", get("wireguard_port"), 1, 65535) or DEFAULTS["wireguard_port"]
    keepalive = (
        _int(check, name, "wireguard_persistent_keepalive", get("wireguard_persistent_keepalive"), 0, 65535) or 0
    )
    behind_nat = _bool(check, name, "wireguard_behind_nat", get("wireguard_behind_nat"))
    hub = _bool(check, name, "wireguard_hub", get("wireguard_hub"))
    exit_node = _bool(check, name, "wireguard_exit_node", get("wireguard_exit_node"))
    psk = bool(values.get("wireguard_psk_secret_set"))
    if values.get("wireguard_psk_secret_invalid"):
        check.add(name, "wireguard_psk_secret", f"{values['wireguard_psk_secret_invalid']}")
    elif psk and values.get("wireguard_psk_secret_length", PSK_SECRET_MIN_LENGTH) < PSK_SECRET_MIN_LENGTH:
        check.add(
            name,
            "wireguard_psk_secret",
            f"is {values.get('wireguard_psk_secret_length') or 0} characters long, shorter than the "
            f"{PSK_SECRET_MIN_LENGTH} it needs; make a longer one (openssl rand -base64 32) and vault it",
        )

    endpoint = None
    if values.get("wireguard_endpoint"):
        try:
            endpoint = parse_endpoint(values["wireguard_endpoint"], port)
        except EndpointError as exc:
            check.add(name, "wireguard_endpoint", str(exc))
    endpoints = _parse_endpoints(check, name, values.get("wireguard_endpoints"), port)
    if endpoints and values.get("wireguard_endpoint"):
        check.add(
            name,
            "wireguard_endpoints",
            "is set together with wireguard_endpoint; use one: move the endpoint into an entry of "
            f"wireguard_endpoints (network {DEFAULT_UNDERLAY} is the one of hosts without wireguard_endpoints)",
        )
    # A roaming host behind NAT with no endpoint needs no fixed port: the kernel picks one.
    reachable = endpoint is not None or any(entry[1] is not None for entry in endpoints)
    listen_port = None if behind_nat and not reachable else port

    derived = values.get("wireguard_private_key_public") or None
    if values.get("wireguard_private_key_invalid"):
        check.add(
            name,
            "wireguard_private_key",
            f"{values['wireguard_private_key_invalid']}; it is what `wg genkey` prints (the key is not shown here)",
        )
    public_key = values.get("wireguard_public_key") or None
    if public_key is not None:
        try:
            decode_key(public_key)
        except InvalidKeyError as exc:
            check.add(name, "wireguard_public_key", f"{exc}; it is what `wg pubkey` prints")
            public_key = None
        if public_key is not None and derived is not None and derived != public_key.strip():
            check.add(
                name,
                "wireguard_public_key",
                f"does not belong to wireguard_private_key (whose public key is {derived}); the plan would publish "
                "a key no peer can reach this host with: set both from one key pair, or drop wireguard_public_key",
            )
    elif derived is not None:
        public_key = derived
    elif recorded.get("public_key"):
        public_key = recorded["public_key"]
        try:
            decode_key(public_key)
        except InvalidKeyError as exc:
            source = recorded.get("key_source")  # a key read from the host in this run, not the state file
            fix = (
                f"the key {source} {exc}; a public key is what `wg pubkey` prints: correct what supplies it"
                if source
                else f"the key recorded in the fleet state {exc}; delete it there and converge the host to record it again"
            )
            check.add(name, "wireguard_public_key", fix)
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
        endpoints=endpoints,
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
    absent_hubs = sorted(
        name
        for name, values in raw_hosts.items()
        if values.get("wireguard_state") == "absent" and _truthy(values.get("wireguard_hub"))
    )
    if topology == "hub_spoke" and specs and not hubs and absent_hubs:
        check.add(
            absent_hubs[0],
            "wireguard_state",
            f"every hub is absent: {', '.join(absent_hubs)}; spokes peer only with hubs, so every spoke would "
            "reach nobody: make another host the hub (wireguard_hub: true) before decommissioning this one",
        )
    elif topology == "hub_spoke" and specs and not hubs and not any(v == "wireguard_hub" for _host, v in check.refused):
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
