"""Validation of the inventory (plugins/module_utils/_wireguard/inventory.py, driven through the planner).

Every problem must come back in one PlanError whose message names the host and the variable at fault.
"""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import inventory as inventory_mod
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import keys, plan

NET = "10.99.0.0/24"
NET6 = "fd00:99::/64"
KEY_A = keys.public_key(keys.encode_key(bytes([1]) * 32))
KEY_B = keys.public_key(keys.encode_key(bytes([2]) * 32))


def host(**values):
    values.setdefault("wireguard_network", NET)
    return values


def inventory(hosts, groups=None):
    return {"hosts": hosts, "groups": groups if groups is not None else {"wireguard": list(hosts)}}


def plan_error(inv, state=None):
    with pytest.raises(PlanError) as info:
        plan.plan_all(inv, state)
    return info.value


def lines_naming(error, host_name, variable):
    """Lines of the error message that name both the host and the variable."""
    host_re = re.compile(rf"(?<![\w-]){re.escape(host_name)}(?![\w-])")
    return [line for line in str(error).splitlines() if host_re.search(line) and variable in line]


def assert_reported(error, host_name, variable, *mentions):
    lines = lines_naming(error, host_name, variable)
    assert lines, f"no line of the error names host {host_name!r} and {variable!r}:\n{error}"
    assert any(p.host == host_name and p.variable == variable for p in error.problems)
    for text in mentions:
        assert any(text in line for line in lines), f"{text!r} not mentioned in {lines}"


# -- network ----------------------------------------------------------------------------------------------


def test_no_hosts():
    error = plan_error({"hosts": {}, "groups": {}})
    assert "no hosts" in str(error)


@pytest.mark.parametrize("value", [None, "", []], ids=["unset", "empty-string", "empty-list"])
def test_missing_network(value):
    hosts = {"alpha": {"wireguard_endpoint": "a.example"}, "bravo": {"wireguard_endpoint": "b.example"}}
    if value is not None:
        for values in hosts.values():
            values["wireguard_network"] = value
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_network")


@pytest.mark.parametrize("value", ["10.99.0/24x", "10.99.0.0/33", "not-a-network", ["10.99.0.0/24", "fd00::/200"]])
def test_malformed_network(value):
    error = plan_error(inventory({"alpha": host(wireguard_network=value), "bravo": host(wireguard_network=value)}))
    assert_reported(error, "alpha", "wireguard_network")


def test_network_with_host_bits_set_suggests_the_network():
    error = plan_error(inventory({"alpha": host(wireguard_network="10.99.0.1/24")}))
    assert_reported(error, "alpha", "wireguard_network", "10.99.0.0/24")


@pytest.mark.parametrize("value", ["10.99.0.0/31", "10.99.0.0/32", "fd00::/127", [NET, "fd00::/128"]])
def test_network_too_small(value):
    assert_reported(plan_error(inventory({"alpha": host(wireguard_network=value)})), "alpha", "wireguard_network")


def test_two_networks_of_one_family():
    error = plan_error(inventory({"alpha": host(wireguard_network=[NET, "10.98.0.0/24"])}))
    assert_reported(error, "alpha", "wireguard_network")


@pytest.mark.parametrize(
    ("variable", "first", "second"),
    [
        ("wireguard_network", NET, "10.98.0.0/24"),
        ("wireguard_network", [NET, NET6], NET),
        ("wireguard_topology", "mesh", "hub_spoke"),
        ("wireguard_unreachable_pairs", "warn", "fail"),
    ],
)
def test_network_wide_variable_differs_between_hosts(variable, first, second):
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", **{variable: first}),
        "bravo": host(wireguard_endpoint="b.example", **{variable: second}),
    }
    if variable == "wireguard_topology":
        hosts["alpha"]["wireguard_hub"] = hosts["bravo"]["wireguard_hub"] = False
    error = plan_error(inventory(hosts))
    assert_reported(error, "bravo", variable, "alpha")


def test_network_wide_variable_left_to_default_on_one_host():
    hosts = {
        "alpha": host(wireguard_endpoint="a.example"),
        "bravo": host(wireguard_endpoint="b.example", wireguard_unreachable_pairs="fail"),
    }
    assert_reported(plan_error(inventory(hosts)), "bravo", "wireguard_unreachable_pairs")


# -- addresses ----------------------------------------------------------------------------------------------


def test_duplicate_explicit_address():
    hosts = {
        "alpha": host(wireguard_address="10.99.0.5", wireguard_endpoint="a.example"),
        "bravo": host(wireguard_address="10.99.0.5/24", wireguard_endpoint="b.example"),
    }
    error = plan_error(inventory(hosts))
    assert any(
        lines_naming(error, one, "wireguard_address") and other in str(error)
        for one, other in (("alpha", "bravo"), ("bravo", "alpha"))
    ), str(error)
    assert "10.99.0.5" in str(error)


