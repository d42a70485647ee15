"""The wireguard_fleet action (plugins/action/wireguard_fleet.py): its helpers, and whole runs of
ActionModule.run() with a stand-in task and connection (the action never touches the connection).

The plan file, slices and diagrams it writes are compared with what the WireGuard filters compute for the
same inventory (plugins/filter/wireguard.py goes through plan_document, the action through LazyPlan and
write_slices: two routes to one plan), and addresses with the documented allocation rule, by hand.
"""

import base64
import json
import os
import shutil
from types import SimpleNamespace

import nacl.public
import pytest
from ansible import constants as C
from ansible.errors import AnsibleActionFail

from ansible_collections.wgops.fleet.plugins.action import wireguard_fleet as action
from ansible_collections.wgops.fleet.plugins.filter.wireguard import FilterModule
from ansible_collections.wgops.fleet.plugins.plugin_utils._wireguard import render as wireguard_render

FILTERS = FilterModule().filters()
NET = "10.99.0.0/24"
NAMES = ("alpha", "bravo", "charlie")
PRIVATE = {name: base64.b64encode(bytes([i + 1]) * 32).decode() for i, name in enumerate(NAMES)}
PUBLIC = {
    name: base64.b64encode(bytes(nacl.public.PrivateKey(base64.b64decode(key)).public_key)).decode()
    for name, key in PRIVATE.items()
}
PHONE_PUBLIC = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
SUPPORTED = ", ".join(sorted(action.ARGUMENT_SPEC))


def hostvars(names=NAMES, **extra):
    return {
        name: {
            "inventory_hostname": name,
            "wireguard_network": NET,
            "wireguard_endpoint": f"{name}.example.net",
            **extra.get(name, {}),
        }
        for name in names
    }


def task_vars(names=NAMES, play=None, **extra):
    return {
        "groups": {"all": list(names), "ungrouped": [], "wireguard": list(names)},
        "hostvars": hostvars(names, **extra),
        "ansible_play_hosts": list(names if play is None else play),
    }


class Run:
    """One ActionModule.run() with `args`; the warnings it displays are collected."""

    def __init__(self, args, variables, check_mode=False):
        task = SimpleNamespace(args=args, check_mode=check_mode, async_val=0, action="wgops.fleet.wireguard_fleet")
        connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent/not-used"))
        module = action.ActionModule(task, connection, play_context=None, loader=None, templar=None)
        self.displayed = []
        module._display = SimpleNamespace(warning=self.displayed.append)
        self.result = module.run(task_vars=variables)


@pytest.fixture
def state_file(tmp_path):
    return tmp_path / "inventory" / ".fleet_state" / "wireguard.json"


@pytest.fixture
def local_tmp(tmp_path, monkeypatch):
    """Ansible's controller temporary directory, where the slices go."""
    directory = tmp_path / "ansible-local"
    directory.mkdir()
    monkeypatch.setattr(C, "DEFAULT_LOCAL_TMP", str(directory))
    return directory


# -- _play_keys --------------------------------------------------------------------------------------------


def test_play_keys_takes_the_registered_public_key_of_each_play_host():
    variables = {
        "alpha": {"wg_key": {"changed": False, "public_key": PUBLIC["alpha"], "path": "/etc/wireguard/wg0.key"}},
        "bravo": {"wg_key": {"changed": True, "public_key": None}},  # check mode: not created yet
        "charlie": {"wg_key": "skipped"},  # not a registered result
        "delta": {},  # did not register it
        "echo": {"wg_key": {"public_key": PUBLIC["charlie"]}},  # not in the play
    }
    keys = action.ActionModule._play_keys(variables, ["alpha", "bravo", "charlie", "delta"], "wg_key")
    assert keys == {"alpha": PUBLIC["alpha"]}


# -- _write_outputs ----------------------------------------------------------------------------------------


