"""Property tests of the planner over random inventories (mesh and hub_spoke, 2-30 hosts).

Expectations come from planner_oracle (peering by the rules, longest-prefix match with ipaddress), never
from the planner itself.
"""

import base64
import hashlib
import ipaddress

import pytest
from helpers.planner_oracle import as_list, host_prefix, is_present, lpm, model_links, net, route_table
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import inventory as wireguard_inventory
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import plan as wireguard_plan

NAMES = [f"h{i:02d}" for i in range(30)]
ROUTED_POOL = [f"192.168.{i}.0/24" if i % 2 == 0 else f"fd10:{i:x}::/64" for i in range(60)]
DEFAULT_ROUTES = {net("0.0.0.0/0"), net("::/0")}
ROUTED_V4, ROUTED_V6 = net("192.168.0.0/16"), net("fd10::/16")  # holds the pool: endpoints stay out of it
STATE_OFFSET = 40  # recorded addresses use 40 + index, explicit ones 80 + index: never the same
EXPLICIT_OFFSET = 80
ENDPOINT_KINDS = [None, None, None, "name", "name:port", "v4", "v4:port", "v6", "[v6]", "[v6]:port"]


def fake_public_key(name):
    return base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()


def address_at(network_text, offset, with_prefix=True):
    network = net(network_text)
    address = network.network_address + offset
    return f"{address}/{network.prefixlen}" if with_prefix else str(address)


def offset_in_network(interface_text):
    interface = ipaddress.ip_interface(interface_text)
    return int(interface.ip) - int(interface.network.network_address)


