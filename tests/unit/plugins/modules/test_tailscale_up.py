"""tailscale_up against tailscale CLI output recorded from the real binaries (fixtures/tailscale/<version>)."""

import json
import os

import pytest
from helpers.tailscale_fake import (
    RECORDED_URL,
    FakeTailscale,
    recorded,
    recorded_argv,
    recorded_json,
    run_module,
)

from ansible_collections.wgops.fleet.plugins.module_utils._tailscale.cli import normalize_prefs
from ansible_collections.wgops.fleet.plugins.modules import tailscale_up

KEY = "hskey-auth-AbCdEfGhIjKl-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
SOCKET = "/run/test/tailscaled.sock"
# the settings the recorded node was enrolled with (record_fixtures.py)
ENROLLED = {
    "login_server": RECORDED_URL,
    "hostname": "it-node",
    "advertise_routes": ["10.1.0.0/16"],
    "accept_routes": False,
    "accept_dns": False,
    "ssh": False,
    "timeout": 30,
}
READS = (["status", "--json"], ["debug", "prefs"])


def args(binary, tmp_path, **extra):
    return {**ENROLLED, "binary": binary, "socket": SOCKET, "_ansible_tmpdir": str(tmp_path), **extra}


def recorded_args(name):
    """The recorded command without the binary and --socket, the key file path as a prefix pattern."""
    argv = recorded_argv(name)[2:]
    return [arg.split("file:", 1)[0] + "file:*" if arg.startswith("--auth-key=file:") else arg for arg in argv]


def test_enrolling_without_a_key_fails_naming_auth_key(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_fresh", "prefs_fresh")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path), fake)
    assert failed
    assert "auth_key is required" in result["msg"]
    assert RECORDED_URL in result["msg"] and "NeedsLogin" in result["msg"]
    assert result["needs_auth"] is True
    assert fake.changes() == []


def test_enrolling_in_check_mode_needs_no_key(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_fresh", "prefs_fresh")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path), fake, check_mode=True, diff=True)
    assert not failed
    assert result["changed"] and result["needs_auth"] and result["action"] == "enroll"
    assert fake.changes() == []
    assert result["diff"]["before"]["control_url"] is None
    after = result["diff"]["after"]
    assert after["control_url"] == RECORDED_URL
    assert after["advertise_routes"] == ["10.1.0.0/16"] and after["hostname"] == "it-node"
    assert after["accept_dns"] is False and after["want_running"] is True
    assert result["node_id"] is None


def test_enrol_runs_the_recorded_up_command_with_the_key_in_a_file(tailscale_binary, tmp_path):
    up = recorded_args("up_enroll")
    fake = (
        FakeTailscale()
        .reads("status_fresh", "prefs_fresh")
        .on(up, fixture="up_enroll")
        .reads("status_running", "prefs_running")
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, auth_key=KEY), fake, diff=True)
    assert not failed, result
    assert fake.changes() == [fake.calls[2]]
    assert fake.calls[2][:3] == ["up", "--reset", f"--login-server={RECORDED_URL}"]
    assert set(fake.sockets) == {SOCKET}
    # the key went in a 0600 file that is gone afterwards, never on the command line or in the result
    path, content, mode = fake.key_files[0]
    assert content == KEY + "\n" and mode == 0o600
    assert not os.path.exists(path)
    assert KEY not in json.dumps(fake.calls) and KEY not in json.dumps(result)
    assert path not in json.dumps(result)
    assert fake.timeouts[2] == 60  # --timeout=30s plus a margin
    status = recorded_json("status_running")
    assert result["changed"] and result["needs_auth"] and result["action"] == "enroll"
    assert result["node_id"] == status["Self"]["ID"] and result["node_id"]
    assert result["tailscale_ips"] == status["TailscaleIPs"]
    assert result["backend_state"] == "Running"
    assert result["prefs"]["control_url"] == RECORDED_URL
    assert result["diff"]["after"] == dict(result["prefs"], logged_in=True)
    assert result["diff"]["before"]["logged_in"] is False and result["logged_in"] is True


def test_a_failing_up_does_not_return_the_key(tailscale_binary, tmp_path, monkeypatch):
    monkeypatch.setattr(tailscale_up, "RECOVERY_WAIT", 0)
    rc, out, err = recorded("up_bad_key")
    assert rc != 0 and "backend error" in out + err
    fake = (
        FakeTailscale()
        .reads("status_fresh", "prefs_fresh")
        .on(["up", "*", "*", "*", "*", "*", "*", "*", "*", "*"], rc=rc, out=out, err=f"{err}\nused key {KEY}", times=2)
        .reads("status_after_bad_key", "prefs_fresh")
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, auth_key=KEY), fake)
    assert failed
    assert KEY not in json.dumps(result)
    assert "********" in result["msg"] and "backend error" in result["msg"]
    assert not os.path.exists(fake.key_files[0][0])
    # a "backend error" may be a previous login's: the node was checked, then the enrolment tried once more
    assert [call[0] for call in fake.calls] == ["status", "debug", "up", "status", "debug", "up"]
    assert fake.key_files[0] == fake.key_files[1]


