"""Per-host plans on small, hand-checked inventories (plugins/module_utils/_wireguard/plan.py).

The broad rules are checked on random inventories in test_plan_properties.py; here each rule
of DESIGN.md gets a concrete example whose expected plan follows from the rule.
"""

import json

import pytest
from helpers.planner_oracle import lpm, route_table, table_faults, unreachable

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import keys, plan

NET = "10.99.0.0/24"
NET6 = "fd00:99::/64"
PRIVATE = {
    name: keys.encode_key(bytes([i + 1]) * 32)
    for i, name in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "hub-a", "hub-b"])
}
PUBLIC = {name: keys.public_key(private) for name, private in PRIVATE.items()}
# What the extracting filter passes for a host whose wireguard_psk_secret is set (never the secret itself).
PSK_SET = {"wireguard_psk_secret_set": True, "wireguard_psk_secret_length": 32}


def inventory(hosts, groups=None, **network_wide):
    network_wide.setdefault("wireguard_network", NET)
    return {
        "hosts": {name: {**network_wide, **values} for name, values in hosts.items()},
        "groups": groups if groups is not None else {"wireguard": list(hosts)},
    }


def peers_of(host_plan):
    return {peer.name: peer for peer in host_plan.peers}


def allowed(host_plan, peer):
    return set(peers_of(host_plan)[peer].allowed_ips)


# -- mesh ------------------------------------------------------------------------------------------------


def test_mesh_every_host_peers_with_every_other():
    inv = inventory({name: {"wireguard_endpoint": f"{name}.example.net"} for name in ("alpha", "bravo", "charlie")})
    plans = plan.plan_all(inv)[0]
    assert sorted(plans) == ["alpha", "bravo", "charlie"]
    for name, host_plan in plans.items():
        assert sorted(peers_of(host_plan)) == sorted({"alpha", "bravo", "charlie"} - {name})
        assert host_plan.interface == "wg0"
        assert host_plan.listen_port == 51820
    addresses = {name: p.addresses[0] for name, p in plans.items()}
    assert len(set(addresses.values())) == 3
    for host_plan in plans.values():
        for peer in host_plan.peers:
            assert peer.allowed_ips == (addresses[peer.name].split("/")[0] + "/32",)
            assert peer.endpoint == f"{peer.name}.example.net:51820"


def test_mesh_dual_stack_allowed_ips_are_the_peer_host_routes_and_its_lans():
    inv = inventory(
        {
            "alpha": {"wireguard_endpoint": "alpha.example.net", "wireguard_address": ["10.99.0.10", "fd00:99::10"]},
            "bravo": {
                "wireguard_endpoint": "bravo.example.net:4500",
                "wireguard_address": ["10.99.0.20", "fd00:99::20"],
                "wireguard_routed_subnets": ["192.168.20.0/24", "fd20::/48"],
            },
        },
        wireguard_network=[NET, NET6],
    )
    plans = plan.plan_all(inv)[0]
    assert plans["alpha"].addresses == ["10.99.0.10/24", "fd00:99::10/64"]
    assert allowed(plans["alpha"], "bravo") == {"10.99.0.20/32", "fd00:99::20/128", "192.168.20.0/24", "fd20::/48"}
    assert allowed(plans["bravo"], "alpha") == {"10.99.0.10/32", "fd00:99::10/128"}
    assert peers_of(plans["alpha"])["bravo"].endpoint == "bravo.example.net:4500"


def test_endpoint_port_defaults_to_the_peers_own_port():
    inv = inventory(
        {
            "alpha": {"wireguard_endpoint": "2001:db8::a", "wireguard_port": 4000},
            "bravo": {"wireguard_endpoint": "[2001:db8::b]:5000"},
            "charlie": {"wireguard_endpoint": "198.51.100.3"},
        }
    )
    plans = plan.plan_all(inv)[0]
    assert plans["alpha"].listen_port == 4000
    assert peers_of(plans["bravo"])["alpha"].endpoint == "[2001:db8::a]:4000"
    assert peers_of(plans["alpha"])["bravo"].endpoint == "[2001:db8::b]:5000"
    assert peers_of(plans["alpha"])["charlie"].endpoint == "198.51.100.3:51820"