def outputs(tmp_path, **args):
    from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state
    from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.fleet import plan_fleet

    inv = FILTERS["wireguard_inventory"]({"wireguard": list(NAMES)}, hostvars(bravo={"wireguard_hub": False}))
    fleet = plan_fleet(inv, fleet_state.empty_state(), PUBLIC)
    full = {"plan_file": None, "diagram_file": None, "table": "none", "table_hosts": None, **args}
    result = {}
    action.ActionModule._write_outputs(fleet, full, result)
    return inv, result


def test_write_outputs_plan_file_is_the_filter_plan_one_line_per_host(tmp_path):
    path = tmp_path / "plan.json"
    inv, result = outputs(tmp_path, plan_file=str(path))
    assert result == {"plan_file": str(path)}
    state = {"hosts": {n: {"public_key": PUBLIC[n]} for n in NAMES}}
    assert json.loads(path.read_text()) == FILTERS["wireguard_plan"](inv, state)
    lines = path.read_text().splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and len(lines) == 2 + len(NAMES)
    assert [line.split('"')[1] for line in lines[1:-1]] == sorted(NAMES)


def test_write_outputs_tables(tmp_path):
    _ignored, result = outputs(tmp_path, table="summary")
    assert result["table"] == [
        "alpha  wg0  10.99.0.1/24  port 51820  2 peer(s)",
        "bravo  wg0  10.99.0.2/24  port 51820  2 peer(s)",
        "charlie  wg0  10.99.0.3/24  port 51820  2 peer(s)",
    ]
    _ignored, result = outputs(tmp_path, table="summary", table_hosts=["charlie", "zulu"])
    assert result["table"] == ["charlie  wg0  10.99.0.3/24  port 51820  2 peer(s)"]
    _ignored, result = outputs(tmp_path, table="full", table_hosts=["bravo"])
    assert result["table"][0] == "bravo  wg0  10.99.0.2/24  port 51820  2 peer(s)"
    assert [row.split()[0] for row in result["table"][2:] if row] == ["alpha", "charlie"]
    _ignored, result = outputs(tmp_path, table="none")
    assert "table" not in result


@pytest.mark.parametrize(
    ("name", "first_line"),
    [("topology.mmd", "graph LR"), ("topology.dot", "graph wireguard {"), ("topology.gv", "graph wireguard {")],
)
def test_write_outputs_diagram_format_follows_the_extension(tmp_path, name, first_line):
    path = tmp_path / name
    _ignored, result = outputs(tmp_path, diagram_file=str(path))
    assert result == {"diagram_file": str(path)}
    assert path.read_text().splitlines()[0] == first_line
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)


def test_write_outputs_svg_is_drawn_by_graphviz_or_fails_saying_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "topology.svg"
    if shutil.which("dot"):
        outputs(tmp_path, diagram_file=str(path))
        assert "<svg" in path.read_text()
    monkeypatch.setattr(wireguard_render.shutil, "which", lambda name: None)
    with pytest.raises(AnsibleActionFail, match=r"^diagram_file: .*install Graphviz"):
        outputs(tmp_path, diagram_file=str(tmp_path / "other.png"))
    assert not (tmp_path / "other.png").exists()


# -- whole runs --------------------------------------------------------------------------------------------


def test_a_recording_run_writes_the_state_and_reports_what_it_allocated(state_file):
    run = Run({"state_file": str(state_file), "public_keys": PUBLIC}, task_vars())
    result = run.result
    assert result["changed"] is True and "failed" not in result
    assert result["state_file"] == str(state_file)
    assert result["hosts"] == 3 and result["absent"] == []
    assert result["allocated"] == {"alpha": ["10.99.0.1/24"], "bravo": ["10.99.0.2/24"], "charlie": ["10.99.0.3/24"]}
    assert result["warnings_list"] == [] and run.displayed == []
    recorded = json.loads(state_file.read_text())["hosts"]
    assert recorded == {n: {"public_key": PUBLIC[n], "addresses": [f"10.99.0.{i + 1}/24"]} for i, n in enumerate(NAMES)}
    assert result["diff"]["before_header"] == str(state_file) and result["diff"]["after"] == state_file.read_text()
    assert "plan_dir" not in result and "table" not in result

    again = Run({"state_file": str(state_file), "public_keys": PUBLIC}, task_vars()).result
    assert again["changed"] is False and again["allocated"] == {}
    assert again["diff"]["before"] == again["diff"]["after"]


