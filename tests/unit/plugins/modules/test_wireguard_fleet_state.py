"""wireguard_fleet_state's main() in-process, with its state file under tmp_path.

The inventory is built as the module's EXAMPLES build it, through the wireguard_inventory filter from
hostvars-like dicts. Expected addresses are worked out by hand from the documented allocation rule (new
hosts in name order take the lowest free host offset of the network), not read back from the planner.
fleet_state.py's load errors, file mode and rendering, which tests/unit/plugins/module_utils/_wireguard/test_fleet.py
does not cover, are checked here through the module.
"""

import base64
import json
import os
import stat
from unittest import mock

import nacl.public
import pytest
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.filter.wireguard import FilterModule
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state
from ansible_collections.wgops.fleet.plugins.modules import wireguard_fleet_state

NET = "10.99.0.0/24"
NOTE = "wgops.fleet fleet state: public keys and allocated tunnel addresses only. Commit it with the inventory."
PRIVATE = {name: base64.b64encode(bytes([i + 1]) * 32).decode() for i, name in enumerate(["alpha", "bravo", "charlie"])}
PUBLIC = {
    name: base64.b64encode(bytes(nacl.public.PrivateKey(base64.b64decode(key)).public_key)).decode()
    for name, key in PRIVATE.items()
}
PSK_SECRET = "a vaulted secret of some length"
inventory_filter = FilterModule().filters()["wireguard_inventory"]


def hostvars(names=("alpha", "bravo", "charlie"), **extra):
    """What Ansible's hostvars hold for the group: the network, an endpoint, and non-WireGuard noise."""
    return {
        name: {
            "ansible_host": f"192.0.2.{index + 10}",
            "inventory_hostname": name,
            "wireguard_network": NET,
            "wireguard_endpoint": f"{name}.example.net",
            **extra.get(name, {}),
        }
        for index, name in enumerate(names)
    }


def inventory(names=("alpha", "bravo", "charlie"), **extra):
    variables = hostvars(names, **extra)
    return inventory_filter({"all": list(names), "ungrouped": [], "wireguard": list(names)}, variables)


def run(path, inv, public_keys=None, check_mode=False, diff=False, **args):
    module_args = {"path": str(path), "inventory": inv, **args}
    if public_keys is not None:
        module_args["public_keys"] = public_keys
    return module_runner.run_module(
        wireguard_fleet_state.main, module_args, [], check_mode=check_mode, diff=diff, mask_no_log=False
    )


def on_disk(path):
    return json.loads(path.read_text())


def stamp(path):
    info = os.stat(path)
    return path.read_bytes(), info.st_ino, info.st_mtime_ns


@pytest.fixture
def path(tmp_path):
    return tmp_path / "inventory" / ".fleet_state" / "wireguard.json"


def test_first_run_records_keys_and_allocated_addresses(path):
    result, failed = run(path, inventory(), {"alpha": PUBLIC["alpha"], "bravo": None})
    assert not failed and result["changed"] is True
    expected = {
        "_comment": NOTE,
        "version": 1,
        "hosts": {
            "alpha": {"public_key": PUBLIC["alpha"], "addresses": ["10.99.0.1/24"]},
            "bravo": {"addresses": ["10.99.0.2/24"]},
            "charlie": {"addresses": ["10.99.0.3/24"]},
        },
    }
    assert on_disk(path) == expected
    assert result["state"] == expected
    # sorted and indented so it diffs well in git, one trailing newline
    assert path.read_text() == json.dumps(expected, indent=2, sort_keys=True) + "\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # public data
    assert os.listdir(path.parent) == ["wireguard.json"]  # no temporary file left behind


def test_the_hosts_without_a_key_are_warned_about(path):
    result, failed = run(path, inventory(), {"alpha": PUBLIC["alpha"]})
    assert not failed
    expected = "no public key known yet for bravo, charlie: peers are configured once those hosts are converged"
    assert result["warnings_list"] == [expected]
    assert result["warnings"] == [expected]  # shown through module.warn too


def test_a_second_run_with_the_same_inputs_changes_nothing(path):
    run(path, inventory(), PUBLIC)
    before = stamp(path)
    result, failed = run(path, inventory(), PUBLIC)
    assert not failed
    assert result["changed"] is False
    assert result["warnings_list"] == []
    assert stamp(path) == before  # not even rewritten
    assert result["state"] == on_disk(path)


def test_keys_of_hosts_outside_the_play_are_kept_as_recorded(path):
    run(path, inventory(), PUBLIC)
    before = stamp(path)
    for keys in ({}, {"bravo": PUBLIC["bravo"]}, {"alpha": None, "charlie": ""}):
        result, failed = run(path, inventory(), keys)
        assert not failed and result["changed"] is False
        assert {n: h["public_key"] for n, h in result["state"]["hosts"].items()} == PUBLIC
    assert stamp(path) == before


