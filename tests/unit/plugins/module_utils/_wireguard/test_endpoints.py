"""Per-pair endpoints (wireguard_endpoints): each pair of hosts uses the best underlay network both are on.

The property test draws random fleets on random underlay networks and checks the plans against an oracle
written here from the documented rule (not from the planner): a pair uses, of the networks both hosts are
on where at least one of them has an endpoint, the one with the highest sum of their two priorities (ties:
the name that sorts first), and dials the other's endpoint there; with no such network they are not peers.
"""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import plan

NET = "10.99.0.0/24"
UNDERLAYS = ["internet4", "internet6", "site-a", "site-b"]


def inventory(hosts, **network_wide):
    values = {name: {"wireguard_network": NET, **network_wide, **spec} for name, spec in hosts.items()}
    return {"hosts": values, "groups": {"wireguard": list(hosts)}}


def peers_of(plans, name):
    return {peer.name: peer for peer in plans[name].peers}


# -- examples ------------------------------------------------------------------------------------------------

SITE = {
    # two hosts of site A: a LAN between them, only a1 has a public address (a NAT remaps port 40001)
    "a1": {
        "wireguard_endpoints": [
            {"network": "site-a", "endpoint": "192.168.10.11", "priority": 10},
            {"network": "internet4", "endpoint": "203.0.113.11:40001"},
        ]
    },
    "a2": {
        "wireguard_behind_nat": True,
        "wireguard_endpoints": [
            {"network": "site-a", "endpoint": "192.168.10.12", "priority": 10},
            {"network": "internet4"},
        ],
    },
    # dual-stack remote host, and an IPv6-only one
    "b1": {
        "wireguard_endpoints": [
            {"network": "internet4", "endpoint": "198.51.100.21"},
            {"network": "internet6", "endpoint": "[2001:db8::21]"},
        ]
    },
    "c1": {"wireguard_endpoints": [{"network": "internet6", "endpoint": "2001:db8::31"}]},
}


def test_each_pair_uses_the_best_network_both_are_on():
    plans, warnings = plan.plan_all(inventory(SITE))
    a1, a2, b1, c1 = (peers_of(plans, n) for n in ("a1", "a2", "b1", "c1"))
    assert a1["a2"].endpoint == "192.168.10.12:51820" and a2["a1"].endpoint == "192.168.10.11:51820"  # the LAN
    assert a1["b1"].endpoint == "198.51.100.21:51820" and b1["a1"].endpoint == "203.0.113.11:40001"  # the remap
    assert a2["b1"].endpoint == "198.51.100.21:51820" and b1["a2"].endpoint is None  # a2 cannot be reached
    assert b1["c1"].endpoint == "[2001:db8::31]:51820" and c1["b1"].endpoint == "[2001:db8::21]:51820"
    # c1 shares no network with a1 or a2: not peers, and the plan says why
    assert set(c1) == {"b1"} and "c1" not in a1 and "c1" not in a2
    assert any("a1 and c1 share no underlay network" in w for w in warnings), warnings
    # a2 is behind NAT: keepalives toward the peers it dials
    assert a2["a1"].persistent_keepalive == 25 and a2["b1"].persistent_keepalive == 25
    assert plans["a2"].listen_port == 51820  # it has an endpoint on the LAN, so a fixed port


def test_priorities_add_up_and_ties_go_to_the_name_sorting_first():
    hosts = {
        "x": {
            "wireguard_endpoints": [
                {"network": "net-b", "endpoint": "10.1.0.1", "priority": 5},
                {"network": "net-a", "endpoint": "10.2.0.1", "priority": 1},
                {"network": "net-c", "endpoint": "10.3.0.1", "priority": 3},
            ]
        },
        "y": {
            "wireguard_endpoints": [
                {"network": "net-b", "endpoint": "10.1.0.2", "priority": 0},
                {"network": "net-a", "endpoint": "10.2.0.2", "priority": 4},
                {"network": "net-c", "endpoint": "10.3.0.2", "priority": 2},
            ]
        },
    }
    plans = plan.plan_all(inventory(hosts))[0]
    # sums: net-a 5, net-b 5, net-c 5: all tie, net-a sorts first
    assert peers_of(plans, "x")["y"].endpoint == "10.2.0.2:51820"
    hosts["y"]["wireguard_endpoints"][2]["priority"] = 3  # net-c 6 now wins
    plans = plan.plan_all(inventory(hosts))[0]
    assert (
        peers_of(plans, "x")["y"].endpoint == "10.3.0.2:51820"
        and peers_of(plans, "y")["x"].endpoint == "10.3.0.1:51820"
    )