@pytest.mark.parametrize("address", ["10.98.0.5", "10.100.0.1/24", "192.168.1.1"])
def test_address_outside_network(address):
    error = plan_error(inventory({"alpha": host(wireguard_address=address), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_address", NET)


@pytest.mark.parametrize(
    ("network", "address"),
    [(NET, "10.99.0.0"), (NET, "10.99.0.255"), ([NET, NET6], ["10.99.0.5", "fd00:99::"])],
    ids=["v4-network", "v4-broadcast", "v6-subnet-router"],
)
def test_network_or_broadcast_address(network, address):
    error = plan_error(
        inventory(
            {
                "alpha": host(wireguard_network=network, wireguard_address=address),
                "bravo": host(wireguard_network=network),
            }
        )
    )
    assert_reported(error, "alpha", "wireguard_address")


@pytest.mark.parametrize(
    ("network", "address"),
    [(NET, "fd00:99::5"), (NET6, "10.99.0.5"), (NET, ["10.99.0.5", "fd00:99::5"])],
    ids=["v6-in-v4", "v4-in-v6", "extra-v6"],
)
def test_wrong_family_address(network, address):
    error = plan_error(
        inventory(
            {
                "alpha": host(wireguard_network=network, wireguard_address=address),
                "bravo": host(wireguard_network=network),
            }
        )
    )
    assert_reported(error, "alpha", "wireguard_address", "IPv")


@pytest.mark.parametrize(
    "address",
    [["10.99.0.5", "10.99.0.6"], "10.99.0.5/16", "not-an-address"],
    ids=["two-v4", "prefix-mismatch", "garbage"],
)
def test_malformed_address_for_dual_stack(address):
    error = plan_error(
        inventory(
            {
                "alpha": host(wireguard_network=[NET, NET6], wireguard_address=address),
                "bravo": host(wireguard_network=[NET, NET6]),
            }
        )
    )
    assert_reported(error, "alpha", "wireguard_address")


@pytest.mark.parametrize("given", ["10.99.0.5", "fd00:99::5"])
def test_one_address_in_dual_stack_gets_the_same_offset_in_the_other_family(given):
    hosts = {
        "alpha": host(wireguard_network=[NET, NET6], wireguard_address=given, wireguard_endpoint="a.example"),
        "bravo": host(wireguard_network=[NET, NET6], wireguard_endpoint="b.example"),
    }
    plans = plan.plan_all(inventory(hosts))[0]
    assert plans["alpha"].addresses == ["10.99.0.5/24", "fd00:99::5/64"]
    assert "10.99.0.5/24" not in plans["bravo"].addresses


def test_one_address_in_dual_stack_without_counterpart():
    network = ["10.99.0.0/16", "fd00:99::/120"]
    hosts = {
        "alpha": host(wireguard_network=network, wireguard_address="10.99.1.5"),
        "bravo": host(wireguard_network=network),
    }
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_address", "fd00:99::/120")


def test_network_runs_out_of_addresses():
    hosts = {
        name: host(wireguard_network="10.99.0.0/30", wireguard_endpoint=f"{name}.example")
        for name in ("alpha", "bravo", "charlie")
    }
    error = plan_error(inventory(hosts))
    assert_reported(error, "charlie", "wireguard_network")


def test_recorded_address_taken_by_an_explicit_one():
    state = {"hosts": {"alpha": {"addresses": ["10.99.0.1/24"]}}}
    hosts = {
        "alpha": host(wireguard_endpoint="a.example"),
        "bravo": host(wireguard_endpoint="b.example", wireguard_address="10.99.0.1"),
    }
    error = plan_error(inventory(hosts), state)
    assert_reported(error, "alpha", "wireguard_address", "bravo")


# -- keys ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not-a-key", KEY_A[:-2] + "==", KEY_A + "A", 12345])
def test_malformed_public_key(key):
    error = plan_error(inventory({"alpha": host(wireguard_public_key=key), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_public_key")


def test_malformed_public_key_in_fleet_state():
    state = {"hosts": {"alpha": {"public_key": "garbage"}}}
    error = plan_error(inventory({"alpha": host(), "bravo": host()}), state)
    assert_reported(error, "alpha", "wireguard_public_key", "fleet state")


def test_duplicate_public_key():
    hosts = {
        "alpha": host(wireguard_public_key=KEY_A, wireguard_endpoint="a.example"),
        "bravo": host(wireguard_public_key=KEY_A, wireguard_endpoint="b.example"),
        "charlie": host(wireguard_public_key=KEY_B, wireguard_endpoint="c.example"),
    }
    error = plan_error(inventory(hosts))
    assert len(error.problems) == 1
    assert any(
        lines_naming(error, one, "wireguard_public_key") and other in str(error)
        for one, other in (("alpha", "bravo"), ("bravo", "alpha"))
    ), str(error)
    assert "charlie" not in str(error)


def test_duplicate_public_key_between_inventory_and_fleet_state():
    state = {"hosts": {"bravo": {"public_key": KEY_A}}}
    hosts = {
        "alpha": host(wireguard_public_key=KEY_A, wireguard_endpoint="a.example"),
        "bravo": host(wireguard_endpoint="b.example"),
    }
    error = plan_error(inventory(hosts), state)
    assert any(p.variable == "wireguard_public_key" and p.host in ("alpha", "bravo") for p in error.problems)


# -- topology ------------------------------------------------------------------------------------------------


def test_unknown_topology():
    hosts = {"alpha": host(wireguard_topology="star"), "bravo": host(wireguard_topology="star")}
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_topology", "star")


def test_hub_spoke_without_hub():
    hosts = {
        "alpha": host(wireguard_topology="hub_spoke", wireguard_endpoint="a.example"),
        "bravo": host(wireguard_topology="hub_spoke", wireguard_endpoint="b.example"),
    }
    error = plan_error(inventory(hosts))
    assert any(lines_naming(error, name, "wireguard_topology") for name in hosts), str(error)
    assert "wireguard_hub" in str(error)


def test_hub_in_mesh():
    hosts = {
        "alpha": host(wireguard_hub=True, wireguard_endpoint="a.example"),
        "bravo": host(wireguard_endpoint="b.example"),
    }
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_hub")


# -- routed subnets ----------------------------------------------------------------------------------------


def test_routed_subnet_with_host_bits_set():
    error = plan_error(inventory({"alpha": host(wireguard_routed_subnets=["192.168.1.1/24"]), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_routed_subnets", "192.168.1.0/24")


def test_routed_subnet_not_a_network():
    error = plan_error(inventory({"alpha": host(wireguard_routed_subnets="lan"), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_routed_subnets")


@pytest.mark.parametrize(("first", "second"), [("192.168.1.0/24", "192.168.1.0/24"), ("fd10::/64", "fd10:0:0:0::/64")])
def test_same_routed_subnet_on_two_hosts(first, second):
    hosts = {
        "alpha": host(wireguard_routed_subnets=[first], wireguard_endpoint="a.example"),
        "bravo": host(wireguard_routed_subnets=[second], wireguard_endpoint="b.example"),
    }
    error = plan_error(inventory(hosts))
    assert any(
        lines_naming(error, one, "wireguard_routed_subnets") and other in str(error)
        for one, other in (("alpha", "bravo"), ("bravo", "alpha"))
    ), str(error)


@pytest.mark.parametrize(
    ("network", "subnet"),
    [
        (NET, "10.99.0.128/25"),
        (NET, "10.0.0.0/8"),
        (NET, "10.99.0.7/32"),
        ([NET, NET6], "fd00:99::/96"),
        ([NET, NET6], "fd00::/16"),
    ],
)
def test_routed_subnet_inside_the_network(network, subnet):
    hosts = {
        "alpha": host(wireguard_network=network, wireguard_routed_subnets=[subnet], wireguard_endpoint="a.example"),
        "bravo": host(wireguard_network=network, wireguard_endpoint="b.example"),
    }
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_routed_subnets")


@pytest.mark.parametrize("subnet", ["0.0.0.0/0", "::/0"])
def test_default_route_as_routed_subnet(subnet):
    error = plan_error(inventory({"alpha": host(wireguard_routed_subnets=[subnet]), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_routed_subnets", "wireguard_exit_node")


# -- exit nodes -------------------------------------------------------------------------------------------


def exit_inventory(**alpha):
    return inventory(
        {
            "alpha": host(wireguard_endpoint="a.example", **alpha),
            "bravo": host(wireguard_endpoint="b.example"),
            "exit": host(wireguard_endpoint="x.example", wireguard_exit_node=True),
            "gone": host(wireguard_state="absent", wireguard_exit_node=True),
        }
    )


@pytest.mark.parametrize(
    ("target", "mention"),
    [("bravo", "bravo"), ("nosuchhost", "nosuchhost"), ("alpha", "itself"), ("gone", "absent")],
    ids=["not-an-exit-node", "unknown-host", "itself", "absent-host"],
)
def test_via_exit_node_invalid_target(target, mention):
    error = plan_error(exit_inventory(wireguard_via_exit_node=target))
    assert_reported(error, "alpha", "wireguard_via_exit_node", mention)


def test_via_exit_node_set_on_an_exit_node():
    error = plan_error(exit_inventory(wireguard_exit_node=True, wireguard_via_exit_node="exit"))
    assert_reported(error, "alpha", "wireguard_via_exit_node")


def test_via_exit_node_that_is_not_a_peer_in_mesh():
    error = plan_error(exit_inventory(wireguard_via_exit_node="exit", wireguard_peers_exclude=["exit"]))
    assert_reported(error, "alpha", "wireguard_via_exit_node", "exit")


def test_via_exit_node_that_is_not_a_peer_in_hub_spoke():
    common = {"wireguard_topology": "hub_spoke"}
    hosts = {
        "hub": host(wireguard_hub=True, wireguard_endpoint="h.example", **common),
        "exit": host(wireguard_exit_node=True, wireguard_endpoint="x.example", **common),
        "spoke": host(wireguard_via_exit_node="exit", wireguard_endpoint="s.example", **common),
    }
    assert_reported(plan_error(inventory(hosts)), "spoke", "wireguard_via_exit_node", "exit")


# -- per-host settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wg-interface-too-long", "a" * 16, "", "wg 0", "wg/0"])
def test_bad_interface_name(name):
    error = plan_error(inventory({"alpha": host(wireguard_interface=name), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_interface")


def test_interface_name_of_fifteen_characters_is_fine():
    plans = plan.plan_all(
        inventory({"alpha": host(wireguard_interface="a" * 15, wireguard_endpoint="a.example"), "bravo": host()})
    )[0]
    assert plans["alpha"].interface == "a" * 15


@pytest.mark.parametrize("port", [0, 65536, -1, "abc", "51820/udp", 1.5, True])
def test_port_out_of_range(port):
    error = plan_error(inventory({"alpha": host(wireguard_port=port), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_port")


@pytest.mark.parametrize("value", [-1, 65536, "often"])
def test_bad_keepalive(value):
    error = plan_error(inventory({"alpha": host(wireguard_persistent_keepalive=value), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_persistent_keepalive")


@pytest.mark.parametrize("variable", ["wireguard_behind_nat", "wireguard_exit_node", "wireguard_hub"])
def test_non_boolean_flag(variable):
    error = plan_error(inventory({"alpha": host(**{variable: "maybe"}), "bravo": host()}))
    assert_reported(error, "alpha", variable)


@pytest.mark.parametrize("endpoint", ["bad host", "vpn.example.com:0", "[2001:db8::1"])
def test_bad_endpoint(endpoint):
    error = plan_error(
        inventory({"alpha": host(wireguard_endpoint=endpoint), "bravo": host(wireguard_endpoint="b.example")})
    )
    assert_reported(error, "alpha", "wireguard_endpoint")


@pytest.mark.parametrize("value", ["gone", "Present", True])
def test_bad_state(value):
    error = plan_error(inventory({"alpha": host(wireguard_state=value), "bravo": host()}))
    assert_reported(error, "alpha", "wireguard_state")


@pytest.mark.parametrize("variable", ["wireguard_peers_include", "wireguard_peers_exclude"])
def test_unknown_include_or_exclude_name(variable):
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", **{variable: ["bravo", "nosuchthing"]}),
        "bravo": host(wireguard_endpoint="b.example"),
    }
    assert_reported(plan_error(inventory(hosts, {"wireguard": ["alpha", "bravo"]})), "alpha", variable, "nosuchthing")


def test_excluding_an_absent_host_is_harmless():
    """Marking a host absent is how it is removed (DESIGN: wireguard_state); other hosts that exclude it must
    keep planning. The absent host is still in the WireGuard group, so "neither a host of the WireGuard group
    nor an inventory group" would be wrong anyway."""
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_peers_exclude=["charlie"]),
        "bravo": host(wireguard_endpoint="b.example"),
        "charlie": host(wireguard_endpoint="c.example", wireguard_state="absent"),
    }
    plans = plan.plan_all(inventory(hosts))[0]
    assert sorted(plans) == ["alpha", "bravo"]
    assert [p.name for p in plans["alpha"].peers] == ["bravo"]


# -- reachability ----------------------------------------------------------------------------------------------


def test_unreachable_pair_fails_when_asked_to():
    hosts = {
        "alpha": host(wireguard_unreachable_pairs="fail"),
        "bravo": host(wireguard_unreachable_pairs="fail"),
        "charlie": host(wireguard_unreachable_pairs="fail", wireguard_endpoint="c.example"),
    }
    error = plan_error(inventory(hosts))
    assert len(error.problems) == 1
    assert any(lines_naming(error, name, "wireguard_endpoint") for name in ("alpha", "bravo")), str(error)
    assert "alpha" in str(error) and "bravo" in str(error)
    assert "charlie" not in str(error)


def test_unreachable_pair_is_left_out_with_a_warning_by_default():
    hosts = {"alpha": host(), "bravo": host(), "charlie": host(wireguard_endpoint="c.example")}
    plans, warnings = plan.plan_all(inventory(hosts))
    assert [p.name for p in plans["alpha"].peers] == ["charlie"]
    assert [p.name for p in plans["bravo"].peers] == ["charlie"]
    assert [p.name for p in plans["charlie"].peers] == ["alpha", "bravo"]
    pair_warnings = [w for w in warnings if "alpha" in w and "bravo" in w and "wireguard_endpoint" in w]
    assert len(pair_warnings) == 1
    assert not any("charlie" in w and "endpoint" in w for w in warnings if w not in pair_warnings)


def hub_spoke(**hosts):
    for values in hosts.values():
        values.setdefault("wireguard_topology", "hub_spoke")
        values.setdefault("wireguard_network", NET)
    return inventory(hosts)


def test_spoke_without_a_hub_because_of_endpoints():
    inv = hub_spoke(hub=host(wireguard_hub=True), spoke=host(), other=host(wireguard_endpoint="o.example"))
    assert_reported(plan_error(inv), "spoke", "wireguard_endpoint")


@pytest.mark.parametrize(
    ("variable", "value"), [("wireguard_peers_exclude", ["hub"]), ("wireguard_peers_include", ["other"])]
)
def test_spoke_without_a_hub_because_of_its_own_lists(variable, value):
    inv = hub_spoke(
        hub=host(wireguard_hub=True, wireguard_endpoint="h.example"),
        spoke=host(wireguard_endpoint="s.example", **{variable: value}),
        other=host(wireguard_endpoint="o.example"),
    )
    assert_reported(plan_error(inv), "spoke", variable)


def test_spoke_without_a_hub_because_the_hub_excludes_it():
    """The spoke has an endpoint and no lists of its own: the hub's exclude list is the cause, so the error
    must point there, not at the spoke's wireguard_endpoint (setting one would change nothing)."""
    inv = hub_spoke(
        hub=host(wireguard_hub=True, wireguard_endpoint="h.example", wireguard_peers_exclude=["spoke"]),
        spoke=host(wireguard_endpoint="s.example"),
    )
    error = plan_error(inv)
    assert "spoke" in str(error)
    assert_reported(error, "hub", "wireguard_peers_exclude")


# -- all problems at once -----------------------------------------------------------------------------------------


def test_several_problems_are_reported_together():
    hosts = {
        "alpha": host(wireguard_public_key="garbage", wireguard_endpoint="a.example"),
        "bravo": host(wireguard_port=70000, wireguard_endpoint="b.example"),
        "charlie": host(wireguard_interface="x" * 20, wireguard_endpoint="c.example"),
        "delta": host(wireguard_endpoint="[::1", wireguard_state="present"),
        "echo": host(wireguard_routed_subnets=["0.0.0.0/0"], wireguard_endpoint="e.example"),
        "foxtrot": host(wireguard_via_exit_node="alpha", wireguard_endpoint="f.example"),
        "golf": host(wireguard_state="maybe"),
    }
    error = plan_error(inventory(hosts))
    expected = {
        ("alpha", "wireguard_public_key"),
        ("bravo", "wireguard_port"),
        ("charlie", "wireguard_interface"),
        ("delta", "wireguard_endpoint"),
        ("echo", "wireguard_routed_subnets"),
        ("foxtrot", "wireguard_via_exit_node"),
        ("golf", "wireguard_state"),
    }
    assert {(p.host, p.variable) for p in error.problems} == expected
    for host_name, variable in expected:
        assert_reported(error, host_name, variable)
    assert f"{len(expected)} problem" in str(error)


@pytest.mark.parametrize(
    ("late_hosts", "late_problem"),
    [
        (
            {"bravo": host(wireguard_routed_subnets=["10.99.0.128/25"], wireguard_endpoint="b.example")},
            ("bravo", "wireguard_routed_subnets"),
        ),
        (
            {
                "bravo": host(wireguard_address="10.99.0.9", wireguard_endpoint="b.example"),
                "charlie": host(wireguard_address="10.99.0.9", wireguard_endpoint="c.example"),
            },
            ("charlie", "wireguard_address"),
        ),
    ],
    ids=["routed-subnet-inside-network", "duplicate-address"],
)
def test_problems_found_while_allocating_are_reported_with_the_others(late_hosts, late_problem):
    """The module promises every problem in one PlanError. A bad key on one host must not hide a routed
    subnet inside the tunnel network, or a duplicate address, on other hosts (the user would fix one batch
    and only then learn about the next)."""
    hosts = {"alpha": host(wireguard_public_key="garbage", wireguard_endpoint="a.example"), **late_hosts}
    error = plan_error(inventory(hosts))
    found = {(p.host, p.variable) for p in error.problems}
    assert ("alpha", "wireguard_public_key") in found
    late_variable = late_problem[1]
    assert any(p.variable == late_variable and p.host in late_hosts for p in error.problems), str(error)
    assert any(lines_naming(error, name, late_variable) for name in late_hosts), str(error)


def test_plan_error_is_a_value_error_listing_problems():
    error = plan_error(inventory({"alpha": host(wireguard_port=0)}))
    assert isinstance(error, ValueError)
    assert all(isinstance(p, inventory_mod.Problem) for p in error.problems)
    assert len(error.problems) == 1
    assert "alpha" in str(error.problems[0]) and "wireguard_port" in str(error.problems[0])


def test_role_defaults_match_the_planner_defaults():
    """roles/wireguard/defaults/main.yml repeats the planner's DEFAULTS (role defaults of other hosts are not
    visible through hostvars); both must say the same."""
    import yaml

    defaults_file = Path(__file__).resolve().parents[5] / "roles" / "wireguard" / "defaults" / "main.yml"
    role_defaults = yaml.safe_load(defaults_file.read_text(encoding="utf-8"))
    for variable, value in inventory_mod.DEFAULTS.items():
        assert variable in role_defaults, f"{variable} missing from {defaults_file}"
        assert role_defaults[variable] == value, f"{variable}: role says {role_defaults[variable]!r}, planner {value!r}"


# -- issue 14/16: everything the plan can know is checked at plan time -------------------------------------


def message_of(error, host_name, variable):
    """The one message the error gives for host and variable."""
    found = [p.message for p in error.problems if p.host == host_name and p.variable == variable]
    assert len(found) == 1, f"expected one problem for {host_name} {variable}:\n{error}"
    return found[0]


@pytest.mark.parametrize(
    ("variable", "value", "phrases"),
    [
        ("wireguard_via_exit_node", ["exit-a", "exit-b"], ["expected a string (one host name)", "got a list"]),
        ("wireguard_peers_include", "bravo charlie", ["expected a list of strings", "got a string", "'- item'"]),
        ("wireguard_routed_subnets", "192.168.1.0/24", ["expected a list of strings", "got a string"]),
        ("wireguard_dns", "10.99.0.1", ["expected a list of strings", "got a string"]),
        ("wireguard_routed_subnets", ["192.168.1.0/24", 5], ["item 1 is an integer"]),
        ("wireguard_endpoint", {"host": "a.example"}, ["expected a string", "got a mapping"]),
        ("wireguard_network", {"v4": NET}, ["expected a string or a list of strings", "got a mapping"]),
        ("wireguard_port", [51820], ["expected an integer", "got a list"]),
        ("wireguard_mtu", 1420.5, ["expected an integer", "got a number"]),
        ("wireguard_hub", 1, ["expected a boolean", "got an integer"]),
        ("wireguard_public_key", ["x"], ["expected a string", "got a list"]),
        ("wireguard_unmanaged_peers", {"name": "phone", "connect_to": ["alpha"]}, ["got a mapping", "'- '"]),
        ("wireguard_post_up", "iptables -A FORWARD -j ACCEPT", ["expected a list of strings", "got a string"]),
        ("wireguard_table", ["off"], ["expected a string or an integer", "got a list"]),
    ],
)
def test_wrong_type_names_host_variable_expected_and_actual_type(variable, value, phrases):
    hosts = {"alpha": host(**{"wireguard_endpoint": "a.example", variable: value}), "bravo": host()}
    error = plan_error(inventory(hosts))
    message = message_of(error, "alpha", variable)
    assert message.startswith("expected ")
    for phrase in phrases:
        assert phrase in message, message


def test_wrong_types_on_several_hosts_come_back_with_every_other_problem():
    hosts = {
        "alpha": host(wireguard_via_exit_node=["bravo"], wireguard_endpoint="a.example"),
        "bravo": host(wireguard_peers_exclude="alpha", wireguard_port=0, wireguard_endpoint="b.example"),
        "charlie": host(wireguard_interface="..", wireguard_endpoint="c.example"),
    }
    error = plan_error(inventory(hosts))
    assert {(p.host, p.variable) for p in error.problems} == {
        ("alpha", "wireguard_via_exit_node"),
        ("bravo", "wireguard_peers_exclude"),
        ("bravo", "wireguard_port"),
        ("charlie", "wireguard_interface"),
    }


def test_wrong_type_in_an_unmanaged_peer_names_the_entry_and_field():
    peers = [{"name": "phone", "connect_to": "alpha", "dns": [1]}]
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}
    error = plan_error(inventory(hosts))
    assert "got a string" in message_of(error, "alpha", "wireguard_unmanaged_peers[phone].connect_to")
    assert "item 0 is an integer" in message_of(error, "alpha", "wireguard_unmanaged_peers[phone].dns")


# keys: the private key is derived on the controller, never shown

PRIVATE_A = keys.encode_key(keys.clamp(bytes([7]) * 32))


def test_malformed_private_key_is_refused_without_showing_it():
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_private_key_invalid="does not decode to 32 bytes"),
        "bravo": host(),
    }
    message = message_of(plan_error(inventory(hosts)), "alpha", "wireguard_private_key")
    assert "does not decode to 32 bytes" in message
    assert "wg genkey" in message


def test_private_key_that_does_not_match_the_public_key():
    derived = keys.public_key_pure(PRIVATE_A)
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_public_key=KEY_A, wireguard_private_key_public=derived),
        "bravo": host(),
    }
    message = message_of(plan_error(inventory(hosts)), "alpha", "wireguard_public_key")
    assert "does not belong to wireguard_private_key" in message
    assert derived in message
    assert PRIVATE_A not in message


def test_private_key_alone_gives_the_public_key_every_peer_gets():
    derived = keys.public_key_pure(PRIVATE_A)
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_private_key_public=derived), "bravo": host()}
    plans = plan.plan_all(inventory(hosts))[0]
    assert plans["alpha"].public_key == derived
    assert [peer.public_key for peer in plans["bravo"].peers] == [derived]


def test_matching_private_and_public_key_are_fine():
    derived = keys.public_key_pure(PRIVATE_A)
    hosts = {
        "alpha": host(
            wireguard_endpoint="a.example", wireguard_public_key=derived, wireguard_private_key_public=derived
        ),
        "bravo": host(),
    }
    assert plan.plan_all(inventory(hosts))[0]["alpha"].public_key == derived


@pytest.mark.parametrize("length", [0, 1, keys.PSK_SECRET_MIN_LENGTH - 1])
def test_short_psk_secret(length):
    hosts = {
        "alpha": host(
            wireguard_endpoint="a.example", wireguard_psk_secret_set=length > 0, wireguard_psk_secret_length=length
        ),
        "bravo": host(),
    }
    if length == 0:  # an empty secret is no secret: preshared keys are simply off
        plan.plan_all(inventory(hosts))
        return
    message = message_of(plan_error(inventory(hosts)), "alpha", "wireguard_psk_secret")
    assert f"is {length} characters long" in message and "16" in message


def test_psk_secret_of_the_documented_minimum_is_fine():
    assert keys.PSK_SECRET_MIN_LENGTH == 16  # docs/inventory.md says 16+ characters
    values = {"wireguard_psk_secret_set": True, "wireguard_psk_secret_length": 16}
    plan.plan_all(inventory({"alpha": host(wireguard_endpoint="a.example", **values), "bravo": host(**values)}))


def test_psk_secret_that_is_not_a_string():
    hosts = {
        "alpha": host(wireguard_psk_secret_set=True, wireguard_psk_secret_invalid="is int, not a string"),
        "bravo": host(wireguard_endpoint="b.example"),
    }
    assert "not a string" in message_of(plan_error(inventory(hosts)), "alpha", "wireguard_psk_secret")


# numeric ranges and wg-quick settings


@pytest.mark.parametrize(
    ("network", "mtu", "ok"),
    [
        (NET, 575, False),
        (NET, 576, True),
        (NET, 65536, False),
        ([NET, NET6], 1279, False),
        ([NET, NET6], 1280, True),
        (NET, None, True),
        (NET, "1420", True),
        (NET, "big", False),
    ],
)
def test_mtu_range(network, mtu, ok):
    hosts = {
        "alpha": host(wireguard_network=network, wireguard_endpoint="a.example", wireguard_mtu=mtu),
        "bravo": host(wireguard_network=network),
    }
    if ok:
        plan.plan_all(inventory(hosts))
        return
    message = message_of(plan_error(inventory(hosts)), "alpha", "wireguard_mtu")
    low = "1280" if isinstance(network, list) else "576"
    assert f"from {low} to 65535" in message


@pytest.mark.parametrize("table", ["off", "auto", 1234, "1234", "vpn_routes", "main"])
def test_good_table(table):
    plan.plan_all(inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_table=table), "bravo": host()}))


@pytest.mark.parametrize("table", ["off; rm -rf /", "4294967296", -1, "a b", "$(id)"])
def test_bad_table(table):
    error = plan_error(
        inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_table=table), "bravo": host()})
    )
    assert "is not off, auto, a table number" in message_of(error, "alpha", "wireguard_table")


@pytest.mark.parametrize("fwmark", ["off", "0xca6c", "51820", 51820, "0xFFFFFFFF"])
def test_good_fwmark(fwmark):
    plan.plan_all(inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_fwmark=fwmark), "bravo": host()}))


@pytest.mark.parametrize("fwmark", ["0x100000000", "mark", "0xzz", "1 2", -5])
def test_bad_fwmark(fwmark):
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_fwmark=fwmark), "bravo": host()}
    assert "32-bit number" in message_of(plan_error(inventory(hosts)), "alpha", "wireguard_fwmark")


def test_dns_servers_and_search_domains():
    good = ["10.99.0.1", "fd00::53", "corp.example", "internal"]
    plan.plan_all(inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_dns=good), "bravo": host()}))
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_dns=["10.99.0.1", "a b", "10.0.0.300"]),
        "bravo": host(),
    }
    error = plan_error(inventory(hosts))
    messages = [p.message for p in error.problems if (p.host, p.variable) == ("alpha", "wireguard_dns")]
    assert messages == [
        "'a b' is neither an IP address nor a search domain",
        "'10.0.0.300' is neither an IP address nor a search domain",
    ]


