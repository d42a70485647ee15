"""An independent model of the planner's rules (DESIGN.md), used by the plan tests as the oracle.

Nothing here imports the planner: peering, longest-prefix routing and addressing are recomputed from
the inventory with `ipaddress`, so the tests compare the planner against the rules, not against itself.
"""

import ipaddress

DEFAULTS = {"wireguard_port": 51820, "wireguard_persistent_keepalive": 25, "wireguard_topology": "mesh"}


def as_list(value):
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def net(text):
    return ipaddress.ip_network(text, strict=False)


def host_prefix(interface_text):
    """The /32 or /128 of a tunnel address such as '10.0.0.7/24'."""
    return ipaddress.ip_network(ipaddress.ip_interface(interface_text).ip)


def route_table(host_plan):
    """[(network, peer name)] for every AllowedIPs entry of a host plan."""
    return [(net(prefix), peer.name) for peer in host_plan.peers for prefix in peer.allowed_ips]


def lpm(table, target):
    """The peer WireGuard's cryptokey routing picks for `target` (an address or network): the longest
    prefix that contains all of it. None when no prefix does."""
    target = net(str(target))
    best = None
    for prefix, peer in table:
        if (
            prefix.version == target.version
            and target.subnet_of(prefix)
            and (best is None or prefix.prefixlen > best[0].prefixlen)
        ):
            best = (prefix, peer)
    return None if best is None else best[1]


def is_present(values):
    return values.get("wireguard_state", "present") == "present"


def expand(names, hosts, groups):
    result = set()
    for item in as_list(names):
        if item in hosts:
            result.add(item)
        else:
            result.update(groups.get(item, ()))
    return result


def model_links(inventory, require_endpoint=True):
    """{host: set of peers} by the rules: topology candidates, include/exclude on both sides, and at least
    one side of each pair has an endpoint (unless require_endpoint is false)."""
    hosts = {n: v for n, v in inventory["hosts"].items() if is_present(v)}
    groups = inventory.get("groups") or {}
    topology = next(iter(hosts.values())).get("wireguard_topology", "mesh")
    hubs = {n for n, v in hosts.items() if v.get("wireguard_hub")} if topology == "hub_spoke" else set()
    include = {}
    exclude = {}
    for name, values in hosts.items():
        include[name] = (
            expand(values.get("wireguard_peers_include"), hosts, groups)
            if values.get("wireguard_peers_include")
            else None
        )
        exclude[name] = expand(values.get("wireguard_peers_exclude"), hosts, groups)

    def allowed(host, peer):
        return (include[host] is None or peer in include[host]) and peer not in exclude[host]

    def candidate(a, b):
        return a != b and (topology == "mesh" or a in hubs or b in hubs)

    def has_endpoint(name):
        return bool(hosts[name].get("wireguard_endpoint"))

    def allowed_back(host, peer):
        """The other side's lists must allow the pair too."""
        return allowed(host=peer, peer=host)

    return {
        a: {
            b
            for b in hosts
            if candidate(a, b)
            and allowed(a, b)
            and allowed_back(a, b)
            and (not require_endpoint or has_endpoint(a) or has_endpoint(b))
        }
        for a in hosts
    }