def test_hosts_without_the_list_are_on_the_default_network():
    hosts = {
        "old": {"wireguard_endpoint": "198.51.100.1"},
        "new": {"wireguard_endpoints": [{"network": "default", "endpoint": "198.51.100.2"}, {"network": "lan"}]},
        "roamer": {},
    }
    plans, warnings = plan.plan_all(inventory(hosts))
    assert peers_of(plans, "roamer")["old"].endpoint == "198.51.100.1:51820"
    assert peers_of(plans, "roamer")["new"].endpoint == "198.51.100.2:51820"
    assert peers_of(plans, "old")["new"].endpoint == "198.51.100.2:51820"
    assert not [w for w in warnings if "share no" in w or "neither" in w], warnings


def test_one_lan_address_may_recur_on_another_network_but_not_on_its_own():
    hosts = {
        "a": {"wireguard_endpoints": [{"network": "site-a", "endpoint": "192.168.1.5"}]},
        "b": {"wireguard_endpoints": [{"network": "site-b", "endpoint": "192.168.1.5"}, {"network": "site-a"}]},
    }
    plan.plan_all(inventory(hosts))
    hosts["b"]["wireguard_endpoints"][1]["endpoint"] = "192.168.1.5"
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts))
    assert "host b: wireguard_endpoints: 192.168.1.5:51820 is host a's endpoint too on network site-a" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"network": "lan", "endpont": "10.0.0.1"}], "item 0 has unknown key(s) endpont"),
        ([{"endpoint": "10.0.0.1"}], "item 0: network None is not a name"),
        ([{"network": "my lan"}], "item 0: network 'my lan' is not a name"),
        ([{"network": "lan"}, {"network": "lan"}], "item 1: network lan is listed twice"),
        ([{"network": "lan", "endpoint": "10.0.0.1:99999"}], "item 0 (lan): "),
        ([{"network": "lan", "endpoint": 5}], "item 0: endpoint 5 is not a string"),
        (
            [{"network": "lan", "priority": 1001}],
            "1001 is not a whole number from 0 to 1000 (item 0, lan: its priority)",
        ),
        ("lan", "expected a list of mappings"),
    ],
)
def test_bad_declarations_are_refused_naming_host_and_variable(entries, message):
    hosts = {"a": {"wireguard_endpoints": entries}, "b": {"wireguard_endpoint": "198.51.100.2"}}
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts))
    lines = [str(p) for p in info.value.problems]
    assert any(line.startswith("host a: wireguard_endpoints: ") and message in line for line in lines), lines


def test_both_endpoint_variables_at_once_are_refused():
    hosts = {
        "a": {
            "wireguard_endpoint": "198.51.100.1",
            "wireguard_endpoints": [{"network": "lan", "endpoint": "10.0.0.1"}],
        },
        "b": {"wireguard_endpoint": "198.51.100.2"},
    }
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts))
    assert "host a: wireguard_endpoints: is set together with wireguard_endpoint; use one" in str(info.value)


def test_a_lan_endpoint_inside_a_routed_subnet_is_refused():
    hosts = {
        "gw": {
            "wireguard_routed_subnets": ["192.168.10.0/24"],
            "wireguard_endpoints": [
                {"network": "site-a", "endpoint": "192.168.10.1"},
                {"network": "internet4", "endpoint": "198.51.100.1"},
            ],
        },
        "peer": {"wireguard_endpoints": [{"network": "site-a", "endpoint": "192.168.10.2"}, {"network": "internet4"}]},
    }
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts))
    assert "192.168.10.0/24 contains host peer's endpoint 192.168.10.2" in str(info.value)


def test_unreachable_pairs_can_be_refused():
    hosts = {
        "a": {"wireguard_endpoints": [{"network": "site-a", "endpoint": "192.168.1.1"}]},
        "b": {"wireguard_endpoints": [{"network": "site-b", "endpoint": "192.168.2.1"}]},
    }
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts, wireguard_unreachable_pairs="fail"))
    assert "host a: wireguard_endpoints: a and b share no underlay network" in str(info.value)
    assert "a is on site-a (endpoint); b is on site-b (endpoint)" in str(info.value)


# -- property: random fleets on random underlays -------------------------------------------------------------