@pytest.mark.parametrize("name", [".", "..", "wg/0", "wg 0", "wg0\n", "wg\t0", ""])
def test_interface_names_the_kernel_refuses(name):
    error = plan_error(
        inventory({"alpha": host(wireguard_interface=name, wireguard_endpoint="a.example"), "bravo": host()})
    )
    assert_reported(error, "alpha", "wireguard_interface")


def test_interface_name_of_an_absent_host_is_checked_too():
    hosts = {"alpha": host(wireguard_state="absent", wireguard_interface="../x"), "bravo": host(), "charlie": host()}
    assert "not '.' or '..'" in message_of(plan_error(inventory(hosts)), "alpha", "wireguard_interface")


# endpoints


def test_two_hosts_sharing_one_endpoint():
    hosts = {
        "alpha": host(wireguard_endpoint="VPN.example:51820"),
        "bravo": host(wireguard_endpoint="vpn.example"),
        "charlie": host(wireguard_endpoint="vpn.example:51821"),
    }
    message = message_of(plan_error(inventory(hosts)), "bravo", "wireguard_endpoint")
    assert "is host alpha's endpoint too" in message


def test_endpoint_inside_another_hosts_routed_subnet():
    hosts = {
        "alpha": host(wireguard_endpoint="192.168.7.20"),
        "bravo": host(wireguard_endpoint="b.example", wireguard_routed_subnets=["192.168.0.0/16"]),
        "charlie": host(wireguard_endpoint="[2001:db8:5::9]:51820", wireguard_routed_subnets=["192.168.100.0/24"]),
        "delta": host(wireguard_endpoint="d.example", wireguard_routed_subnets=["2001:db8::/32"]),
    }
    error = plan_error(inventory(hosts))
    assert "contains host alpha's endpoint 192.168.7.20" in message_of(error, "bravo", "wireguard_routed_subnets")
    assert "contains host charlie's endpoint 2001:db8:5::9" in message_of(error, "delta", "wireguard_routed_subnets")
    assert {p.host for p in error.problems} == {"bravo", "delta"}