def test_a_new_key_read_from_a_host_replaces_the_recorded_one(path):
    run(path, inventory(), PUBLIC)
    before = stamp(path)
    result, failed = run(path, inventory(), {"bravo": "not a key"})
    # a key that is not 32 bytes of base64 is refused, naming the host, the variable and where it came from
    assert failed and result["problems"] == [
        "host bravo: wireguard_public_key: the key given for bravo in public_keys must be 44 base64 characters "
        "ending in '=' (32 bytes); a public key is what `wg pubkey` prints: correct what supplies it"
    ]
    assert stamp(path) == before
    new_bravo = base64.b64encode(bytes(nacl.public.PrivateKey(bytes([9]) * 32).public_key)).decode()
    result, failed = run(path, inventory(), {"bravo": new_bravo})
    assert not failed and result["changed"] is True
    assert on_disk(path)["hosts"]["bravo"] == {"public_key": new_bravo, "addresses": ["10.99.0.2/24"]}
    assert on_disk(path)["hosts"]["alpha"]["public_key"] == PUBLIC["alpha"]


def test_a_malformed_key_in_the_state_file_is_blamed_on_the_state_file(path):
    """Only keys given to this run are blamed on public_keys; a hand-edited recorded key on the state file."""
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"hosts": {"alpha": {"public_key": "short"}}}))
    result, failed = run(path, inventory(), {"bravo": PUBLIC["bravo"]})
    assert failed and result["problems"] == [
        "host alpha: wireguard_public_key: the key recorded in the fleet state must be 44 base64 characters "
        "ending in '=' (32 bytes); delete it there and converge the host to record it again"
    ]
    result, failed = run(path, inventory(), {"alpha": PUBLIC["alpha"]})  # a good key read from the host wins
    assert not failed and on_disk(path)["hosts"]["alpha"]["public_key"] == PUBLIC["alpha"]


def test_check_mode_returns_the_new_state_and_writes_nothing(path):
    result, failed = run(path, inventory(), PUBLIC, check_mode=True)
    assert not failed and result["changed"] is True
    assert sorted(result["state"]["hosts"]) == ["alpha", "bravo", "charlie"]
    assert result["state"]["hosts"]["charlie"] == {"public_key": PUBLIC["charlie"], "addresses": ["10.99.0.3/24"]}
    assert not path.exists()


def test_check_mode_leaves_an_existing_state_alone(path):
    run(path, inventory(("alpha", "bravo")), PUBLIC)
    before = stamp(path)
    result, failed = run(path, inventory(), PUBLIC, check_mode=True)
    assert not failed and result["changed"] is True
    assert result["state"]["hosts"]["charlie"]["addresses"] == ["10.99.0.3/24"]
    assert stamp(path) == before


def test_check_mode_creates_no_state_directory(path):
    result, failed = run(path, inventory(), PUBLIC, check_mode=True)
    assert not failed and result["changed"] is True
    assert not path.parent.exists() and not path.parent.parent.exists()


def test_the_diff_is_the_state_file_before_and_after(path):
    result, failed = run(path, inventory(("alpha", "bravo")), PUBLIC, diff=True)
    assert not failed
    empty = json.dumps({"_comment": NOTE, "hosts": {}, "version": 1}, indent=2, sort_keys=True) + "\n"
    assert result["diff"] == {
        "before": empty,
        "after": path.read_text(),
        "before_header": str(path),
        "after_header": str(path),
    }
    first = path.read_text()
    result, failed = run(path, inventory(), PUBLIC, check_mode=True, diff=True)
    assert not failed
    assert result["diff"]["before"] == first
    after = json.loads(result["diff"]["after"])
    assert after["hosts"]["charlie"] == {"public_key": PUBLIC["charlie"], "addresses": ["10.99.0.3/24"]}
    assert after["hosts"]["alpha"] == json.loads(first)["hosts"]["alpha"]


def test_absent_hosts_and_hosts_that_left_the_group_are_dropped(path):
    run(path, inventory(), PUBLIC)
    result, failed = run(path, inventory(charlie={"wireguard_state": "absent"}), {})
    assert not failed and result["changed"] is True
    assert sorted(on_disk(path)["hosts"]) == ["alpha", "bravo"]
    result, failed = run(path, inventory(("alpha",)), {})
    assert not failed and result["changed"] is True
    assert on_disk(path)["hosts"] == {"alpha": {"public_key": PUBLIC["alpha"], "addresses": ["10.99.0.1/24"]}}