@st.composite
def fleets(draw):
    count = draw(st.integers(min_value=2, max_value=12))
    names = [f"h{i:02d}" for i in range(count)]
    hosts, underlays = {}, {}
    for index, name in enumerate(names):
        if draw(st.integers(0, 4)) == 0:  # an old-style host: the default network
            endpoint = f"198.18.0.{index + 1}" if draw(st.booleans()) else None
            hosts[name] = {"wireguard_endpoint": endpoint} if endpoint else {}
            underlays[name] = {"default": (f"{endpoint}:51820" if endpoint else None, 0)}
            continue
        chosen = draw(st.lists(st.sampled_from([*UNDERLAYS, "default"]), min_size=1, max_size=4, unique=True))
        entries, mine = [], {}
        for network in chosen:
            priority = draw(st.integers(0, 3))
            endpoint = None
            if draw(st.booleans()):
                endpoint = (
                    f"[2001:db8::{index + 1:x}]:51820"
                    if network == "internet6"
                    else f"198.19.{UNDERLAYS.index(network) if network in UNDERLAYS else 9}.{index + 1}:51820"
                )
            entry = {"network": network, "priority": priority}
            if endpoint:
                entry["endpoint"] = endpoint
            entries.append(entry)
            mine[network] = (endpoint, priority)
        hosts[name] = {"wireguard_endpoints": entries, "wireguard_behind_nat": draw(st.booleans())}
        underlays[name] = mine
    return hosts, underlays


def oracle_network(underlays, a, b):
    """The documented choice, computed independently: sort the candidates, best first."""
    candidates = [
        (-(underlays[a][n][1] + underlays[b][n][1]), n)
        for n in sorted(set(underlays[a]) & set(underlays[b]))
        if underlays[a][n][0] is not None or underlays[b][n][0] is not None
    ]
    return sorted(candidates)[0][1] if candidates else None


@settings(max_examples=150, deadline=None)
@given(fleets())
def test_pairs_use_the_best_shared_network_symmetrically(fleet):
    hosts, underlays = fleet
    plans, _warnings = plan.plan_all(inventory(hosts))
    names = sorted(hosts)
    for a in names:
        peers = peers_of(plans, a)
        for b in names:
            if a == b:
                continue
            network = oracle_network(underlays, a, b)
            assert (b in peers) == (network is not None), (a, b, network)
            if network is None:
                continue
            # the same network from both sides: each dials the other's endpoint there (None: waits for it)
            assert peers[b].endpoint == underlays[b][network][0], (a, b, network)
            assert peers_of(plans, b)[a].endpoint == underlays[a][network][0], (b, a, network)
            assert (peers[b].persistent_keepalive is not None) == (
                bool(hosts[a].get("wireguard_behind_nat")) and underlays[b][network][0] is not None
            )


@settings(max_examples=80, deadline=None)
@given(fleets())
def test_each_peer_gets_its_own_address_and_no_prefix_twice(fleet):
    hosts, _underlays = fleet
    plans, _warnings = plan.plan_all(inventory(hosts))
    own = {name: {str(ipaddress.ip_interface(a).ip) for a in p.addresses} for name, p in plans.items()}
    for name, host_plan in plans.items():
        seen = set()
        for peer in host_plan.peers:
            routed = {str(ipaddress.ip_network(p).network_address) for p in peer.allowed_ips}
            assert own[peer.name] <= routed, (name, peer)
            assert not seen & set(peer.allowed_ips), (name, peer)
            seen |= set(peer.allowed_ips)


def test_a_client_of_hosts_with_no_default_endpoint_is_told_to_add_one():
    clients = [{"name": "phone", "connect_to": ["a"]}]
    hosts = {
        "a": {
            "wireguard_endpoints": [{"network": "site-a", "endpoint": "192.168.1.1"}],
            "wireguard_unmanaged_peers": clients,
        },
        "b": {
            "wireguard_endpoints": [{"network": "site-a", "endpoint": "192.168.1.2"}],
            "wireguard_unmanaged_peers": clients,
        },
    }
    with pytest.raises(PlanError) as info:
        plan.plan_all(inventory(hosts))
    assert "give one of them a default entry with an endpoint in wireguard_endpoints" in str(info.value)
    hosts["a"]["wireguard_endpoints"].append({"network": "default", "endpoint": "198.51.100.1"})
    plans = plan.plan_all(inventory(hosts))[0]
    assert peers_of(plans, "phone")["a"].endpoint == "198.51.100.1:51820"