@pytest.mark.parametrize(
    ("endpoint", "phrase"),
    [
        ("udp://vpn.example:51820", "is a URL; give only the host and port"),
        ("https://vpn.example/wg", "is a URL"),
        ("2001:db8::1:51820", "looks like an IPv6 address with a port; write [2001:db8::1]:51820"),
        ("2001:db8:1:2:3:4:5:6:51820", "write [2001:db8:1:2:3:4:5:6]:51820"),
    ],
)
def test_endpoint_messages_say_what_is_wrong(endpoint, phrase):
    hosts = {"alpha": host(wireguard_endpoint=endpoint), "bravo": host(wireguard_endpoint="b.example")}
    assert phrase in message_of(plan_error(inventory(hosts)), "alpha", "wireguard_endpoint")


# strings that reach wg-quick configs and shells (issue 16)

INJECTED = "10.99.0.1\nPostUp = touch /tmp/pwned"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("wireguard_dns", [INJECTED]),
        ("wireguard_table", "off\nPostUp = id"),
        ("wireguard_fwmark", "0x1\rPostUp = id"),
        ("wireguard_pre_up", ["true\nPostUp = id"]),
        ("wireguard_post_up", ["echo \x1b[2J"]),
        ("wireguard_pre_down", ["a\x00b"]),
        ("wireguard_post_down", ["true\u2028id"]),
        ("wireguard_interface", "wg0\n"),
        ("wireguard_endpoint", "a.example\nPostUp = id"),
        ("wireguard_public_key", KEY_A + "\nPostUp = id"),
    ],
)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_control_characters_are_refused(variable, value, state):
    hosts = {
        "alpha": host(wireguard_state=state, **{variable: value}),
        "bravo": host(wireguard_endpoint="b.example"),
        "charlie": host(),
    }
    message = message_of(plan_error(inventory(hosts)), "alpha", variable)
    assert "newline or another control character" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dns", [INJECTED]),
        ("allowed_ips", ["0.0.0.0/0\nPostUp = id"]),
        ("address", "10.99.0.9\n"),
        ("via_exit_node", "x\ny"),
        ("connect_to", ["alpha\n"]),
    ],
)
def test_control_characters_in_unmanaged_peer_fields(field, value):
    peers = [{"name": "phone", "connect_to": ["alpha"], field: value}]
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}
    error = plan_error(inventory(hosts))
    assert "newline or another control character" in message_of(
        error, "alpha", f"wireguard_unmanaged_peers[phone].{field}"
    )


