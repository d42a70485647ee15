"""Reachability as an invariant: WireGuard cryptokey routing simulated over random plans.

For every ordered pair the topology says can talk (mesh: linked pairs; hub_spoke: every two hosts and
clients, with their routed subnets) and every exit client's internet traffic, planner_oracle.unreachable
walks the plan hop by hop (longest prefix out, the receiver's entry for the hop must own the source in)
and both ways. The planner either delivers or names the pair; it never names a pair it delivers.
"""

import pytest
from helpers.planner_oracle import model_links, table_faults, unreachable
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import inventory as wireguard_inventory
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import plan as wireguard_plan

from .test_plan_properties import fleets


def lonely_clients(inventory):
    """Clients the rules leave with no peer at all (hub_spoke: no hub among them)."""
    return sorted(name for name, peers in model_links(inventory).items() if name.startswith("client") and not peers)


def set_network_wide(inventory, variable, value):
    for values in inventory["hosts"].values():
        values[variable] = value


@pytest.mark.parametrize("topology", ["mesh", "hub_spoke"])
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_every_intended_pair_is_delivered_both_ways_or_named(topology, data):
    inventory, state, _meta = data.draw(fleets(topologies=(topology,), extras=True))
    lonely = lonely_clients(inventory)
    try:
        planner, warnings = wireguard_plan.build(inventory, state)
    except wireguard_inventory.PlanError as exc:
        # the only refusal such fleets earn: a client that would get no peer, named by its connect_to
        assert lonely, exc
        for name in lonely:
            assert any(p.variable == f"wireguard_unmanaged_peers[{name}].connect_to" for p in exc.problems), exc
        assert all(p.variable.endswith(".connect_to") for p in exc.problems), exc
        return
    assert not lonely
    plans = planner.all()
    assert table_faults(plans) == []

    named = set(planner.unrouted_pairs())
    failed = {}
    for a, b, why in unreachable(inventory, plans):
        failed.setdefault((min(a, b), max(a, b)), why)
    for pair, why in failed.items():
        assert pair in named, f"{pair[0]} and {pair[1]} cannot talk and nothing says so: {why}"
    for pair in named:
        assert pair in failed, f"the planner names {pair} unreachable but the simulation delivers it"
    for one, two in planner.unrouted():
        assert any(f"hubs {one} and {two} do not peer" in w for w in warnings), warnings
    if topology == "mesh":
        assert not named

    # the same inventory with wireguard_unreachable_pairs: fail is refused exactly when something is named
    set_network_wide(inventory, "wireguard_unreachable_pairs", "fail")
    if named or planner.unreachable_pairs():
        with pytest.raises(wireguard_inventory.PlanError) as refused:
            wireguard_plan.build(inventory, state)
        for one, two in planner.unrouted():
            assert any(f"hubs {one} and {two} do not peer" in p.message for p in refused.value.problems)
    else:
        wireguard_plan.build(inventory, state)


@settings(max_examples=60, deadline=None)
@given(fleets(topologies=("hub_spoke",), extras=True))
def test_one_host_planned_alone_equals_its_plan_in_the_whole_with_several_hubs(fleet):
    """The extra entries of several hubs are the same whether one host or all are planned (`--limit`)."""
    inventory, state, _meta = fleet
    if lonely_clients(inventory):
        return
    plans = wireguard_plan.plan_all(inventory, state)[0]
    for name, expected in plans.items():
        cold = wireguard_plan.Planner(wireguard_inventory.load_network(inventory, state))
        assert cold.host(name) == expected