def test_include_and_exclude_by_host_and_group_apply_to_both_sides():
    hosts = {name: {"wireguard_endpoint": f"{name}.example.net"} for name in ("alpha", "bravo", "charlie", "delta")}
    hosts["alpha"]["wireguard_peers_exclude"] = ["lab"]  # bravo, charlie
    hosts["delta"]["wireguard_peers_include"] = ["charlie", "alpha"]
    inv = inventory(hosts, {"wireguard": list(hosts), "lab": ["bravo", "charlie"]})
    plans = plan.plan_all(inv)[0]
    assert sorted(peers_of(plans["alpha"])) == ["delta"]
    assert sorted(peers_of(plans["bravo"])) == ["charlie"]  # alpha excludes bravo; delta does not include it
    assert sorted(peers_of(plans["charlie"])) == ["bravo", "delta"]
    assert sorted(peers_of(plans["delta"])) == ["alpha", "charlie"]


def test_absent_hosts_are_neither_planned_nor_peers():
    inv = inventory(
        {
            "alpha": {"wireguard_endpoint": "alpha.example.net"},
            "bravo": {"wireguard_endpoint": "bravo.example.net", "wireguard_state": "absent"},
            "charlie": {"wireguard_endpoint": "charlie.example.net", "wireguard_state": "present"},
        }
    )
    plans = plan.plan_all(inv)[0]
    assert sorted(plans) == ["alpha", "charlie"]
    assert sorted(peers_of(plans["alpha"])) == ["charlie"]
    assert sorted(peers_of(plans["charlie"])) == ["alpha"]


# -- exit nodes ----------------------------------------------------------------------------------------------


def test_exit_client_sends_default_routes_to_its_exit_node_only():
    inv = inventory(
        {
            "alpha": {"wireguard_via_exit_node": "echo"},
            "bravo": {"wireguard_endpoint": "bravo.example.net"},
            "charlie": {"wireguard_endpoint": "charlie.example.net", "wireguard_exit_node": True},
            "echo": {"wireguard_endpoint": "echo.example.net", "wireguard_exit_node": True},
        }
    )
    plans = plan.plan_all(inv)[0]
    alpha = plans["alpha"]
    assert {"0.0.0.0/0", "::/0"} <= allowed(alpha, "echo")
    for peer in ("bravo", "charlie"):
        assert not {"0.0.0.0/0", "::/0"} & allowed(alpha, peer)
    for name in ("bravo", "charlie", "echo"):
        for peer in plans[name].peers:
            assert not {"0.0.0.0/0", "::/0"} & set(peer.allowed_ips)
    # every other peer's address still goes to that peer, not to the exit node
    table = route_table(alpha)
    for peer in alpha.peers:
        assert lpm(table, plans[peer.name].addresses[0].split("/")[0]) == peer.name
    assert lpm(table, "203.0.113.9") == "echo"
    assert lpm(table, "2001:db8::9") == "echo"


# -- hub and spoke ---------------------------------------------------------------------------------------------


def hub_spoke_inventory(**overrides):
    hosts = {
        "hub-a": {
            "wireguard_hub": True,
            "wireguard_endpoint": "hub-a.example.net",
            "wireguard_routed_subnets": ["192.168.1.0/24"],
        },
        "hub-b": {"wireguard_hub": True, "wireguard_endpoint": "hub-b.example.net", "wireguard_exit_node": True},
        "alpha": {"wireguard_routed_subnets": ["192.168.10.0/24"]},
        "bravo": {"wireguard_behind_nat": True, "wireguard_routed_subnets": ["192.168.20.0/24"]},
        "charlie": {"wireguard_endpoint": "charlie.example.net"},
    }
    for name, values in overrides.items():
        hosts[name].update(values)
    return inventory(hosts, wireguard_topology="hub_spoke", wireguard_network=[NET, NET6])


def test_spokes_peer_only_with_hubs_and_the_first_hub_carries_the_network():
    plans = plan.plan_all(hub_spoke_inventory())[0]
    for spoke in ("alpha", "bravo", "charlie"):
        assert sorted(peers_of(plans[spoke])) == ["hub-a", "hub-b"]
        hub_a = allowed(plans[spoke], "hub-a")
        hub_b = allowed(plans[spoke], "hub-b")
        assert {NET, NET6} <= hub_a
        assert not {NET, NET6} & hub_b
        others = {"alpha": "192.168.10.0/24", "bravo": "192.168.20.0/24"}
        # other spokes' LANs through the hub, own LAN never, the hub's own LAN under that hub
        for owner, subnet in others.items():
            assert (subnet in hub_a) == (owner != spoke)
            assert subnet not in hub_b
        assert "192.168.1.0/24" in hub_a
    assert sorted(peers_of(plans["hub-a"])) == ["alpha", "bravo", "charlie", "hub-b"]
    assert allowed(plans["hub-a"], "alpha") == {
        plans["alpha"].addresses[0].split("/")[0] + "/32",
        plans["alpha"].addresses[1].split("/")[0] + "/128",
        "192.168.10.0/24",
    }