def test_unmanaged_peer_name_with_a_newline():
    peers = [{"name": "phone\n", "connect_to": ["alpha"]}]
    error = plan_error(inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}))
    assert "needs a name of letters" in message_of(error, "alpha", "wireguard_unmanaged_peers[phone\n]")


def test_unmanaged_peer_allowed_ips_and_state():
    peers = [
        {"name": "phone", "connect_to": ["alpha"], "allowed_ips": ["10.99.0.0/24", "everything"]},
        {"name": "tablet", "connect_to": ["alpha"], "state": "gone"},
    ]
    error = plan_error(inventory({"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}))
    assert "'everything' is not a network CIDR" in message_of(
        error, "alpha", "wireguard_unmanaged_peers[phone].allowed_ips"
    )
    assert "is not one of present, absent" in message_of(error, "alpha", "wireguard_unmanaged_peers[tablet].state")


def test_an_unmanaged_peer_brings_its_own_public_key():
    """A key made in the client's WireGuard app: the plan publishes it to the client's hosts."""
    own = keys.public_key(keys.encode_key(bytes(range(40, 72))))
    peers = [{"name": "tablet", "connect_to": ["alpha"], "public_key": own}]
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}
    planner = plan.build(inventory(hosts))[0]
    assert planner.hosts["tablet"].public_key == own
    assert [(p.name, p.public_key) for p in planner.host("alpha").peers] == [("tablet", own)]


def test_an_unmanaged_peers_own_public_key_is_checked():
    peers = [{"name": "tablet", "connect_to": ["alpha"], "public_key": "not-a-key"}]
    hosts = {"alpha": host(wireguard_endpoint="a.example", wireguard_unmanaged_peers=peers)}
    error = plan_error(inventory(hosts))
    assert "wg pubkey" in message_of(error, "alpha", "wireguard_unmanaged_peers[tablet].public_key")


# unknown variables


def test_misspelled_variable_suggests_the_known_one():
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_variables=["wireguard_endpiont", "wireguard_network"]),
        "bravo": host(wireguard_variables=["wireguard_network"]),
    }
    error = plan_error(inventory(hosts))
    assert (
        str(error.problems[0]) == "host alpha: wireguard_endpiont: unknown variable; did you mean wireguard_endpoint?"
    )