@st.composite
def fleets(draw, topologies=("mesh", "hub_spoke"), extras=False):
    """(inventory, state, meta): a valid random inventory and fleet state, plus what the rules expect.

    extras: hubs may exclude other hubs too, and unmanaged peers (clients) may be added."""
    count = draw(st.integers(min_value=2, max_value=30))
    names = draw(st.permutations(NAMES[:count]))  # the inventory's dict order is random too
    topology = draw(st.sampled_from(topologies))
    family = draw(st.sampled_from(["v4", "v6", "dual"]))
    v4 = draw(st.sampled_from(["10.0.0.0/24", "10.77.0.0/23", "172.16.4.0/25"]))
    v6 = draw(st.sampled_from(["fd00:77::/64", "fd00:78::/112"]))
    networks = {"v4": [v4], "v6": [v6], "dual": [v4, v6]}[family]
    network_value = networks[0] if len(networks) == 1 and draw(st.booleans()) else list(networks)
    absent = draw(st.sets(st.sampled_from(sorted(names)), max_size=count - 2))
    present = [n for n in sorted(names) if n not in absent]
    hubs = set()
    if topology == "hub_spoke":
        hubs = draw(st.sets(st.sampled_from(present), min_size=1, max_size=min(3, len(present))))

    hosts = {}
    state_hosts = {}
    used = set()
    meta = {"topology": topology, "networks": networks, "hubs": hubs, "endpoints": {}, "keys": {}, "offsets": {}}
    for name in names:
        index = NAMES.index(name)
        values = {"wireguard_network": network_value}
        if topology == "hub_spoke" or draw(st.booleans()):
            values["wireguard_topology"] = topology
        if name in absent:
            values["wireguard_state"] = "absent"
        elif draw(st.booleans()):
            values["wireguard_state"] = "present"
        if name in hubs:
            values["wireguard_hub"] = True
        port = draw(st.one_of(st.none(), st.integers(min_value=1024, max_value=65535)))
        if port is not None:
            values["wireguard_port"] = port if draw(st.booleans()) else str(port)
        kind = draw(st.sampled_from(ENDPOINT_KINDS))
        if kind is not None:
            endpoint_port = draw(st.integers(min_value=1, max_value=65535)) if kind.endswith(":port") else None
            if kind.startswith("name"):
                host = f"{name}.vpn.example.net"
                text = host
            elif kind.startswith("v4"):
                host = draw(st.ip_addresses(v=4).filter(lambda a: a not in ROUTED_V4 and a not in used))
                text = str(host)
            else:
                host = draw(st.ip_addresses(v=6).filter(lambda a: a not in ROUTED_V6 and a not in used))
                text = f"[{host}]" if kind.startswith("[") else host.exploded if draw(st.booleans()) else str(host)
            used.add(host)  # two hosts never share an endpoint, and no endpoint lies in a routed subnet
            values["wireguard_endpoint"] = text if endpoint_port is None else f"{text}:{endpoint_port}"
            meta["endpoints"][name] = (host, endpoint_port)
        if draw(st.booleans()):
            values["wireguard_behind_nat"] = draw(st.sampled_from([True, False, "yes", "no"]))
        keepalive = draw(st.sampled_from([None, None, 0, 15]))
        if keepalive is not None:
            values["wireguard_persistent_keepalive"] = keepalive
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            values["wireguard_exit_node"] = True
        key_source = draw(st.sampled_from(["inventory", "state", "unknown"]))
        if key_source == "inventory":
            values["wireguard_public_key"] = fake_public_key(name)
        elif key_source == "state":
            state_hosts.setdefault(name, {})["public_key"] = fake_public_key(name)
        meta["keys"][name] = None if key_source == "unknown" else fake_public_key(name)
        if draw(st.booleans()):
            values["wireguard_psk_secret_set"] = True
            values["wireguard_psk_secret_length"] = 32  # the filter passes the length, never the secret
        address_source = draw(st.sampled_from(["allocate", "allocate", "state", "explicit"]))
        if address_source == "state":
            state_hosts.setdefault(name, {})["addresses"] = [address_at(n, STATE_OFFSET + index) for n in networks]
            meta["offsets"][name] = STATE_OFFSET + index
        elif address_source == "explicit":
            given = [address_at(n, EXPLICIT_OFFSET + index, draw(st.booleans())) for n in networks]
            if len(given) == 2 and draw(st.booleans()):
                given = [draw(st.sampled_from(given))]  # dual stack: the other family follows
            values["wireguard_address"] = given[0] if len(given) == 1 and draw(st.booleans()) else given
            meta["offsets"][name] = EXPLICIT_OFFSET + index
        hosts[name] = values

    # routed subnets: disjoint, from a pool outside every tunnel network
    for subnet in ROUTED_POOL[: draw(st.integers(min_value=0, max_value=2 * count))]:
        owner = draw(st.sampled_from(names))
        hosts[owner].setdefault("wireguard_routed_subnets", []).append(subnet)

    groups = {
        "wireguard": list(names),
        "site_a": draw(st.lists(st.sampled_from(names), unique=True)),
        "site_b": draw(st.lists(st.sampled_from(names), unique=True)),
    }
    for name in present:
        choices = [n for n in present if n != name]
        if name in hubs:
            spokes = [n for n in choices if extras or n not in hubs]
            if spokes and draw(st.integers(min_value=0, max_value=4)) == 0:
                hosts[name]["wireguard_peers_exclude"] = draw(
                    st.lists(st.sampled_from(spokes), min_size=1, unique=True)
                )
            continue
        pool = [*choices, "site_a", "site_b"]
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            hosts[name]["wireguard_peers_exclude"] = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
        if draw(st.integers(min_value=0, max_value=6)) == 0:
            hosts[name]["wireguard_peers_include"] = draw(
                st.lists(st.sampled_from([*pool, "wireguard"]), min_size=1, unique=True)
            )

    inventory = {"hosts": hosts, "groups": groups}
    if topology == "hub_spoke":
        _repair_spokes(inventory, hubs, meta)

    # exit clients pick an exit node they peer with
    links = model_links(inventory)
    exits = {n for n in present if hosts[n].get("wireguard_exit_node")}
    for name in present:
        options = sorted(links[name] & exits)
        if name not in exits and options and draw(st.booleans()):
            hosts[name]["wireguard_via_exit_node"] = draw(st.sampled_from(options))
    if extras:
        _add_clients(draw, inventory, present, exits)
    return inventory, {"hosts": state_hosts}, meta


def _add_clients(draw, inventory, present, exits):
    """Unmanaged peers (network-wide, so on every host), connecting to random hosts or groups."""
    clients = []
    for index in range(draw(st.integers(min_value=0, max_value=3))):
        entry = {
            "name": f"client{index}",
            "connect_to": draw(st.lists(st.sampled_from([*present, "site_a", "wireguard"]), min_size=1, unique=True)),
        }
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            entry["state"] = "absent"
        clients.append(entry)
    for values in inventory["hosts"].values():
        values["wireguard_unmanaged_peers"] = clients
    if clients:
        links = model_links(inventory)
        for entry in clients:
            options = sorted(links.get(entry["name"], set()) & exits)
            if options and draw(st.booleans()):
                entry["via_exit_node"] = draw(st.sampled_from(options))