def test_keys_from_takes_the_key_pair_results_of_the_play(state_file):
    variables = task_vars(play=["alpha", "bravo"])
    for name in ("alpha", "bravo"):
        variables["hostvars"][name]["wg_key"] = {"changed": False, "public_key": PUBLIC[name]}
    run = Run({"state_file": str(state_file), "keys_from": "wg_key"}, variables)
    assert run.result["changed"] is True
    recorded = json.loads(state_file.read_text())["hosts"]
    assert {n: h.get("public_key") for n, h in recorded.items()} == {
        "alpha": PUBLIC["alpha"],
        "bravo": PUBLIC["bravo"],
        "charlie": None,
    }
    warning = "no public key known yet for charlie: peers are configured once those hosts are converged"
    assert run.result["warnings_list"] == [warning] and run.displayed == [warning]


def test_a_malformed_key_is_blamed_on_where_it_came_from(state_file):
    variables = task_vars(play=["alpha", "bravo"])
    variables["hostvars"]["alpha"]["wg_key"] = {"changed": False, "public_key": "short"}
    variables["hostvars"]["bravo"]["wg_key"] = {"changed": False, "public_key": PUBLIC["bravo"]}
    args = {"state_file": str(state_file), "keys_from": "wg_key", "public_keys": {"charlie": "!" * 43 + "="}}
    result = Run(args, variables).result
    assert result["failed"] is True
    why = "must be 44 base64 characters ending in '=' (32 bytes)"
    assert result["problems"][0] == (
        f"host alpha: wireguard_public_key: the key registered on this host as wg_key.public_key (keys_from) {why}; "
        "a public key is what `wg pubkey` prints: correct what supplies it"
    )
    assert result["problems"][1].startswith(
        "host charlie: wireguard_public_key: the key given for charlie in public_keys is not valid base64 ("
    )
    assert len(result["problems"]) == 2 and "fleet state" not in result["msg"]
    assert not state_file.exists()


def test_a_malformed_key_of_an_unmanaged_peer_is_blamed_on_public_keys(state_file):
    clients = [{"name": "phone", "connect_to": ["alpha"]}]
    variables = task_vars(**{n: {"wireguard_unmanaged_peers": clients} for n in NAMES})
    result = Run({"state_file": str(state_file), "public_keys": {"phone": "short"}}, variables).result
    assert result["failed"] is True
    assert result["problems"] == [
        "host alpha: wireguard_unmanaged_peers[phone].public_key: the key given for phone in public_keys must be 44 "
        "base64 characters ending in '=' (32 bytes); a public key is what `wg pubkey` prints: correct what supplies it"
    ]
    assert not state_file.exists()


def test_warn_false_keeps_the_warnings_in_the_result_only(state_file):
    run = Run({"state_file": str(state_file), "warn": False}, task_vars())
    assert run.displayed == []
    assert run.result["warnings_list"] == [
        "no public key known yet for alpha, bravo, charlie: peers are configured once those hosts are converged"
    ]


def test_record_false_validates_and_plans_only_and_creates_nothing(state_file):
    run = Run({"state_file": str(state_file), "record": False}, task_vars())
    result = run.result
    assert result["changed"] is False
    assert result["allocated"] == {"alpha": ["10.99.0.1/24"], "bravo": ["10.99.0.2/24"], "charlie": ["10.99.0.3/24"]}
    assert "diff" not in result
    assert not state_file.parent.exists()  # not even the directory, to lock