def test_unknown_variable_on_many_hosts_is_one_problem():
    names = [f"h{i}" for i in range(8)]
    hosts = {
        name: host(wireguard_endpoint=f"{name}.example", wireguard_variables=["wireguard_routed_subnet"])
        for name in names
    }
    error = plan_error(inventory(hosts))
    assert len(error.problems) == 1
    assert error.problems[0].host == "h0"
    assert error.problems[0].message.startswith("unknown variable; did you mean wireguard_routed_subnets?")
    assert "also on 7 other host(s): h1, h2, h3, h4, h5, ..." in error.problems[0].message


def test_unknown_variable_with_nothing_close():
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_variables=["wireguard_zzzzzzzzzzzzzzzzzzzz"]),
        "bravo": host(),
    }
    assert "no known variable is close" in message_of(
        plan_error(inventory(hosts)), "alpha", "wireguard_zzzzzzzzzzzzzzzzzzzz"
    )


def test_unknown_variables_can_be_a_warning():
    values = {"wireguard_unknown_variables": "warn", "wireguard_variables": ["wireguard_hubb"]}
    hosts = {"alpha": host(wireguard_endpoint="a.example", **values), "bravo": host(wireguard_unknown_variables="warn")}
    warnings = plan.build(inventory(hosts))[1]
    assert "host alpha: wireguard_hubb: unknown variable; did you mean wireguard_hub?" in warnings