def _repair_spokes(inventory, hubs, meta):
    """Make every spoke peer with at least one hub, the way a user would fix the inventory."""
    hosts = inventory["hosts"]
    hub_with_endpoint = [h for h in sorted(hubs) if hosts[h].get("wireguard_endpoint")]
    if not hub_with_endpoint:
        first = sorted(hubs)[0]
        hosts[first]["wireguard_endpoint"] = f"{first}.hub.example.net"
        meta["endpoints"][first] = (f"{first}.hub.example.net", None)
    links = model_links(inventory)
    for name, values in hosts.items():
        if not is_present(values) or name in hubs or links[name] & hubs:
            continue
        values.pop("wireguard_peers_include", None)
        values.pop("wireguard_peers_exclude", None)
        for hub in hubs:
            excluded = hosts[hub].get("wireguard_peers_exclude")
            if excluded and name in excluded:
                excluded.remove(name)
    assert all(links & hubs for name, links in model_links(inventory).items() if name not in hubs)


def endpoint_host(meta, name):
    return meta["endpoints"][name][0] if name in meta["endpoints"] else None


def configured_port(values):
    return int(values.get("wireguard_port", 51820))


def truthy(value):
    return value is True or value in ("yes", "true")


def check_plans(inventory, state, meta, plans, warnings):
    hosts = inventory["hosts"]
    present = {n for n, v in hosts.items() if is_present(v)}
    hubs = meta["hubs"]
    networks = [net(n) for n in meta["networks"]]
    hub_spoke = meta["topology"] == "hub_spoke"
    links = model_links(inventory)

    assert set(plans) == present
    peers = {h: [p.name for p in plan.peers] for h, plan in plans.items()}

    # -- peering: the rules' links, symmetric ------------------------------------------------------------
    for name, names in peers.items():
        assert len(names) == len(set(names)), f"{name} lists a peer twice"
        assert set(names) == links[name], name
        for other in names:
            assert name in peers[other], f"{other} is a peer of {name} but not the other way round"
        if hub_spoke and name not in hubs:
            assert set(names) <= hubs, f"spoke {name} peers with non-hubs"

    # -- addresses ---------------------------------------------------------------------------------------
    seen = {}
    for name, plan in plans.items():
        interfaces = [ipaddress.ip_interface(a) for a in plan.addresses]
        assert sorted(i.version for i in interfaces) == sorted(n.version for n in networks)
        offsets = set()
        for interface in interfaces:
            network = next(n for n in networks if n.version == interface.version)
            assert interface.network == network, f"{name}: {interface} not in {network}"
            assert interface.ip != network.network_address
            assert network.version == 6 or interface.ip != network.broadcast_address
            offsets.add(int(interface.ip) - int(network.network_address))
            assert interface.ip not in seen, f"{interface.ip} given to {name} and {seen.get(interface.ip)}"
            seen[interface.ip] = name
        assert len(offsets) == 1, f"{name}: dual-stack addresses at different offsets {plan.addresses}"
        if name in meta["offsets"]:
            assert offsets == {meta["offsets"][name]}, f"{name}: recorded/explicit address not kept"

    # -- AllowedIPs ---------------------------------------------------------------------------------------
    own = {
        n: [host_prefix(a) for a in plans[n].addresses]
        + [net(s) for s in as_list(hosts[n].get("wireguard_routed_subnets"))]
        for n in present
    }
    owner = {prefix: n for n, prefixes in own.items() for prefix in prefixes}
    for name, plan in plans.items():
        values = hosts[name]
        table = route_table(plan)
        prefixes = [entry[0] for entry in table]
        assert len(prefixes) == len(set(prefixes)), f"{name}: a prefix is listed under two peers: {table}"
        via = values.get("wireguard_via_exit_node")
        for peer in plan.peers:
            allowed = {net(p) for p in peer.allowed_ips}
            for prefix in own[peer.name]:
                assert prefix in allowed, f"{name} -> {peer.name}: {prefix} missing"
                assert lpm(table, prefix) == peer.name, f"{name}: {prefix} of {peer.name} routes elsewhere"
            if via == peer.name:
                assert allowed >= DEFAULT_ROUTES
            else:
                assert not allowed & DEFAULT_ROUTES, f"{name} -> {peer.name}: default route without via_exit_node"
            extra = allowed - set(own[peer.name]) - DEFAULT_ROUTES
            if not hub_spoke or (name in hubs and peer.name not in hubs):
                assert not extra, f"{name} -> {peer.name}: unexpected {extra}"
            elif name in hubs:  # hub -> hub: only spokes this hub cannot reach but that hub does
                for prefix in extra:
                    spoke = owner.get(prefix)
                    assert spoke is not None and spoke not in hubs, f"{name} -> {peer.name}: {prefix}"
                    assert spoke not in links[name] and peer.name in links[spoke]
            else:  # spoke -> hub: the network and LANs of hosts the spoke does not peer with
                for prefix in extra:
                    assert prefix in networks or owner.get(prefix) not in (links[name] | {name, None}), prefix
        if hub_spoke and name not in hubs:
            carriers = [p.name for p in plan.peers if set(networks) & {net(x) for x in p.allowed_ips}]
            assert len(carriers) == 1, f"spoke {name}: network route on {carriers}"
            carrier = next(p for p in plan.peers if p.name == carriers[0])
            assert set(networks) <= {net(x) for x in carrier.allowed_ips}
            for other in present - {name}:
                for prefix in own[other]:
                    assert lpm(table, prefix) in hubs, f"spoke {name}: {prefix} of {other} not via a hub"
        if hub_spoke and name in hubs:
            # a spoke this hub does not peer with is reached through that spoke's primary (first) hub, the
            # way its own traffic comes back; if this hub does not peer with that one either, not at all
            for spoke in present - hubs - links[name] - {name}:
                primary = min(links[spoke] & hubs)
                expected = {primary} if primary in links[name] else {None, via}  # via: its default route
                for prefix in own[spoke]:
                    assert lpm(table, prefix) in expected, f"hub {name}: {prefix} of {spoke} not via {primary}"
        # nothing of absent hosts, nothing unknown
        for prefix in prefixes:
            assert prefix in owner or prefix in networks or prefix in DEFAULT_ROUTES, f"{name}: stray {prefix}"

    # -- per-peer fields --------------------------------------------------------------------------------------
    for name, plan in plans.items():
        values = hosts[name]
        keepalive = int(values.get("wireguard_persistent_keepalive", 25))
        behind_nat = truthy(values.get("wireguard_behind_nat", False))
        for peer in plan.peers:
            target = endpoint_host(meta, peer.name)
            wanted = keepalive if behind_nat and target is not None and keepalive else None
            assert peer.persistent_keepalive == wanted, f"{name} -> {peer.name}: keepalive"
            if target is None:
                assert peer.endpoint is None
            else:
                port = meta["endpoints"][peer.name][1] or configured_port(hosts[peer.name])
                if isinstance(target, ipaddress.IPv6Address):
                    assert peer.endpoint.startswith("[")
                    inner, _sep, port_text = peer.endpoint[1:].partition("]:")
                    assert ipaddress.IPv6Address(inner) == target and int(port_text) == port
                else:
                    assert peer.endpoint == f"{target}:{port}"
            assert peer.public_key == meta["keys"][peer.name]
            wants_psk = all(
                hosts[n].get("wireguard_psk_secret_set") and meta["keys"][n] is not None for n in (name, peer.name)
            )
            assert peer.preshared_key == bool(wants_psk)
        # a roaming host behind NAT with no endpoint listens on whatever port the kernel picks
        roaming = behind_nat and "wireguard_endpoint" not in values
        assert plan.listen_port == (None if roaming else configured_port(values))

    # -- warnings: unreachable pairs and unknown keys --------------------------------------------------------
    reachable_but_for_endpoints = model_links(inventory, require_endpoint=False)
    for name in present:
        for other in reachable_but_for_endpoints[name]:
            if name < other and not (endpoint_host(meta, name) or endpoint_host(meta, other)):
                assert other not in links[name]
                assert any(name in w and other in w for w in warnings), f"no warning for {name}/{other}"
    unknown = sorted(n for n in present if meta["keys"][n] is None)
    if unknown:
        assert any(all(n in w for n in unknown) for w in warnings)