def test_a_backend_error_of_an_old_login_is_recovered(tailscale_binary, tmp_path, monkeypatch):
    """`up` exits on the error of a previous (wrong key) login, but its own login goes through."""
    monkeypatch.setattr(tailscale_up, "RECOVERY_WAIT", 0)
    rc, out, err = recorded("up_bad_key")
    fake = (
        FakeTailscale()
        .reads("status_after_bad_key", "prefs_fresh")
        .on(recorded_args("up_enroll"), rc=rc, out=out, err=err)
        .reads("status_running", "prefs_running", times=2)
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, auth_key=KEY), fake)
    assert not failed, result
    assert [call[0] for call in fake.calls] == ["status", "debug", "up", "status", "debug", "status", "debug"]
    assert result["changed"] and result["backend_state"] == "Running"


def test_enrolled_node_with_the_same_settings_is_unchanged(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path), fake)
    assert not failed
    assert not result["changed"] and not result["needs_auth"] and result["action"] == "none"
    assert result["node_id"] == recorded_json("status_running")["Self"]["ID"]
    assert fake.changes() == []


def test_url_spelling_and_route_spelling_do_not_matter(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    extra = {"login_server": RECORDED_URL + "/", "advertise_routes": ["10.1.2.3/16"]}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert not failed and not result["changed"]


def test_a_key_is_not_used_when_the_node_is_enrolled(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, auth_key=KEY), fake)
    assert not failed and not result["changed"] and fake.key_files == []


def test_changed_settings_converge_with_one_recorded_set(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .reads("status_running", "prefs_running")
        .on(recorded_args("set_accept_routes"), fixture="set_accept_routes")
        .reads("status_running", "prefs_after_set")
    )
    extra = {"accept_routes": True, "advertise_routes": ["192.168.7.0/24", "10.1.0.0/16"]}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake, diff=True)
    assert not failed, result
    assert fake.changes() == [recorded_args("set_accept_routes")]
    assert result["changed"] and not result["needs_auth"] and result["action"] == "set"
    assert result["changed_settings"] == ["accept_routes", "advertise_routes"]
    assert result["diff"]["before"]["accept_routes"] is False
    assert result["diff"]["after"]["accept_routes"] is True
    assert result["prefs"]["advertise_routes"] == ["10.1.0.0/16", "192.168.7.0/24"]


def test_set_in_check_mode_changes_nothing(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    extra = {"accept_routes": True, "advertise_routes": ["192.168.7.0/24", "10.1.0.0/16"]}
    result, failed = run_module(
        tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake, check_mode=True, diff=True
    )
    assert not failed
    assert result["changed"] and result["changed_settings"] == ["accept_routes", "advertise_routes"]
    assert fake.changes() == []
    assert result["prefs"]["accept_routes"] is True  # predicted
    assert result["diff"]["after"]["advertise_routes"] == ["10.1.0.0/16", "192.168.7.0/24"]


def test_exit_node_hostname_and_dns(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .reads("status_running", "prefs_after_set")
        .on(recorded_args("set_exit_node"), fixture="set_exit_node")
        .reads("status_after_exit_node", "prefs_exit_node")
    )
    extra = {
        "accept_routes": True,
        "accept_dns": True,
        "advertise_routes": ["10.1.0.0/16", "192.168.7.0/24"],
        "advertise_exit_node": True,
        "hostname": "it-node-renamed",
    }
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert not failed, result
    assert fake.changes() == [recorded_args("set_exit_node")]
    assert result["changed_settings"] == ["accept_dns", "hostname", "advertise_exit_node"]
    assert result["prefs"]["advertise_exit_node"] is True
    assert result["prefs"]["advertise_routes"] == ["10.1.0.0/16", "192.168.7.0/24"]
    assert result["prefs"]["hostname"] == "it-node-renamed"
    # and from there, the same settings are converged
    again = FakeTailscale().reads("status_after_exit_node", "prefs_exit_node")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), again)
    assert not failed and not result["changed"]


