"""tailscale_info against tailscale CLI output recorded from the real binaries (fixtures/tailscale/<version>)."""

import pytest
from helpers.tailscale_fake import RECORDED_URL, FakeTailscale, recorded_json, run_module

from ansible_collections.wgops.fleet.plugins.modules import tailscale_info

SOCKET = "/run/test/tailscaled.sock"


def test_enrolled_node(tailscale_binary):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(
        tailscale_info.main, {"binary": tailscale_binary, "socket": SOCKET}, fake, check_mode=True
    )
    assert not failed
    status = recorded_json("status_running")
    assert fake.calls == [["status", "--json"], ["debug", "prefs"]] and fake.sockets == [SOCKET, SOCKET]
    assert not result["changed"]
    assert result["installed"] and result["running"] and result["logged_in"]
    assert result["backend_state"] == "Running"
    assert result["version"] == status["Version"]
    assert result["node_id"] == status["Self"]["ID"] and result["node_id"].isdigit()  # Headscale's node ID
    assert result["tailscale_ips"] == status["TailscaleIPs"] and len(result["tailscale_ips"]) == 2
    assert result["hostname"] == "it-node"
    assert result["online"] is True
    assert result["control_url"] == RECORDED_URL
    assert result["tailnet"]["magic_dns_suffix"]
    assert result["prefs"] == {
        "control_url": RECORDED_URL,
        "want_running": True,
        "logged_out": False,
        "accept_routes": False,
        "accept_dns": False,
        "ssh": False,
        "hostname": "it-node",
        "advertise_routes": ["10.1.0.0/16"],
        "advertise_exit_node": False,
        "advertise_tags": [],
        "netfilter_mode": "on",
        "shields_up": False,
        "exit_node_id": None,
        "exit_node_ip": None,
        "exit_node": "",
        "exit_node_allow_lan_access": False,
        "snat_subnet_routes": True,
        "stateful_filtering": False,  # the recorded prefs say NoStatefulFiltering: true
        "operator": "",
        "auto_update": False,
        "relay_server_port": "",
    }
    (peer,) = result["peers"]
    raw_peer = next(iter(status["Peer"].values()))
    assert peer["hostname"] == "it-peer"
    assert peer["id"] == raw_peer["ID"]
    assert peer["tailscale_ips"] == raw_peer["TailscaleIPs"]
    assert peer["dns_name"].startswith("it-peer.")
    assert set(peer) >= {"hostname", "dns_name", "tailscale_ips", "online", "id", "relay", "cur_addr"}


def test_fresh_node(tailscale_binary):
    fake = FakeTailscale().reads("status_fresh", "prefs_fresh")
    result, failed = run_module(tailscale_info.main, {"binary": tailscale_binary}, fake)
    assert not failed
    assert fake.sockets == [None, None]
    assert result["running"] and not result["logged_in"]
    assert result["backend_state"] in ("NeedsLogin", "NoState")
    assert result["node_id"] is None and result["tailscale_ips"] == [] and result["peers"] == []
    assert result["tailnet"] is None


@pytest.mark.parametrize(
    ("status", "prefs", "state", "logged_in"),
    [
        ("status_stopped", "prefs_stopped", "Stopped", True),
        ("status_logged_out", "prefs_logged_out", "NeedsLogin", False),
        ("status_after_bad_key", "prefs_fresh", None, False),
    ],
)
def test_other_states(tailscale_binary, status, prefs, state, logged_in):
    fake = FakeTailscale().reads(status, prefs)
    result, failed = run_module(tailscale_info.main, {"binary": tailscale_binary}, fake)
    assert not failed
    if state:
        assert result["backend_state"] == state
    assert result["logged_in"] is logged_in


def test_not_running(tailscale_binary):
    fake = FakeTailscale().on(["status", "--json"], fixture="status_not_running", times=None)
    result, failed = run_module(tailscale_info.main, {"binary": tailscale_binary, "socket": SOCKET}, fake)
    assert failed and "tailscaled is not running" in result["msg"] and not result["running"]
    result, failed = run_module(
        tailscale_info.main, {"binary": tailscale_binary, "socket": SOCKET, "missing_ok": True}, fake
    )
    assert not failed and result["installed"] and not result["running"]


def test_missing_cli(tmp_path):
    args = {"binary": str(tmp_path / "nope")}
    result, failed = run_module(tailscale_info.main, args, FakeTailscale())
    assert failed and "not installed" in result["msg"]
    result, failed = run_module(tailscale_info.main, {**args, "missing_ok": True}, FakeTailscale())
    assert not failed and not result["installed"] and not result["running"]


@pytest.mark.parametrize(
    ("status", "prefs", "login_server", "expected"),
    [
        # The recorded server, written as users write it: trailing slashes, an upper-case scheme.
        ("status_running", "prefs_running", RECORDED_URL + "//", True),
        ("status_running", "prefs_running", RECORDED_URL.replace("http", "HTTP", 1), True),
        ("status_running", "prefs_running", "http://127.0.0.1:8081", False),
        ("status_running", "prefs_running", "https://other.example.org", False),
        # Logged out: on no server, whatever the URL in its prefs.
        ("status_logged_out", "prefs_logged_out", RECORDED_URL, False),
        ("status_fresh", "prefs_fresh", RECORDED_URL, False),
    ],
)
def test_on_login_server_compares_urls_as_tailscale_up_does(tailscale_binary, status, prefs, login_server, expected):
    fake = FakeTailscale().reads(status, prefs)
    result, failed = run_module(tailscale_info.main, {"binary": tailscale_binary, "login_server": login_server}, fake)
    assert not failed
    assert result["on_login_server"] is expected


def test_on_login_server_only_when_asked(tailscale_binary):
    fake = FakeTailscale().reads("status_running", "prefs_running")
    result, failed = run_module(tailscale_info.main, {"binary": tailscale_binary}, fake)
    assert not failed and "on_login_server" not in result