@pytest.mark.parametrize("topology", ["mesh", "hub_spoke"])
@settings(max_examples=80)
@given(data=st.data())
def test_plans_follow_the_rules(topology, data):
    inventory, state, meta = data.draw(fleets(topologies=(topology,)))
    plans, warnings = wireguard_plan.plan_all(inventory, state)
    check_plans(inventory, state, meta, plans, warnings)


@settings(max_examples=50)
@given(fleets())
def test_one_host_planned_alone_equals_its_plan_in_the_whole(fleet):
    """`--limit`: planning one host from a fresh build gives exactly its plan from plan_all."""
    inventory, state, _hosts = fleet
    plans = wireguard_plan.plan_all(inventory, state)[0]
    for name, expected in plans.items():
        planner = wireguard_plan.build(inventory, state)[0]
        assert planner.host(name) == expected
        # and with nothing computed beforehand (build() validates links first, warming the planner's caches)
        cold = wireguard_plan.Planner(wireguard_inventory.load_network(inventory, state))
        assert cold.host(name) == expected


@settings(max_examples=50)
@given(fleets(), st.randoms(use_true_random=False))
def test_plans_do_not_depend_on_inventory_order(fleet, rnd):
    inventory, state, _hosts = fleet
    plans, warnings = wireguard_plan.plan_all(inventory, state)
    names = list(inventory["hosts"])
    rnd.shuffle(names)
    shuffled = {
        "hosts": {name: inventory["hosts"][name] for name in names},
        "groups": {
            group: rnd.sample(members, len(members)) for group, members in reversed(inventory["groups"].items())
        },
    }
    state_names = list(state["hosts"])
    rnd.shuffle(state_names)
    shuffled_state = {"hosts": {name: state["hosts"][name] for name in state_names}}
    again, warnings_again = wireguard_plan.plan_all(shuffled, shuffled_state)
    assert again == plans
    assert sorted(warnings_again) == sorted(warnings)