def test_unknown_variables_mode_is_checked():
    hosts = {
        "alpha": host(wireguard_endpoint="a.example", wireguard_unknown_variables="ignore"),
        "bravo": host(wireguard_unknown_variables="ignore"),
    }
    assert "is not one of fail, warn" in message_of(
        plan_error(inventory(hosts)), "alpha", "wireguard_unknown_variables"
    )


def test_known_variables_are_the_role_options_and_the_plan_playbook_extra_vars():
    import yaml

    specs_file = Path(__file__).resolve().parents[5] / "roles" / "wireguard" / "meta" / "argument_specs.yml"
    options = yaml.safe_load(specs_file.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert sorted(inventory_mod.KNOWN_VARIABLES) == sorted(options)
    plan_playbook = (specs_file.parents[3] / "playbooks" / "plan.yml").read_text(encoding="utf-8")
    for name in inventory_mod.PLAYBOOK_VARIABLES:
        assert name in plan_playbook


# decommissioning


def test_every_hub_absent():
    hosts = {
        "hub-a": host(wireguard_topology="hub_spoke", wireguard_hub=True, wireguard_state="absent"),
        "hub-b": host(wireguard_topology="hub_spoke", wireguard_hub=True, wireguard_state="absent"),
        "spoke": host(wireguard_topology="hub_spoke", wireguard_endpoint="s.example"),
    }
    message = message_of(plan_error(inventory(hosts)), "hub-a", "wireguard_state")
    assert message.startswith("every hub is absent: hub-a, hub-b;")


# all of the above together


def test_new_mistake_classes_come_back_together():
    derived = keys.public_key_pure(PRIVATE_A)
    hosts = {
        "alpha": host(wireguard_endpoint="192.168.1.5", wireguard_via_exit_node=["x"]),
        "bravo": host(wireguard_endpoint="b.example", wireguard_routed_subnets=["192.168.1.0/24"], wireguard_mtu=100),
        "charlie": host(
            wireguard_endpoint="b.example", wireguard_public_key=KEY_B, wireguard_private_key_public=derived
        ),
        "delta": host(wireguard_dns=[INJECTED], wireguard_psk_secret_set=True, wireguard_psk_secret_length=3),
        "echo": host(wireguard_variables=["wireguard_endpiont"], wireguard_interface="."),
    }
    error = plan_error(inventory(hosts))
    assert {(p.host, p.variable) for p in error.problems} == {
        ("alpha", "wireguard_via_exit_node"),
        ("bravo", "wireguard_routed_subnets"),
        ("bravo", "wireguard_mtu"),
        ("charlie", "wireguard_endpoint"),
        ("charlie", "wireguard_public_key"),
        ("delta", "wireguard_dns"),
        ("delta", "wireguard_psk_secret"),
        ("echo", "wireguard_endpiont"),
        ("echo", "wireguard_interface"),
    }


# -- fuzz: any JSON-ish value for any input variable is a PlanError or a plan, never another exception --------

SAMPLE_STRINGS = [
    NET,
    NET6,
    "10.99.0.5",
    "fd00:99::5",
    "192.168.1.0/24",
    "0.0.0.0/0",
    "a.example",
    "a.example:51820",
    "[2001:db8::1]:51820",
    "2001:db8::1",
    "udp://a:1",
    "mesh",
    "hub_spoke",
    "present",
    "absent",
    "warn",
    "fail",
    "alpha",
    "bravo",
    "phone",
    "true",
    "no",
    "off",
    "auto",
    "0xca6c",
    "1420",
    "wg0",
    "..",
    "",
    KEY_A,
    KEY_B,
    "a\nb",
]


def json_values():
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**40), max_value=2**40)
        | st.floats(allow_nan=False)
        | st.text(max_size=12)
        | st.sampled_from(SAMPLE_STRINGS)
    )
    keys_ = st.sampled_from(
        [
            "name",
            "connect_to",
            "address",
            "dns",
            "allowed_ips",
            "state",
            "via_exit_node",
            "persistent_keepalive",
            "bogus",
        ]
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(keys_ | st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=8,
    )


@st.composite
def fuzzed_inventories(draw):
    variables = list(inventory_mod.INPUT_VARIABLES)
    hosts = {}
    for name in draw(st.lists(st.sampled_from(["alpha", "bravo", "charlie"]), min_size=1, max_size=3, unique=True)):
        values = {"wireguard_network": NET}
        for variable in draw(st.lists(st.sampled_from(variables), max_size=6, unique=True)):
            values[variable] = draw(json_values())
        hosts[name] = values
    return inventory(hosts, {"wireguard": list(hosts), "site": ["alpha", "bravo"]})


@settings(max_examples=300)
@given(fuzzed_inventories())
def test_any_value_of_any_variable_is_a_plan_error_or_a_plan(inv):
    try:
        planner, warnings = plan.build(inv)
    except PlanError as exc:
        assert exc.problems
        assert all(isinstance(p.message, str) and p.host and p.variable for p in exc.problems)
        return
    planner.all()
    assert all(isinstance(w, str) for w in warnings)


def test_short_psk_secret_from_the_group_vars_is_reported_once():
    values = {"wireguard_psk_secret_set": True, "wireguard_psk_secret_length": 8}
    hosts = {name: host(wireguard_endpoint=f"{name}.example", **values) for name in ("alpha", "bravo", "charlie")}
    error = plan_error(inventory(hosts))
    assert [str(p) for p in error.problems] == [
        "host alpha: wireguard_psk_secret: is 8 characters long, shorter than the 16 it needs; make a longer one "
        "(openssl rand -base64 32) and vault it (also on 2 other host(s): bravo, charlie)"
    ]


@pytest.mark.parametrize("domain", ["wg", "wg.example.net", "mesh-1.internal", ""])
def test_wireguard_domain_accepts_dns_domains_and_empty(domain):
    hosts = {"alpha": host(wireguard_domain=domain, wireguard_endpoint="a.example"), "bravo": host()}
    assert plan.plan_all(inventory(hosts))


@pytest.mark.parametrize("domain", ["wg.", "my domain", "-wg", "10.0.0.1", "a..b"])
def test_wireguard_domain_refuses_what_is_not_a_dns_domain(domain):
    hosts = {"alpha": host(wireguard_domain=domain, wireguard_endpoint="a.example"), "bravo": host()}
    assert_reported(plan_error(inventory(hosts)), "alpha", "wireguard_domain", "is not a DNS domain")