def test_check_mode_predicts_the_change_and_creates_nothing(state_file):
    run = Run({"state_file": str(state_file)}, task_vars(), check_mode=True)
    assert run.result["changed"] is True
    assert json.loads(run.result["diff"]["after"])["hosts"]["charlie"] == {"addresses": ["10.99.0.3/24"]}
    assert not state_file.parent.exists()


def test_absent_hosts_are_reported_and_dropped_from_the_state(state_file):
    Run({"state_file": str(state_file), "public_keys": PUBLIC}, task_vars())
    run = Run({"state_file": str(state_file)}, task_vars(charlie={"wireguard_state": "absent"}))
    assert run.result["changed"] is True
    assert run.result["absent"] == ["charlie"] and run.result["hosts"] == 2
    assert sorted(json.loads(state_file.read_text())["hosts"]) == ["alpha", "bravo"]


def test_slices_hold_each_play_hosts_plan(state_file, local_tmp):
    clients = [{"name": "phone", "connect_to": ["alpha"], "public_key": PHONE_PUBLIC}]
    extra = {n: {"wireguard_unmanaged_peers": clients} for n in NAMES}
    extra["charlie"]["wireguard_state"] = "absent"
    variables = task_vars(play=["bravo", "charlie"], **extra)
    result = Run({"state_file": str(state_file), "slices": True, "public_keys": PUBLIC}, variables).result
    plan_dir = result["plan_dir"]
    assert os.path.dirname(plan_dir) == str(local_tmp)
    assert oct(os.stat(plan_dir).st_mode & 0o777) == oct(0o700)  # a private directory: mkdtemp's
    # the play's hosts (charlie absent: no peers file) and every unmanaged peer; alpha is outside the play
    assert sorted(os.listdir(plan_dir)) == [
        "bravo.json",
        "bravo.names.json",
        "bravo.peers.json",
        "charlie.json",
        "phone.json",
        "phone.peers.json",
    ]
    assert result["slices_written"] == 3
    inv = FILTERS["wireguard_inventory"](variables["groups"], variables["hostvars"])
    state = {"hosts": {n: {"public_key": PUBLIC[n]} for n in ("alpha", "bravo")}}
    for name in ("bravo", "phone"):
        expected = FILTERS["wireguard_host_plan"](inv, state, name)
        with open(os.path.join(plan_dir, f"{name}.json")) as handle:
            header = json.load(handle)
        with open(os.path.join(plan_dir, f"{name}.peers.json")) as handle:
            peers = json.load(handle)
        assert peers == expected.pop("peers")
        assert header.pop("peer_count") == len(peers)
        assert header.pop("psk") is False
        assert header == expected
    with open(os.path.join(plan_dir, "charlie.json")) as handle:
        assert json.load(handle) == {"state": "absent"}


def test_slices_in_check_mode_are_still_written(state_file, local_tmp):
    result = Run({"state_file": str(state_file), "slices": True}, task_vars(), check_mode=True).result
    assert result["slices_written"] == 3 and len(os.listdir(result["plan_dir"])) == 9
    assert not state_file.exists()


def test_a_play_host_outside_the_group_fails_naming_it(state_file):
    variables = task_vars()
    variables["ansible_play_hosts"] = ["alpha", "web1", "web2"]
    with pytest.raises(AnsibleActionFail) as error:
        Run({"state_file": str(state_file)}, variables)
    assert str(error.value).startswith(
        "host web1: the wireguard role plans the hosts of group 'wireguard' and this host is not in it; "
    )
    assert "; host web2: " in str(error.value)
    assert not state_file.parent.exists()


