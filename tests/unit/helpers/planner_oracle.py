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
    one side of each pair has an endpoint (unless require_endpoint is false). Unmanaged peers included."""
    hosts = model_hosts(inventory)
    groups = inventory.get("groups") or {}
    topology = topology_of(inventory)
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


# -- the fleet as the rules see it, unmanaged peers (clients) included ------------------------------------------


def model_hosts(inventory):
    """{name: values} of present hosts plus unmanaged peers as stand-ins (behind NAT, peering with connect_to)."""
    raw = inventory["hosts"]
    hosts = {n: dict(v) for n, v in raw.items() if is_present(v)}
    first = next(iter(raw.values()), {})
    for entry in as_list(first.get("wireguard_unmanaged_peers")):
        if entry.get("state", "present") != "present":
            continue
        hosts[entry["name"]] = {
            "wireguard_topology": first.get("wireguard_topology", "mesh"),
            "wireguard_peers_include": entry["connect_to"],
            "wireguard_behind_nat": True,
            "wireguard_via_exit_node": entry.get("via_exit_node"),
            "unmanaged": True,
        }
    return hosts


def topology_of(inventory):
    return next(iter(inventory["hosts"].values())).get("wireguard_topology", "mesh")


def hubs_of(inventory):
    if topology_of(inventory) != "hub_spoke":
        return set()
    return {n for n, v in model_hosts(inventory).items() if v.get("wireguard_hub") in (True, "yes", "true")}


# -- cryptokey routing, simulated -------------------------------------------------------------------------------

INTERNET = (net("198.51.100.7/32"), net("2001:db8:77::7/128"))


def own_prefixes(plans, hosts, name):
    """What a host answers for: its tunnel /32 and /128, and its routed subnets."""
    return [host_prefix(a) for a in plans[name].addresses] + [
        net(s) for s in as_list(hosts[name].get("wireguard_routed_subnets"))
    ]


def deliver(tables, forwarders, source_host, source, target_host, target):
    """None when a packet from `source` (at source_host) reaches `target` at target_host, else why not.

    Each hop sends to the longest-prefix owner of the destination among its peers (outbound); the
    receiver accepts only if its own entry for the sender is the longest-prefix owner of the source
    (inbound). Only forwarders relay."""
    here = source_host
    for _hop in range(len(tables) + 1):
        hop = lpm(tables[here], target)
        if hop is None:
            return f"{here} has no route to {target}"
        back = lpm(tables[hop], source)
        if back != here:
            return f"{hop} drops {source} coming from {here}: it belongs to {back} there"
        if hop == target_host:
            return None
        if hop not in forwarders:
            return f"{hop} would have to forward to {target} but does not forward"
        here = hop
    return f"{source} -> {target} loops"


def intended_pairs(inventory):
    """Ordered pairs the topology says can talk: mesh, linked pairs; hub_spoke, every pair of hosts and clients."""
    hosts = model_hosts(inventory)
    if topology_of(inventory) == "hub_spoke":
        return [(a, b) for a in hosts for b in hosts if a != b]
    links = model_links(inventory)
    return [(a, b) for a in hosts for b in sorted(links[a])]


def unreachable(inventory, plans):
    """[(a, b, why)] for every intended ordered pair (with their routed subnets) and every exit client's
    internet traffic that cryptokey routing over `plans` does not deliver both ways."""
    hosts = model_hosts(inventory)
    tables = {name: route_table(plan) for name, plan in plans.items()}
    forwarders = hubs_of(inventory)
    own = {name: own_prefixes(plans, hosts, name) for name in plans}
    failures = []
    for a, b in intended_pairs(inventory):
        for source in own[a]:
            for target in own[b]:
                if source.version != target.version:
                    continue
                why = deliver(tables, forwarders, a, source, b, target) or deliver(
                    tables, forwarders, b, target, a, source
                )
                if why:
                    failures.append((a, b, why))
    for name, values in hosts.items():
        exit_node = values.get("wireguard_via_exit_node")
        if not exit_node:
            continue
        for source in own[name][: len(plans[name].addresses)]:
            target = next(p for p in INTERNET if p.version == source.version)
            why = deliver(tables, set(), name, source, exit_node, target) or deliver(
                tables, set(), exit_node, target, name, source
            )
            if why:
                failures.append((name, exit_node, f"internet: {why}"))
    return failures


def table_faults(plans):
    """A prefix under two peers of one host, or a peer's own tunnel address resolving elsewhere."""
    faults = []
    for name, plan in plans.items():
        table = route_table(plan)
        prefixes = [prefix for prefix, _peer in table]
        faults.extend(f"{name}: {p} under two peers" for p in {p for p in prefixes if prefixes.count(p) > 1})
        for peer in plan.peers:
            for address in plans[peer.name].addresses:
                if lpm(table, host_prefix(address)) != peer.name:
                    faults.append(f"{name}: {address} of {peer.name} resolves to {lpm(table, host_prefix(address))}")
    return faults