def test_spoke_reaches_other_spokes_through_a_hub_by_longest_prefix():
    plans = plan.plan_all(hub_spoke_inventory())[0]
    table = route_table(plans["alpha"])
    for other in ("bravo", "charlie"):
        for address in plans[other].addresses:
            assert lpm(table, address.split("/")[0]) in ("hub-a", "hub-b")
    for address in plans["hub-b"].addresses:
        assert lpm(table, address.split("/")[0]) == "hub-b"


def test_hub_relays_spokes_it_cannot_reach_through_the_other_hub():
    plans = plan.plan_all(hub_spoke_inventory(alpha={"wireguard_peers_exclude": ["hub-a"]}))[0]
    assert sorted(peers_of(plans["alpha"])) == ["hub-b"]
    assert {NET, NET6} <= allowed(plans["alpha"], "hub-b")
    hub_a = plans["hub-a"]
    assert "alpha" not in peers_of(hub_a)
    table = route_table(hub_a)
    for address in plans["alpha"].addresses:
        assert lpm(table, address.split("/")[0]) == "hub-b"
    assert lpm(table, "192.168.10.1") == "hub-b"
    # hub-b reaches alpha directly; it must not relay anything back to hub-a
    assert allowed(plans["hub-b"], "hub-a") == {
        a.split("/")[0] + ("/32" if "." in a else "/128") for a in hub_a.addresses
    } | {"192.168.1.0/24"}


def test_several_hubs_a_spoke_of_one_hub_and_a_spoke_of_both_reach_each_other():
    """Issue 14: alpha peers only with hub-b; bravo, with both. Through hub-b, both ways, and each side's
    cryptokey routing must accept the other's address from hub-b (not from hub-a, bravo's first hub)."""
    inv = inventory(
        {
            "hub-a": {"wireguard_hub": True, "wireguard_endpoint": "hub-a.example.net"},
            "hub-b": {"wireguard_hub": True, "wireguard_endpoint": "hub-b.example.net"},
            "alpha": {"wireguard_peers_exclude": ["hub-a"], "wireguard_routed_subnets": ["192.168.10.0/24"]},
            "bravo": {"wireguard_routed_subnets": ["192.168.20.0/24"]},
        },
        wireguard_topology="hub_spoke",
    )
    plans, warnings = plan.plan_all(inv)
    alpha_ip = plans["alpha"].addresses[0].split("/")[0]
    bravo_ip = plans["bravo"].addresses[0].split("/")[0]
    bravo = route_table(plans["bravo"])
    assert lpm(bravo, alpha_ip) == "hub-b"  # what alpha's packets arrive from, and where replies must go
    assert lpm(bravo, "192.168.10.7") == "hub-b"
    assert lpm(route_table(plans["alpha"]), bravo_ip) == "hub-b"
    assert lpm(route_table(plans["hub-b"]), alpha_ip) == "alpha"
    assert lpm(route_table(plans["hub-a"]), alpha_ip) == "hub-b"  # hub-a still relays through hub-b
    assert lpm(bravo, plans["hub-a"].addresses[0].split("/")[0]) == "hub-a"
    assert unreachable(inv, plans) == []
    assert table_faults(plans) == []
    assert not any("reach" in w for w in warnings)


def several_hubs_apart():
    """hub-a and hub-b do not peer (hub-a excludes hub-b); alpha is only hub-a's, bravo only hub-b's,
    charlie peers with both."""
    return inventory(
        {
            "hub-a": {
                "wireguard_hub": True,
                "wireguard_endpoint": "a.example.net",
                "wireguard_peers_exclude": ["hub-b"],
            },
            "hub-b": {"wireguard_hub": True, "wireguard_endpoint": "b.example.net"},
            "alpha": {"wireguard_peers_include": ["hub-a"]},
            "bravo": {"wireguard_peers_include": ["hub-b"]},
            "charlie": {},
        },
        wireguard_topology="hub_spoke",
    )


def test_hubs_that_do_not_peer_name_the_pairs_they_cut_in_one_warning():
    inv = several_hubs_apart()
    planner, warnings = plan.build(inv)
    # charlie shares a hub with each spoke; hub-a-hub-b, hub-a-bravo, hub-b-alpha and alpha-bravo have no path
    assert planner.unrouted_pairs() == [("alpha", "bravo"), ("alpha", "hub-b"), ("bravo", "hub-a"), ("hub-a", "hub-b")]
    failed = {tuple(sorted((a, b))) for a, b, _why in unreachable(inv, planner.all())}
    assert failed == set(planner.unrouted_pairs())
    [warning] = [w for w in warnings if "do not peer" in w]
    assert warning.startswith("host hub-a: wireguard_peers_exclude: hubs hub-a and hub-b do not peer with each other")
    assert "4 pair(s)" in warning