def test_an_inventory_without_the_group_fails(state_file):
    with pytest.raises(AnsibleActionFail, match="the inventory has no group 'wg_lab'"):
        Run({"state_file": str(state_file), "group": "wg_lab"}, task_vars())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: state_file"),
        ({"table": "everything"}, "value of table must be one of: none, summary, full"),
        ({"colour": "blue"}, f"unsupported parameter colour; supported: {SUPPORTED}"),
        ({"colour": "blue", "size": 3}, f"unsupported parameters colour, size; supported: {SUPPORTED}"),
        ({"table": "everything", "colour": "blue"}, "got: everything; unsupported parameter colour; supported: "),
    ],
)
def test_bad_arguments_fail_before_anything_is_read(state_file, args, message):
    full = {"state_file": str(state_file), **args} if "state_file" not in message else args
    with pytest.raises(AnsibleActionFail) as error:
        Run(full, task_vars())
    assert str(error.value).startswith("wireguard_fleet: ") and message in str(error.value)
    assert "Supported parameters include" not in str(error.value)
    assert not state_file.parent.exists()


def test_inventory_problems_fail_the_task_with_every_problem(state_file):
    variables = task_vars(bravo={"wireguard_port": 0}, charlie={"wireguard_endpoint": "bad host name!"})
    result = Run({"state_file": str(state_file)}, variables).result
    assert result["failed"] is True
    assert result["msg"].startswith("the WireGuard inventory has 2 problem(s):")
    assert [p.split(":")[0] for p in result["problems"]] == ["host bravo", "host charlie"]
    assert result["problems"][0].startswith("host bravo: wireguard_port: ")
    assert result["problems"][1].startswith("host charlie: wireguard_endpoint: ")
    assert not state_file.exists()


def test_a_changed_network_is_refused_unless_renumber(state_file):
    Run({"state_file": str(state_file)}, task_vars())
    before = state_file.read_text()
    moved = task_vars(**{n: {"wireguard_network": "10.98.0.0/24"} for n in NAMES})
    result = Run({"state_file": str(state_file)}, moved).result
    assert result["failed"] is True and len(result["problems"]) == 3
    assert "the fleet state records 10.99.0.1/24 for this host" in result["problems"][0]
    assert state_file.read_text() == before
    result = Run({"state_file": str(state_file), "renumber": True}, moved).result
    assert result["changed"] is True
    assert result["allocated"] == {"alpha": ["10.98.0.1/24"], "bravo": ["10.98.0.2/24"], "charlie": ["10.98.0.3/24"]}


def test_an_unreadable_state_file_fails_naming_it(state_file):
    state_file.parent.mkdir(parents=True)
    state_file.write_text('{"version": 9, "hosts": {}}')
    with pytest.raises(AnsibleActionFail) as error:
        Run({"state_file": str(state_file)}, task_vars())
    assert str(error.value) == (
        f"wireguard_fleet: fleet state {state_file}: {state_file} was written by a newer wgops.fleet (state version 9)"
    )


def test_a_held_lock_makes_the_run_fail_after_lock_timeout(state_file):
    from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state

    with fleet_state.locked(str(state_file)), pytest.raises(AnsibleActionFail, match="another run holds the lock"):
        Run({"state_file": str(state_file), "lock_timeout": 0}, task_vars())
    assert not state_file.exists()


def test_the_result_holds_no_secret(state_file, local_tmp, tmp_path):
    secret = "a vaulted secret of some length"
    extra = {n: {"wireguard_private_key": PRIVATE[n], "wireguard_psk_secret": secret} for n in NAMES}
    plan_file = tmp_path / "plan.json"
    args = {"state_file": str(state_file), "slices": True, "plan_file": str(plan_file), "table": "full"}
    result = Run(args, task_vars(**extra)).result
    written = [state_file.read_text(), plan_file.read_text()]
    for name in os.listdir(result["plan_dir"]):
        with open(os.path.join(result["plan_dir"], name)) as handle:
            written.append(handle.read())
    for text in (json.dumps(result), *written):
        assert secret not in text
        assert not any(key in text for key in PRIVATE.values())
    assert json.loads(state_file.read_text())["hosts"]["alpha"]["public_key"] == PUBLIC["alpha"]