def test_a_new_host_takes_a_free_address_and_moves_nobody(path):
    run(path, inventory(("alpha", "charlie")), PUBLIC)
    assert on_disk(path)["hosts"]["charlie"]["addresses"] == ["10.99.0.2/24"]
    result, failed = run(path, inventory(), PUBLIC)
    assert not failed and result["changed"] is True
    hosts = on_disk(path)["hosts"]
    assert (hosts["alpha"]["addresses"], hosts["bravo"]["addresses"], hosts["charlie"]["addresses"]) == (
        ["10.99.0.1/24"],
        ["10.99.0.3/24"],  # .2 stays charlie's although bravo sorts first
        ["10.99.0.2/24"],
    )


def test_a_pinned_address_is_not_recorded(path):
    result, failed = run(path, inventory(bravo={"wireguard_address": "10.99.0.200"}), PUBLIC)
    assert not failed and result["state"] == on_disk(path)
    hosts = on_disk(path)["hosts"]
    assert hosts["bravo"] == {"public_key": PUBLIC["bravo"]}
    assert (hosts["alpha"]["addresses"], hosts["charlie"]["addresses"]) == (["10.99.0.1/24"], ["10.99.0.2/24"])


def test_moving_recorded_addresses_is_refused_unless_renumber(path):
    run(path, inventory(), PUBLIC)
    before = stamp(path)
    moved = inventory(**{n: {"wireguard_network": "10.98.0.0/24"} for n in ("alpha", "bravo", "charlie")})
    result, failed = run(path, moved, {})
    assert failed
    assert result["msg"].startswith("the WireGuard inventory has 3 problem(s):")
    assert len(result["problems"]) == 3
    for problem, (name, offset) in zip(result["problems"], [("alpha", 1), ("bravo", 2), ("charlie", 3)]):
        assert problem.startswith(f"host {name}: wireguard_network: the fleet state records 10.99.0.{offset}/24 ")
        assert f"would move it to 10.98.0.{offset}/24" in problem
    assert stamp(path) == before
    result, failed = run(path, moved, {}, renumber=True)
    assert not failed and result["changed"] is True
    assert [h["addresses"] for h in on_disk(path)["hosts"].values()] == [
        ["10.98.0.1/24"],
        ["10.98.0.2/24"],
        ["10.98.0.3/24"],
    ]


def test_inventory_problems_fail_naming_host_and_variable_and_write_nothing(path):
    bad = inventory(bravo={"wireguard_port": 70000}, charlie={"wireguard_endpont": "typo.example.net"})
    result, failed = run(path, bad, PUBLIC)
    assert failed
    assert any(p.startswith("host bravo: wireguard_port: ") for p in result["problems"])
    assert any(p.startswith("host charlie: wireguard_endpont") for p in result["problems"])
    for problem in result["problems"]:
        assert f"  - {problem}" in result["msg"]
    assert not path.exists()


def test_the_state_holds_no_secret(path):
    """Private keys and the preshared-key secret in hostvars: only the derived public keys are recorded."""
    extra = {n: {"wireguard_private_key": PRIVATE[n], "wireguard_psk_secret": PSK_SECRET} for n in PRIVATE}
    result, failed = run(path, inventory(**extra), {})
    assert not failed
    assert {n: h["public_key"] for n, h in on_disk(path)["hosts"].items()} == PUBLIC
    for text in (path.read_text(), json.dumps(result)):
        for secret in (*PRIVATE.values(), PSK_SECRET):
            assert secret not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "Expecting property name enclosed in double quotes"),
        ("[]", "is not a wgops.fleet state file (expected an object with 'hosts')"),
        ('{"hosts": []}', "is not a wgops.fleet state file (expected an object with 'hosts')"),
        ('{"version": 2, "hosts": {}}', "was written by a newer wgops.fleet (state version 2)"),
    ],
    ids=["not-json", "a-list", "hosts-a-list", "newer"],
)
def test_an_unusable_state_file_fails_naming_it_and_is_left_alone(path, content, message):
    path.parent.mkdir(parents=True)
    path.write_text(content)
    result, failed = run(path, inventory(), PUBLIC)
    assert failed
    assert result["msg"].startswith(f"fleet state {path}: ")
    assert message in result["msg"]
    assert path.read_text() == content