def test_hubs_that_do_not_peer_are_refused_with_unreachable_pairs_fail():
    with pytest.raises(plan.PlanError) as refused:
        plan.build(inventory(several_hubs_apart()["hosts"], wireguard_unreachable_pairs="fail"))
    [problem] = refused.value.problems
    assert (problem.host, problem.variable) == ("hub-a", "wireguard_peers_exclude")
    assert "hub-a and hub-b do not peer" in problem.message


def test_unrouted_warnings_stay_one_line_per_hub_pair_on_a_big_fleet():
    hosts = {
        "hub-a": {"wireguard_hub": True, "wireguard_endpoint": "a.example.net", "wireguard_peers_exclude": ["hub-b"]},
        "hub-b": {"wireguard_hub": True, "wireguard_endpoint": "b.example.net"},
    }
    for i in range(200):
        hosts[f"s{i:03d}"] = {"wireguard_peers_include": ["hub-a" if i % 2 else "hub-b"]}
    _planner, warnings = plan.build(inventory(hosts, wireguard_network="10.99.0.0/22", wireguard_topology="hub_spoke"))
    [warning] = [w for w in warnings if "do not peer" in w]
    assert "10201 pair(s)" in warning  # 100 x 100 spokes, 2 x 100 spoke-hub, 1 hub-hub
    assert "and 10197 more" in warning and len(warning) < 600


@pytest.mark.parametrize(
    ("connect_to", "expected"),
    [
        (["hub-a"], "names only hosts without wireguard_endpoint (hub-a)"),
        (["alpha"], "names no hub (alpha)"),
    ],
)
def test_a_client_that_would_get_no_peer_is_refused_on_its_connect_to(connect_to, expected):
    inv = inventory(
        {
            "hub-a": {
                "wireguard_hub": True,
                "wireguard_unmanaged_peers": [{"name": "phone", "connect_to": connect_to}],
            },
            "alpha": {"wireguard_endpoint": "alpha.example.net"},
        },
        wireguard_topology="hub_spoke",
    )
    for values in inv["hosts"].values():
        values["wireguard_unmanaged_peers"] = [{"name": "phone", "connect_to": connect_to}]
    with pytest.raises(plan.PlanError) as refused:
        plan.build(inv)
    [problem] = [p for p in refused.value.problems if "phone" in p.variable]
    assert problem.variable == "wireguard_unmanaged_peers[phone].connect_to"
    assert expected in problem.message


def test_spoke_exit_client_of_a_second_hub():
    plans = plan.plan_all(hub_spoke_inventory(charlie={"wireguard_via_exit_node": "hub-b"}))[0]
    charlie = plans["charlie"]
    assert {"0.0.0.0/0", "::/0"} <= allowed(charlie, "hub-b")
    assert not {"0.0.0.0/0", "::/0"} & allowed(charlie, "hub-a")
    assert {NET, NET6} <= allowed(charlie, "hub-a")
    prefixes = [entry[0] for entry in route_table(charlie)]
    assert len(prefixes) == len(set(prefixes))


def test_keepalive_goes_from_the_nat_side_to_peers_with_an_endpoint():
    inv = inventory(
        {
            "alpha": {"wireguard_behind_nat": True},
            "bravo": {
                "wireguard_behind_nat": True,
                "wireguard_persistent_keepalive": 10,
                "wireguard_endpoint": "bravo.example.net",
            },
            "charlie": {"wireguard_endpoint": "charlie.example.net"},
            "delta": {"wireguard_behind_nat": True, "wireguard_persistent_keepalive": 0},
        }
    )
    plans = plan.plan_all(inv)[0]
    assert {p.name: p.persistent_keepalive for p in plans["alpha"].peers} == {"bravo": 25, "charlie": 25}
    assert {p.name: p.persistent_keepalive for p in plans["bravo"].peers} == {
        "alpha": None,
        "charlie": 10,
        "delta": None,
    }
    assert {p.name: p.persistent_keepalive for p in plans["charlie"].peers} == {
        "alpha": None,
        "bravo": None,
        "delta": None,
    }
    assert {p.name: p.persistent_keepalive for p in plans["delta"].peers} == {"bravo": None, "charlie": None}