# -- allocation stability -----------------------------------------------------------------------------------

POOL = [f"n{i:02d}" for i in range(14)]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(POOL), st.one_of(st.none(), st.integers(min_value=1, max_value=60))),
        st.tuples(st.just("remove"), st.sampled_from(POOL), st.sampled_from(["delete", "absent"])),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=80)
@given(
    st.sampled_from(
        [["10.5.0.0/24"], ["fd00:5::/64"], ["10.5.0.0/24", "fd00:5::/64"], ["10.5.0.0/25", "fd00:5::/112"]]
    ),
    st.lists(st.sampled_from(POOL), unique=True, max_size=6),
    operations,
)
def test_allocations_survive_adds_and_removes(networks, initial, steps):
    hosts = {name: {"wireguard_network": networks} for name in initial}
    explicit = {}
    state = {"hosts": {}}
    before = {}
    parsed = [net(n) for n in networks]

    def plan_step():
        nonlocal state, before
        inventory = {
            "hosts": {n: dict(v, wireguard_endpoint=f"{n}.example.net") for n, v in hosts.items()},
            "groups": {},
        }
        if not any(is_present(v) for v in inventory["hosts"].values()):
            return
        network = wireguard_inventory.load_network(inventory, state)
        now = {name: [str(a) for a in spec.addresses] for name, spec in network.hosts.items()}
        for name, addresses in now.items():
            if name in before:
                assert addresses == before[name], f"{name} moved from {before[name]} to {addresses}"
            if name in explicit:
                assert {offset_in_network(a) for a in addresses} == {explicit[name]}
        flat = [ipaddress.ip_interface(a).ip for addresses in now.values() for a in addresses]
        assert len(flat) == len(set(flat)), now
        for name, addresses in network.allocations.items():
            assert name not in explicit
            interfaces = [ipaddress.ip_interface(a) for a in addresses]
            assert [i.network for i in interfaces] == parsed
            offsets = {int(i.ip) - int(i.network.network_address) for i in interfaces}
            assert len(offsets) == 1, f"{name}: dual-stack offsets differ: {addresses}"
            assert not offsets & set(explicit.values()), f"{name} got an explicit address {addresses}"
        # carry the state forward as the fleet state would record it
        state = {"hosts": {name: {"addresses": list(a)} for name, a in network.allocations.items()}}
        # and make sure the carried state plans the same
        assert wireguard_inventory.load_network(inventory, state).allocations == network.allocations
        before = now

    plan_step()
    for step in steps:
        if step[0] == "add":
            name, offset = step[1:]
            if name in hosts and is_present(hosts[name]):
                continue
            values = {"wireguard_network": networks}
            taken = {offset_in_network(a) for addresses in before.values() for a in addresses}
            if offset is not None and offset not in taken:
                values["wireguard_address"] = [address_at(n, offset) for n in networks]
                explicit[name] = offset
            else:
                explicit.pop(name, None)
            hosts[name] = values
        else:
            name, how = step[1:]
            if name not in hosts:
                continue
            if how == "delete":
                del hosts[name]
            else:
                hosts[name] = {"wireguard_network": networks, "wireguard_state": "absent"}
            explicit.pop(name, None)
            before.pop(name, None)
        plan_step()


def test_adding_hosts_that_sort_first_moves_nobody():
    def allocations(names, state):
        inventory = {"hosts": {n: {"wireguard_network": ["10.5.0.0/24", "fd00:5::/64"]} for n in names}, "groups": {}}
        return wireguard_inventory.load_network(inventory, state).allocations

    first = allocations(["m", "z"], None)
    second = allocations(["a", "b", "m", "z"], {"hosts": {n: {"addresses": a} for n, a in first.items()}})
    assert {n: second[n] for n in first} == first
    assert len({a for addresses in second.values() for a in addresses}) == 8
    third = allocations(["a", "z"], {"hosts": {n: {"addresses": a} for n, a in second.items()}})
    assert third == {"a": second["a"], "z": second["z"]}