def test_differing_tags_only_warn(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, advertise_tags=["tag:it"]), fake)
    assert not failed and not result["changed"]
    assert any("headscale_node" in warning and "tag:it" in warning for warning in result["warnings"])
    assert fake.changes() == []


def test_another_control_server_is_refused(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    other = "http://localhost:8080"
    result, failed = run_module(
        tailscale_up.main, args(tailscale_binary, tmp_path, login_server=other, auth_key=KEY), fake
    )
    assert failed
    for text in (other, RECORDED_URL, "login_server", "tailscale_allow_server_change", "allow_server_change"):
        assert text in result["msg"]
    assert fake.changes() == []


def test_allowed_server_change_logs_out_and_reauthenticates(tailscale_binary, tmp_path):
    other = "http://localhost:8080"
    up = recorded_args("up_enroll")
    up[2] = f"--login-server={other}"
    up.insert(4, "--force-reauth")
    fake = (
        FakeTailscale()
        .reads("status_running", "prefs_running")
        .on(["logout"], fixture="logout")
        .on(up, fixture="up_enroll")
        .reads("status_running", "prefs_running")
    )
    extra = {"login_server": other, "auth_key": KEY, "allow_server_change": True}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert not failed, result
    assert fake.changes()[0] == ["logout"] and fake.changes()[1][0] == "up"
    assert result["changed"] and result["needs_auth"] and result["action"] == "change_server"


def test_allowed_server_change_needs_a_key(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    extra = {"login_server": "http://localhost:8080", "allow_server_change": True}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert failed and "auth_key" in result["msg"]
    assert fake.changes() == []


def test_a_stopped_node_starts_with_a_bare_up(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .reads("status_stopped", "prefs_stopped")
        .on(["up"], fixture="up_bare")
        .reads("status_restarted", "prefs_running")
    )
    stopped = normalize_prefs(recorded_json("prefs_stopped"))
    assert not stopped["want_running"]
    keys = ("hostname", "accept_routes", "accept_dns", "advertise_routes", "advertise_exit_node")
    extra = {key: stopped[key] for key in keys}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert not failed, result
    assert recorded_json("status_stopped")["BackendState"] == "Stopped"
    assert fake.changes() == [["up"]]
    assert fake.timeouts[2] == 30
    assert result["changed"] and result["action"] == "start" and not result["needs_auth"]


def test_a_stopped_node_with_other_settings_is_set_then_started(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .reads("status_stopped", "prefs_stopped")
        .on(["set", "--ssh=true"], rc=0)
        .on(["up"], fixture="up_bare")
        .reads("status_restarted", "prefs_running")
    )
    stopped = normalize_prefs(recorded_json("prefs_stopped"))
    keys = ("hostname", "accept_routes", "accept_dns", "advertise_routes", "advertise_exit_node")
    extra = {key: stopped[key] for key in keys}
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, ssh=True, **extra), fake)
    assert not failed, result
    assert fake.changes() == [["set", "--ssh=true"], ["up"]]
    assert result["action"] == "set_start" and result["changed_settings"] == ["ssh"]


def test_logout(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running").on(["logout"], fixture="logout")
    fake.reads("status_logged_out", "prefs_logged_out")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, state="absent"), fake)
    assert not failed and result["changed"] and result["action"] == "logout"
    assert fake.changes() == [["logout"]]
    assert result["backend_state"] == "NeedsLogin" and result["prefs"]["logged_out"]


