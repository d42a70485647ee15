"""The whole-fleet pass (plugins/module_utils/_wireguard/fleet.py) and the fleet state's promises
(plugins/module_utils/_wireguard/fleet_state.py): recorded addresses never move by accident, one run at a time,
per-host slices that hold exactly the host's plan."""

import json
import multiprocessing
import os
import time

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state, keys, plan
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.fleet import plan_fleet, write_slices

PUBLIC = {name: keys.public_key(keys.encode_key(bytes([i + 1]) * 32)) for i, name in enumerate("abcde")}


def inventory(names, network="10.99.0.0/24", **extra):
    hosts = {
        n: {"wireguard_network": network, "wireguard_endpoint": f"{n}.example.net", **extra.get(n, {})} for n in names
    }
    return {"hosts": hosts, "groups": {"wireguard": list(names)}}


def recorded(fleet):
    return json.loads(fleet.after)


def test_first_run_allocates_and_records_keys_from_the_play():
    fleet = plan_fleet(inventory("abc"), fleet_state.empty_state(), {"a": PUBLIC["a"]})
    state = recorded(fleet)
    assert set(state["hosts"]) == {"a", "b", "c"}
    assert state["hosts"]["a"]["public_key"] == PUBLIC["a"]
    assert "public_key" not in state["hosts"]["b"]
    assert len({tuple(h["addresses"]) for h in state["hosts"].values()}) == 3
    assert fleet.changed
    assert fleet.allocations_made() == {n: state["hosts"][n]["addresses"] for n in "abc"}


def test_a_second_run_with_the_same_inputs_changes_nothing():
    first = plan_fleet(inventory("abc"), fleet_state.empty_state(), {"a": PUBLIC["a"]})
    second = plan_fleet(inventory("abc"), recorded(first), {})
    assert not second.changed
    assert second.allocations_made() == {}


def test_a_changed_network_is_refused_naming_every_moved_host_with_old_and_new_address():
    first = plan_fleet(inventory("abc"), fleet_state.empty_state())
    old = recorded(first)
    with pytest.raises(PlanError) as error:
        plan_fleet(inventory("abc", network="10.99.0.0/25"), old)  # a typo in the prefix length
    problems = {p.host: p for p in error.value.problems}
    assert set(problems) == {"a", "b", "c"}
    for name, problem in problems.items():
        assert problem.variable == "wireguard_network"
        assert old["hosts"][name]["addresses"][0] in problem.message
        assert "wireguard_renumber=true" in problem.message


def test_renumbering_on_purpose_moves_the_addresses():
    old = recorded(plan_fleet(inventory("ab"), fleet_state.empty_state()))
    fleet = plan_fleet(inventory("ab", network="10.98.0.0/24"), old, renumber=True)
    assert all(a.startswith("10.98.0.") for h in recorded(fleet)["hosts"].values() for a in h["addresses"])


def test_pinning_an_address_is_on_purpose_and_not_a_move():
    old = recorded(plan_fleet(inventory("ab"), fleet_state.empty_state()))
    fleet = plan_fleet(inventory("ab", a={"wireguard_address": "10.99.0.200"}), old)
    assert "addresses" not in recorded(fleet)["hosts"].get("a", {})
    assert recorded(fleet)["hosts"]["b"] == old["hosts"]["b"]


def test_adding_a_host_never_moves_another():
    old = recorded(plan_fleet(inventory("ac"), fleet_state.empty_state()))
    fleet = plan_fleet(inventory("abc"), old)
    new = recorded(fleet)["hosts"]
    assert new["a"] == old["hosts"]["a"] and new["c"] == old["hosts"]["c"]
    assert new["b"]["addresses"] not in (old["hosts"]["a"]["addresses"], old["hosts"]["c"]["addresses"])