ENTRY_FIX = "correct it by hand, or delete the host's entry to have it recorded again on the next run"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": "2", "hosts": {}}', '"version" is "2", not a state version number; set it to the number 1 '),
        ('{"version": null, "hosts": {}}', '"version" is null, not a state version number; set it to the number 1 '),
        ('{"version": true, "hosts": {}}', '"version" is a boolean, not a state version number; '),
        (
            '{"hosts": {"alpha": null}}',
            'host alpha: the entry is null, expected an object such as {"public_key": "...", '
            f'"addresses": ["10.0.0.5/24"]}}; {ENTRY_FIX}',
        ),
        (
            '{"hosts": {"alpha": "10.99.0.5/24"}}',
            "host alpha: the entry is a string, expected an object such as {",
        ),
        (
            '{"hosts": {"alpha": {"addresses": {"v4": "10.99.0.5/24"}}}}',
            f'host alpha: "addresses" is an object, expected a list of strings such as ["10.0.0.5/24"]; {ENTRY_FIX}',
        ),
        (
            '{"hosts": {"alpha": {"addresses": [5]}}}',
            f'host alpha: "addresses" holds something other than strings, expected strings such as "10.0.0.5/24"; '
            f"{ENTRY_FIX}",
        ),
    ],
    ids=[
        "version-a-string",
        "version-null",
        "version-a-boolean",
        "entry-null",
        "entry-a-string",
        "addresses-an-object",
        "addresses-a-number",
    ],
)
def test_a_hand_edited_state_file_of_the_wrong_types_fails_cleanly(path, content, message):
    path.parent.mkdir(parents=True)
    path.write_text(content)
    result, failed = run(path, inventory(), PUBLIC)
    assert failed
    assert result["msg"].startswith(f"fleet state {path}: {path}: {message}")
    assert path.read_text() == content


def test_a_recorded_address_given_as_a_string_is_refused_with_the_fix(path):
    """Not split into characters ('1, 0, ., 9, ...') by the address-move check: refused when loading."""
    path.parent.mkdir(parents=True)
    path.write_text('{"hosts": {"alpha": {"addresses": "10.99.0.5/24"}}}')
    result, failed = run(path, inventory(("alpha",)), PUBLIC)
    assert failed
    assert result["msg"] == (
        f'fleet state {path}: {path}: host alpha: "addresses" is the string "10.99.0.5/24", expected a list: '
        'write ["10.99.0.5/24"]'
    )
    assert "1, 0, ., 9, 9" not in json.dumps(result)


def test_null_addresses_and_version_1_are_accepted(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "hosts": {"alpha": {"addresses": null}, "bravo": {"addresses": []}}}')
    result, failed = run(path, inventory(("alpha", "bravo")), PUBLIC)
    assert not failed and result["changed"] is True
    assert on_disk(path)["hosts"]["alpha"]["addresses"] == ["10.99.0.1/24"]


def test_a_state_without_version_or_hosts_is_an_empty_state(path):
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    result, failed = run(path, inventory(("alpha",)), PUBLIC)
    assert not failed and result["changed"] is True
    assert on_disk(path) == {
        "_comment": NOTE,
        "version": 1,
        "hosts": {"alpha": {"public_key": PUBLIC["alpha"], "addresses": ["10.99.0.1/24"]}},
    }


def test_a_run_holding_the_lock_makes_this_one_wait_then_fail(path):
    original = fleet_state.locked
    patches = [mock.patch.object(fleet_state, "locked", lambda p, **kw: original(p, timeout=0.3, **kw))]
    with original(str(path)):  # another run (flock locks differ per open file, so this conflicts in-process too)
        result, failed = module_runner.run_module(
            wireguard_fleet_state.main,
            {"path": str(path), "inventory": inventory(), "public_keys": PUBLIC},
            patches,
            mask_no_log=False,
        )
    assert failed
    assert result["msg"].startswith(f"fleet state {path}: another run holds the lock on the fleet state {path.parent}")
    assert not path.exists()
    result, failed = run(path, inventory(), PUBLIC)  # released: the next run goes through
    assert not failed and path.exists()


def test_the_state_is_read_and_written_under_the_lock(path):
    """The load, the plan and the write all happen inside locked(): a second run cannot read in between."""
    events = []
    original_locked, original_load, original_write = fleet_state.locked, fleet_state.load, fleet_state.write_atomic
    held = []

    class Tracking:
        def __init__(self, p, **kw):
            self.inner = original_locked(p, **kw)

        def __enter__(self):
            self.inner.__enter__()
            held.append(True)
            events.append("lock")

        def __exit__(self, *exc):
            events.append("unlock")
            held.pop()
            return self.inner.__exit__(*exc)

    def load(p):
        events.append(("load", bool(held)))
        return original_load(p)

    def write(p, text):
        events.append(("write", bool(held)))
        return original_write(p, text)

    patches = [
        mock.patch.object(fleet_state, "locked", Tracking),
        mock.patch.object(fleet_state, "load", load),
        mock.patch.object(fleet_state, "write_atomic", write),
    ]
    result, failed = module_runner.run_module(
        wireguard_fleet_state.main, {"path": str(path), "inventory": inventory()}, patches, mask_no_log=False
    )
    assert not failed and result["changed"] is True
    assert events == ["lock", ("load", True), ("write", True), "unlock"]


def test_a_relative_path_is_locked_and_written_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, failed = run("wireguard.json", inventory(("alpha",)), PUBLIC)
    assert not failed and result["changed"] is True
    assert on_disk(tmp_path / "wireguard.json")["hosts"]["alpha"]["addresses"] == ["10.99.0.1/24"]