def test_logout_in_check_mode_and_when_logged_out(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(
        tailscale_up.main, args(tailscale_binary, tmp_path, state="absent"), fake, check_mode=True
    )
    assert not failed and result["changed"] and fake.changes() == []
    fake = FakeTailscale().reads("status_logged_out", "prefs_logged_out")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, state="absent"), fake)
    assert not failed and not result["changed"] and fake.changes() == []


def test_logged_out_node_needs_a_key_again(tailscale_binary, tmp_path):
    fake = FakeTailscale().reads("status_logged_out", "prefs_logged_out")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path), fake, check_mode=True)
    assert not failed and result["changed"] and result["needs_auth"]


def test_tailscaled_not_running(tailscale_binary, tmp_path):
    fake = FakeTailscale().on(["status", "--json"], fixture="status_not_running")
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path), fake)
    assert failed and "tailscaled is not running" in result["msg"] and SOCKET in result["msg"]


def test_missing_cli(tmp_path):
    fake = FakeTailscale()
    result, failed = run_module(tailscale_up.main, args(str(tmp_path / "nope"), tmp_path), fake)
    assert failed and "not installed" in result["msg"]
    result, failed = run_module(tailscale_up.main, args(str(tmp_path / "nope"), tmp_path, state="absent"), fake)
    assert not failed and not result["changed"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"advertise_routes": ["0.0.0.0/0", "::/0"]}, "advertise_exit_node"),
        ({"advertise_routes": ["10.0.0.0/99"]}, "not an IP"),
        ({"advertise_tags": ["user:it"]}, "tag:"),
        ({"login_server": "hs.example.com"}, "login_server"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_options(tailscale_binary, tmp_path, extra, message):
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), FakeTailscale())
    assert failed and message in result["msg"]


def test_ssh_risk_prompt_is_explained(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .reads("status_running", "prefs_running")
        .on(["set", "--ssh=true"], rc=1, err="aborted, no changes made\n")
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, ssh=True), fake)
    assert failed and "runs over Tailscale" in result["msg"]


def with_exit_peer(status_fixture="status_running"):
    """A recorded status with one more peer, exit1, that offers an exit node."""
    status = recorded_json(status_fixture)
    status["Peer"] = dict(status.get("Peer") or {})
    status["Peer"]["nodekey:exit1"] = {
        "ID": "9",
        "HostName": "exit1",
        "DNSName": "exit1.tailnet.example.",
        "TailscaleIPs": ["fd7a:115c:a1e0::9", "100.64.0.9"],
        "ExitNodeOption": True,
    }
    return json.dumps(status)


def prefs_using(node_id):
    prefs = recorded_json("prefs_running")
    prefs["ExitNodeID"] = node_id
    return json.dumps(prefs)


def test_an_exit_node_named_by_its_peer_name_is_set_by_address(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .on(["status", "--json"], out=with_exit_peer(), times=1)
        .on(["debug", "prefs"], fixture="prefs_running", times=1)
        .on(["set", "--exit-node=100.64.0.9"])
        .on(["status", "--json"], out=with_exit_peer(), times=1)
        .on(["debug", "prefs"], out=prefs_using("9"), times=1)
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node="exit1"), fake, diff=True)
    assert not failed, result
    assert fake.changes() == [["set", "--exit-node=100.64.0.9"]]
    assert result["changed_settings"] == ["exit_node"]
    assert result["diff"]["before"]["exit_node"] == "" and result["prefs"]["exit_node"] == "100.64.0.9"


def test_the_exit_node_in_use_by_id_is_unchanged(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .on(["status", "--json"], out=with_exit_peer(), times=None)
        .on(["debug", "prefs"], out=prefs_using("9"), times=None)
        .on(["set", "--exit-node="])
    )
    for wanted in ("exit1", "exit1.tailnet.example", "100.64.0.9"):
        result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node=wanted), fake)
        assert not failed and not result["changed"], (wanted, result)
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node=""), fake)
    assert not failed and result["changed_settings"] == ["exit_node"]
    assert fake.changes() == [["set", "--exit-node="]]


def with_exit_peer_not_offering():
    status = json.loads(with_exit_peer())
    status["Peer"]["nodekey:exit1"]["ExitNodeOption"] = False
    return json.dumps(status)