def test_slices_hold_each_hosts_plan_and_absent_hosts(tmp_path):
    inv = inventory("abcd", d={"wireguard_state": "absent"})
    fleet = plan_fleet(inv, fleet_state.empty_state(), PUBLIC)
    written = write_slices(fleet, str(tmp_path), ["a", "b", "d"])
    assert written == 3
    assert sorted(os.listdir(tmp_path)) == [
        "a.json",
        "a.names.json",
        "a.peers.json",
        "b.json",
        "b.names.json",
        "b.peers.json",
        "d.json",
    ]
    expected = plan.plan_all(inv, {"hosts": {n: {"public_key": PUBLIC[n]} for n in "abc"}})[0]["a"]
    header = json.loads((tmp_path / "a.json").read_text())
    peers = json.loads((tmp_path / "a.peers.json").read_text())
    assert header["state"] == "present"
    assert header["peer_count"] == len(peers) == 2
    assert header["public_key"] == PUBLIC["a"]
    assert [p["name"] for p in peers] == ["b", "c"]
    assert peers == [p.as_dict() for p in expected.peers]
    assert json.loads((tmp_path / "d.json").read_text()) == {"state": "absent"}
    assert (tmp_path / "a.peers.json").stat().st_size > 0


def test_names_are_the_host_and_its_peers_with_their_own_tunnel_addresses(tmp_path):
    # b routes a subnet: its name must point at its tunnel address only, never into the subnet
    inv = inventory("abc", b={"wireguard_routed_subnets": ["192.168.50.0/24"]})
    write_slices(plan_fleet(inv, fleet_state.empty_state(), PUBLIC), str(tmp_path))
    own = {n: [a.split("/")[0] for a in json.loads((tmp_path / f"{n}.json").read_text())["addresses"]] for n in "abc"}
    for host in "abc":
        names = json.loads((tmp_path / f"{host}.names.json").read_text())
        peers = [p["name"] for p in json.loads((tmp_path / f"{host}.peers.json").read_text())]
        assert [n["name"] for n in names] == [host, *peers]
        assert all(n["addresses"] == own[n["name"]] for n in names), names


def _hold_lock(path, ready, release):
    with fleet_state.locked(path):
        ready.set()
        release.wait(10)


def test_a_second_run_waits_for_the_lock_then_gives_up_with_a_clear_message(tmp_path):
    path = str(tmp_path / "state" / "wireguard.json")
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        start = time.monotonic()
        with (
            pytest.raises(fleet_state.StateLockedError, match="another run holds the lock"),
            fleet_state.locked(path, timeout=0.5),
        ):
            pass
        assert time.monotonic() - start >= 0.5
    finally:
        release.set()
        holder.join(10)
    with fleet_state.locked(path, timeout=1):  # free again once the holder is done
        pass
    assert os.listdir(tmp_path / "state") == []  # the lock leaves no file behind


def test_a_read_only_run_creates_no_state_directory(tmp_path):
    path = tmp_path / "missing" / "wireguard.json"
    with fleet_state.locked(str(path), create=False):
        pass
    assert not path.parent.exists()


def _add_host(path, name, key, queue, lock=True):
    """One `--limit <name>` run: under the lock, read the state, plan with the key read from its host, write."""
    with fleet_state.locked(path) if lock else open(os.devnull):
        old = fleet_state.load(path)
        time.sleep(0.3)  # without the lock both runs would read the same old state here
        fleet = plan_fleet(inventory("abc"), old, {name: key})
        fleet_state.write_atomic(path, fleet.after)
    queue.put(name)


def _race(path, lock):
    fleet_state.write_atomic(path, plan_fleet(inventory("abc"), fleet_state.empty_state()).after)
    queue = multiprocessing.Queue()
    runs = [multiprocessing.Process(target=_add_host, args=(path, n, PUBLIC[n], queue, lock)) for n in "bc"]
    for run in runs:
        run.start()
    for run in runs:
        run.join(20)
    assert sorted(queue.get(timeout=1) for _run in runs) == ["b", "c"]
    return fleet_state.load(path)["hosts"]


def test_two_runs_adding_different_hosts_at_once_both_land_in_the_state(tmp_path):
    hosts = _race(str(tmp_path / "wireguard.json"), lock=True)
    assert hosts["b"]["public_key"] == PUBLIC["b"]
    assert hosts["c"]["public_key"] == PUBLIC["c"]
    assert len({tuple(h["addresses"]) for h in hosts.values()}) == 3


def test_without_the_lock_the_same_race_loses_a_key(tmp_path):
    """The control for the test above: the race is real, so the lock is what makes it pass."""
    hosts = _race(str(tmp_path / "wireguard.json"), lock=False)
    assert [n for n in "bc" if "public_key" in hosts[n]] in (["b"], ["c"])