def test_roaming_host_behind_nat_has_no_fixed_listen_port():
    inv = inventory({"alpha": {"wireguard_behind_nat": True}, "bravo": {"wireguard_endpoint": "bravo.example.net"}})
    plans = plan.plan_all(inv)[0]
    assert plans["alpha"].listen_port is None
    assert plans["bravo"].listen_port == 51820


# -- keys ------------------------------------------------------------------------------------------------------


def test_public_keys_come_from_the_inventory_then_the_fleet_state():
    inv = inventory(
        {
            "alpha": {"wireguard_endpoint": "alpha.example.net", "wireguard_public_key": PUBLIC["alpha"]},
            "bravo": {"wireguard_endpoint": "bravo.example.net"},
            "charlie": {"wireguard_endpoint": "charlie.example.net"},
        }
    )
    state = {"hosts": {"alpha": {"public_key": PUBLIC["delta"]}, "bravo": {"public_key": PUBLIC["bravo"]}}}
    plans, warnings = plan.plan_all(inv, state)
    assert peers_of(plans["charlie"])["alpha"].public_key == PUBLIC["alpha"]  # the inventory wins
    assert peers_of(plans["charlie"])["bravo"].public_key == PUBLIC["bravo"]
    assert peers_of(plans["alpha"])["charlie"].public_key is None
    assert any("charlie" in w and "alpha" not in w and "bravo" not in w for w in warnings)


def test_preshared_key_flag_needs_the_secret_and_both_keys():
    hosts = {
        "alpha": {**PSK_SET, "wireguard_public_key": PUBLIC["alpha"]},
        "bravo": {**PSK_SET, "wireguard_public_key": PUBLIC["bravo"]},
        "charlie": dict(PSK_SET),
        "delta": {"wireguard_public_key": PUBLIC["delta"]},
    }
    for name, values in hosts.items():
        values["wireguard_endpoint"] = f"{name}.example.net"
    plans = plan.plan_all(inventory(hosts))[0]
    flags = {(a, p.name): p.preshared_key for a, host_plan in plans.items() for p in host_plan.peers}
    assert flags[("alpha", "bravo")] is True and flags[("bravo", "alpha")] is True
    assert not any(flag for pair, flag in flags.items() if set(pair) != {"alpha", "bravo"})


# -- planning one host ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hub-a", "hub-b", "alpha", "bravo", "charlie"])
def test_planning_one_host_alone_equals_planning_all(name):
    inv = hub_spoke_inventory(
        alpha={"wireguard_peers_exclude": ["hub-a"]}, charlie={"wireguard_via_exit_node": "hub-b"}
    )
    plans = plan.plan_all(inv)[0]
    planner = plan.build(inv)[0]
    assert planner.host(name) == plans[name]


def test_forwarding_is_on_for_hubs_exit_nodes_and_routers():
    plans = plan.plan_all(hub_spoke_inventory())[0]
    assert plans["hub-a"].forwarding and plans["hub-b"].forwarding
    assert plans["alpha"].forwarding  # routes 192.168.10.0/24
    assert not plans["charlie"].forwarding


# -- the plan document ---------------------------------------------------------------------------------------------


def test_plan_document_shape_and_no_private_material():
    secret = "psk-secret-that-must-stay-in-the-vault"
    hosts = {}
    for name in ("alpha", "bravo", "charlie"):
        hosts[name] = {
            "wireguard_endpoint": f"{name}.example.net",
            "wireguard_public_key": PUBLIC[name],
            "wireguard_private_key": PRIVATE[name],  # not an input variable: must be ignored
            "wireguard_psk_secret": secret,
            **PSK_SET,
            "wireguard_routed_subnets": [],
        }
    hosts["alpha"]["wireguard_behind_nat"] = True
    plans = plan.plan_all(inventory(hosts))[0]
    document = plan.plan_document(plans.values())
    assert set(document) == {"alpha", "bravo", "charlie"}
    for entry in document.values():
        assert set(entry) == {"interface", "addresses", "listen_port", "peers"}
        assert entry["peers"]
        for peer in entry["peers"]:
            assert set(peer) == {
                "name",
                "public_key",
                "allowed_ips",
                "endpoint",
                "persistent_keepalive",
                "preshared_key",
            }
            assert isinstance(peer["preshared_key"], bool)
            assert isinstance(peer["allowed_ips"], list)
    text = json.dumps(document)  # plain JSON, nothing exotic
    for name in hosts:
        assert PRIVATE[name] not in text
    assert secret not in text
    assert "private" not in text.lower()
    # not even a derived preshared key
    assert keys.derive_preshared_key(secret, PUBLIC["alpha"], PUBLIC["bravo"]) not in text
    assert json.loads(text) == document