@pytest.mark.parametrize(
    ("before", "reads"),
    [
        # not among the peers yet: Headscale changes made earlier in the run (tags, approvals, policy) arrive late
        ({"fixture": "status_running"}, 3),
        # visible but not offering yet: its approval or this node's autogroup:internet grant is on its way
        ({"out": None}, 2),
    ],
)
def test_an_exit_node_that_is_offered_a_moment_later_is_waited_for(
    tailscale_binary, tmp_path, monkeypatch, before, reads
):
    monkeypatch.setattr(tailscale_up.time, "sleep", lambda seconds: None)
    before = before if before.get("fixture") else {"out": with_exit_peer_not_offering()}
    fake = (
        FakeTailscale()
        .on(["status", "--json"], **before, times=reads)
        .on(["debug", "prefs"], fixture="prefs_running", times=reads)
        .on(["status", "--json"], out=with_exit_peer(), times=2)
        .on(["debug", "prefs"], fixture="prefs_running", times=1)
        .on(["set", "--exit-node=100.64.0.9"])
        .on(["debug", "prefs"], out=prefs_using("9"), times=1)
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node="exit1"), fake)
    assert not failed, result
    assert fake.changes() == [["set", "--exit-node=100.64.0.9"]]


def test_a_peer_that_never_offers_its_exit_node_is_refused(tailscale_binary, tmp_path, monkeypatch):
    monkeypatch.setattr(tailscale_up, "EXIT_NODE_WAIT", 0)
    never = (
        FakeTailscale()
        .on(["status", "--json"], out=with_exit_peer_not_offering())
        .on(["debug", "prefs"], fixture="prefs_running")
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node="exit1"), never)
    assert failed and "the peer 'exit1' (100.64.0.9) offers this node no exit node" in result["msg"]
    assert never.changes() == []


def test_an_exit_node_no_peer_has_fails_naming_it(tailscale_binary, tmp_path, monkeypatch):
    monkeypatch.setattr(tailscale_up, "EXIT_NODE_WAIT", 0)
    fake = (
        FakeTailscale().on(["status", "--json"], out=with_exit_peer()).on(["debug", "prefs"], fixture="prefs_running")
    )
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, exit_node="exit2"), fake)
    assert failed and "no peer of this node's tailnet is named 'exit2'" in result["msg"]
    assert fake.changes() == []


def test_client_settings_converge_with_one_set(tailscale_binary, tmp_path):
    fake = (
        FakeTailscale()
        .on(["status", "--json"], fixture="status_running", times=None)
        .on(["debug", "prefs"], fixture="prefs_running", times=None)
    )
    expected = [
        "set",
        "--exit-node-allow-lan-access=true",
        "--snat-subnet-routes=false",
        "--stateful-filtering=true",
        "--operator=ops",
    ]
    fake.on(expected)
    extra = {
        "snat_subnet_routes": False,
        "stateful_filtering": True,
        "operator": "ops",
        "exit_node_allow_lan_access": True,
    }
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, **extra), fake)
    assert not failed, result
    assert fake.changes() == [expected]


def test_relay_port_is_set_after_enrolling_and_auto_update_off_needs_nothing(tailscale_binary, tmp_path):
    # `tailscale up` has no --relay-server-port or --auto-update: they are set right after it, when they differ
    # from what `up --reset` leaves
    fake = (
        FakeTailscale()
        .reads("status_fresh", "prefs_fresh")
        .on(recorded_args("up_enroll"), fixture="up_enroll")
        .on(["set", "--relay-server-port=40000"], out="")
        .reads("status_running", "prefs_running")
    )
    params = args(tailscale_binary, tmp_path, auth_key=KEY, relay_server_port="40000", auto_update=False)
    result, failed = run_module(tailscale_up.main, params, fake)
    assert not failed, result
    changes = fake.changes()
    assert changes[0][:2] == ["up", "--reset"]
    assert not any(arg.startswith(("--relay", "--auto-update")) for arg in changes[0])
    assert changes[1:] == [["set", "--relay-server-port=40000"]]


def test_a_bad_relay_port_is_refused_before_anything_runs(tailscale_binary, tmp_path):
    fake = FakeTailscale()
    result, failed = run_module(tailscale_up.main, args(tailscale_binary, tmp_path, relay_server_port="70000"), fake)
    assert failed and "relay_server_port must be a UDP port" in result["msg"]
    assert fake.calls == []
