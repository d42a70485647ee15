"""Unit tests of plugins/module_utils/_tailscale/cli.py (the pure functions and the CLI wrapper)."""

import os
import subprocess

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._tailscale import cli as ts


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hs.example.com", "https://hs.example.com"),
        ("https://hs.example.com/", "https://hs.example.com"),
        ("https://HS.Example.com:443/", "https://hs.example.com"),
        ("HTTP://127.0.0.1:80", "http://127.0.0.1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://hs.example.com:8443", "https://hs.example.com:8443"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("https://hs.example.com/prefix/", "https://hs.example.com/prefix"),
        ("  https://hs.example.com  ", "https://hs.example.com"),
        ("http://127.0.0.1:PORT/", "http://127.0.0.1:port"),
        ("https://user@hs.example.com:443/", "https://user@hs.example.com"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_url(url, expected):
    assert ts.normalize_url(url) == expected


def test_same_control_url():
    assert ts.same_control_url("https://hs.example.com/", "https://hs.example.com:443")
    assert not ts.same_control_url("http://127.0.0.1:8080", "http://localhost:8080")
    assert not ts.same_control_url("https://hs.example.com", "https://other.example.com")
    # an unset ControlURL is Tailscale's default, and its two names are synonyms
    assert ts.same_control_url("", "https://controlplane.tailscale.com")
    assert ts.same_control_url("https://login.tailscale.com", "https://controlplane.tailscale.com/")
    assert not ts.same_control_url(None, "https://hs.example.com")


def test_routes_are_canonical_and_sorted():
    routes = ["fd00::1/64", "10.1.2.3/16", "192.168.1.0/24", "10.1.0.0/16", "10.0.0.0/8", "192.168.1.7"]
    assert ts.normalize_routes(routes) == ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "192.168.1.7/32", "fd00::/64"]
    assert ts.normalize_routes(None) == []
    with pytest.raises(ValueError, match="not an IP"):
        ts.normalize_routes(["10.0.0.0/33"])


def test_split_exit_routes():
    assert ts.split_exit_routes(["0.0.0.0/0", "::/0", "10.0.0.0/8"]) == (["10.0.0.0/8"], True)
    # only both default routes make an exit node (Prefs.AdvertisesExitNode)
    assert ts.split_exit_routes(["0.0.0.0/0"]) == (["0.0.0.0/0"], False)
    assert ts.split_exit_routes(None) == ([], False)


@pytest.mark.parametrize(
    ("value", "name"), [(0, "off"), (1, "nodivert"), (2, "on"), (3, None), ("on", "on"), (None, None)]
)
def test_netfilter_mode_name(value, name):
    assert ts.netfilter_mode_name(value) == name


RAW_PREFS = {
    "ControlURL": "http://127.0.0.1:8080/",
    "RouteAll": True,
    "ExitNodeID": "",
    "ExitNodeIP": "",
    "CorpDNS": False,
    "RunSSH": True,
    "WantRunning": True,
    "LoggedOut": False,
    "ShieldsUp": False,
    "AdvertiseTags": ["tag:b", "tag:a"],
    "Hostname": "node1",
    "AdvertiseRoutes": ["::/0", "192.168.0.0/24", "0.0.0.0/0"],
    "NetfilterMode": 1,
    "Config": {"UserProfile": {"LoginName": "itest"}, "NodeID": "3"},
}


def test_normalize_prefs():
    assert ts.normalize_prefs(RAW_PREFS) == {
        "control_url": "http://127.0.0.1:8080",
        "want_running": True,
        "logged_out": False,
        "accept_routes": True,
        "accept_dns": False,
        "ssh": True,
        "hostname": "node1",
        "advertise_routes": ["192.168.0.0/24"],
        "advertise_exit_node": True,
        "advertise_tags": ["tag:a", "tag:b"],
        "netfilter_mode": "nodivert",
        "shields_up": False,
        "exit_node_id": None,
        "exit_node_ip": None,
        "exit_node": "",
        "exit_node_allow_lan_access": False,
        "snat_subnet_routes": True,
        "stateful_filtering": False,
        "operator": "",
        "auto_update": False,
        "relay_server_port": "",
    }


def test_normalize_prefs_client_settings():
    raw = {"ExitNodeAllowLANAccess": True, "NoSNAT": True, "NoStatefulFiltering": "false", "OperatorUser": "ops"}
    prefs = ts.normalize_prefs(raw)
    assert prefs["exit_node_allow_lan_access"] is True and prefs["snat_subnet_routes"] is False
    assert prefs["stateful_filtering"] is True and prefs["operator"] == "ops"
    assert ts.normalize_prefs({"NoStatefulFiltering": "true"})["stateful_filtering"] is False


@pytest.mark.parametrize(
    ("raw", "auto_update", "relay_port"),
    [
        ({}, False, ""),
        ({"AutoUpdate": {"Check": True, "Apply": None}}, False, ""),  # opt.Bool unset: off (the recorded 1.102.5 prefs)
        ({"AutoUpdate": {"Check": True, "Apply": False}}, False, ""),
        ({"AutoUpdate": {"Check": True, "Apply": True}, "RelayServerPort": 40000}, True, "40000"),
        ({"RelayServerPort": 0}, False, "0"),  # a free port picked by tailscaled
    ],
)
def test_normalize_prefs_auto_update_and_relay(raw, auto_update, relay_port):
    prefs = ts.normalize_prefs(raw)
    assert prefs["auto_update"] is auto_update and prefs["relay_server_port"] == relay_port


def test_auto_update_and_relay_port_are_set_with_tailscale_set_only_when_they_differ():
    wanted = ts.desired_prefs(auto_update=False, relay_server_port=40000)
    assert wanted == {"auto_update": False, "relay_server_port": "40000"}
    current = ts.normalize_prefs({"AutoUpdate": {"Check": True, "Apply": None}})
    keys = ts.differences(current, wanted)
    assert keys == ["relay_server_port"]
    assert ts.set_arguments(wanted, keys) == ["set", "--relay-server-port=40000"]
    assert ts.desired_prefs(relay_server_port="")["relay_server_port"] == ""
    off = ts.differences(ts.normalize_prefs({"RelayServerPort": 40000}), ts.desired_prefs(relay_server_port=""))
    assert ts.set_arguments(ts.desired_prefs(relay_server_port=""), off) == ["set", "--relay-server-port="]
    # `tailscale up` has no --relay-server-port: tailscale_up sets it right after enrolling
    assert not any(arg.startswith("--relay-server-port") for arg in ts.up_arguments("https://hs", wanted, None, 30))
    assert not any(arg.startswith("--auto-update") for arg in ts.up_arguments("https://hs", wanted, None, 30))
    assert set(ts.POST_ENROLL_KEYS) == {"auto_update", "relay_server_port"}


@pytest.mark.parametrize("port", ["65536", "-1", "40000,40001", "port"])
def test_a_bad_relay_port_is_refused(port):
    with pytest.raises(ValueError, match="relay_server_port must be a UDP port"):
        ts.desired_prefs(relay_server_port=port)


EXIT_STATUS = {
    "Peer": {
        "nodekey:a": {
            "ID": "7",
            "HostName": "exit-a",
            "DNSName": "exit-a.ts.example.",
            "TailscaleIPs": ["fd7a::7", "100.64.0.7"],
        },
        "nodekey:b": {"ID": "8", "HostName": "other", "DNSName": "other.ts.example.", "TailscaleIPs": []},
    },
    "ExitNodeStatus": {"ID": "7", "Online": True, "TailscaleIPs": ["100.64.0.7/32", "fd7a::7/128"]},
}


@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [
        ({}, EXIT_STATUS, ""),
        ({"ExitNodeIP": "100.64.0.9"}, None, "100.64.0.9"),
        ({"ExitNodeID": "7"}, EXIT_STATUS, "100.64.0.7"),
        ({"ExitNodeID": "7"}, {"ExitNodeStatus": EXIT_STATUS["ExitNodeStatus"]}, "100.64.0.7"),
        ({"ExitNodeID": "99"}, EXIT_STATUS, "id:99"),
    ],
)
def test_exit_node_in_use(raw, status, expected):
    assert ts.normalize_prefs(raw, status)["exit_node"] == expected


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("", ""),
        ("100.64.0.9", "100.64.0.9"),
        ("exit-a", "100.64.0.7"),
        ("EXIT-A", "100.64.0.7"),
        ("exit-a.ts.example", "100.64.0.7"),
        ("exit-a.ts.example.", "100.64.0.7"),
        ("other", None),
        ("nobody", None),
    ],
)
def test_resolve_exit_node(wanted, expected):
    assert ts.resolve_exit_node(wanted, EXIT_STATUS) == expected


def test_normalize_prefs_of_nothing():
    prefs = ts.normalize_prefs({"AdvertiseRoutes": None, "AdvertiseTags": None})
    assert prefs["advertise_routes"] == [] and prefs["advertise_tags"] == [] and prefs["control_url"] is None


@pytest.mark.parametrize(
    ("state", "prefs", "expected"),
    [
        ("Running", RAW_PREFS, True),
        ("Starting", RAW_PREFS, True),
        ("NeedsMachineAuth", RAW_PREFS, True),
        ("NeedsLogin", RAW_PREFS, False),
        ("NoState", {}, False),
        ("Running", dict(RAW_PREFS, LoggedOut=True), False),
        ("Stopped", RAW_PREFS, True),  # tailscale down after a login
        ("Stopped", dict(RAW_PREFS, Config={"UserProfile": {}}), False),  # stopped, never logged in
        ("Stopped", dict(RAW_PREFS, Config=None), False),
    ],
)
def test_is_logged_in(state, prefs, expected):
    assert ts.is_logged_in({"BackendState": state}, prefs) is expected


def test_self_summary_and_peers():
    status = {
        "BackendState": "Running",
        "TailscaleIPs": ["100.64.0.1", "fd7a:115c:a1e0::1"],
        "Self": {"ID": "1", "HostName": "me", "DNSName": "me.tailnet.internal.", "Online": True},
        "CurrentTailnet": {"Name": "tailnet.internal", "MagicDNSSuffix": "tailnet.internal", "MagicDNSEnabled": True},
        "Peer": {
            "nodekey:b": {"ID": "3", "HostName": "zeta", "TailscaleIPs": ["100.64.0.3"], "Online": False},
            "nodekey:a": {
                "ID": "2",
                "HostName": "alpha",
                "DNSName": "alpha.tailnet.internal.",
                "TailscaleIPs": ["100.64.0.2"],
                "Online": True,
                "Relay": "fra",
                "CurAddr": "192.0.2.1:41641",
                "Tags": ["tag:db"],
            },
        },
    }
    assert ts.self_summary(status) == {
        "node_id": "1",
        "tailscale_ips": ["100.64.0.1", "fd7a:115c:a1e0::1"],
        "hostname": "me",
        "dns_name": "me.tailnet.internal.",
        "online": True,
    }
    assert ts.tailnet_summary(status)["magic_dns_suffix"] == "tailnet.internal"
    listed = ts.peers(status)
    assert [peer["hostname"] for peer in listed] == ["alpha", "zeta"]
    assert (
        listed[0]["relay"] == "fra" and listed[0]["cur_addr"] == "192.0.2.1:41641" and listed[0]["tags"] == ["tag:db"]
    )
    assert listed[1]["cur_addr"] is None and listed[1]["dns_name"] is None
    assert ts.self_summary({"BackendState": "NeedsLogin", "Self": {"ID": ""}})["node_id"] is None
    assert ts.peers({"Peer": None}) == [] and ts.tailnet_summary({}) is None


def test_desired_prefs_leaves_out_unmanaged_settings():
    assert ts.desired_prefs(accept_routes=True, advertise_routes=["10.0.0.1/8"]) == {
        "accept_routes": True,
        "advertise_routes": ["10.0.0.0/8"],
    }
    wanted = ts.desired_prefs(hostname=" n1 ", advertise_tags=["tag:b", "a", "tag:a"], netfilter_mode="off")
    assert wanted == {"hostname": "n1", "advertise_tags": ["tag:a", "tag:b"], "netfilter_mode": "off"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"advertise_routes": ["0.0.0.0/0"]}, "advertise_exit_node"),
        ({"advertise_routes": ["nonsense"]}, "not an IP"),
        ({"advertise_tags": ["group:db"]}, "tag:"),
        ({"netfilter_mode": "maybe"}, "netfilter_mode"),
        ({"exit_node": "exit-a --ssh"}, "exit_node must be"),
        ({"exit_node": "a,b"}, "exit_node must be"),
        ({"operator": "root; id"}, "operator must be"),
        ({"operator": "Ops"}, "operator must be"),
    ],
)
def test_desired_prefs_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ts.desired_prefs(**kwargs)


def test_differences_and_set_arguments():
    current = ts.normalize_prefs(RAW_PREFS)
    wanted = ts.desired_prefs(
        accept_routes=True,  # same
        accept_dns=True,  # differs
        ssh=False,  # differs
        hostname="node1",  # same
        advertise_routes=["192.168.0.0/24", "10.0.0.0/8"],  # differs
        advertise_exit_node=True,  # same
        advertise_tags=["tag:other"],  # differs, but not something set can change
        netfilter_mode="nodivert",  # same
    )
    keys = ts.differences(current, wanted)
    assert keys == ["accept_dns", "ssh", "advertise_routes"]
    assert ts.set_arguments(wanted, keys) == [
        "set",
        "--accept-dns=true",
        "--ssh=false",
        "--advertise-routes=10.0.0.0/8,192.168.0.0/24",
    ]
    assert ts.tags_differ(current, wanted)
    assert not ts.tags_differ(current, {"advertise_tags": ["tag:a", "tag:b"]})
    assert not ts.tags_differ(current, {})
    after = ts.apply_wanted(current, wanted, keys)
    assert after["accept_dns"] is True and after["advertise_routes"] == ["10.0.0.0/8", "192.168.0.0/24"]
    assert after["advertise_tags"] == ["tag:a", "tag:b"]  # unchanged: set cannot change tags
    assert ts.differences(after, wanted) == []


def test_set_arguments_clear_routes_and_change_exit_node():
    current = ts.normalize_prefs(RAW_PREFS)
    wanted = ts.desired_prefs(advertise_routes=[], advertise_exit_node=False, hostname="", shields_up=True)
    keys = ts.differences(current, wanted)
    assert ts.set_arguments(wanted, keys) == [
        "set",
        "--hostname=",
        "--advertise-routes=",
        "--advertise-exit-node=false",
        "--shields-up=true",
    ]


def test_up_arguments():
    wanted = ts.desired_prefs(
        accept_routes=False,
        accept_dns=True,
        ssh=False,
        hostname="n1",
        advertise_routes=["10.0.0.0/8"],
        advertise_exit_node=True,
        advertise_tags=["tag:x"],
        netfilter_mode="off",
    )
    assert ts.up_arguments("http://127.0.0.1:8080", wanted, "file:/tmp/k", 60) == [
        "up",
        "--reset",
        "--login-server=http://127.0.0.1:8080",
        "--auth-key=file:/tmp/k",
        "--hostname=n1",
        "--advertise-tags=tag:x",
        "--advertise-routes=10.0.0.0/8",
        "--advertise-exit-node",
        "--accept-routes=false",
        "--accept-dns=true",
        "--ssh=false",
        "--netfilter-mode=off",
        "--timeout=60s",
    ]
    minimal = ts.up_arguments("https://hs", {}, None, 30, force_reauth=True)
    assert minimal == ["up", "--reset", "--login-server=https://hs", "--force-reauth", "--timeout=30s"]


def test_enrolled_prefs():
    after = ts.enrolled_prefs(
        "http://127.0.0.1:8080", ts.desired_prefs(accept_dns=False, advertise_routes=["10.0.0.0/8"])
    )
    assert after["control_url"] == "http://127.0.0.1:8080" and after["want_running"] is True
    assert after["accept_dns"] is False and after["advertise_routes"] == ["10.0.0.0/8"]
    assert after["netfilter_mode"] == "on" and after["accept_routes"] is False


def test_redact_and_warnings():
    assert (
        ts.redact("key hskey-auth-abc and hskey-auth-abc", ["hskey-auth-abc", None, ""]) == "key ******** and ********"
    )
    assert ts.redact(["a", "--auth-key=s3cret"], ["s3cret"]) == ["a", "--auth-key=********"]
    assert ts.redact(None, ["x"]) is None
    out = "Warning: IP forwarding is disabled, subnet routing will not work.\nsomething else\n"
    assert ts.cli_warnings(out) == ["IP forwarding is disabled, subnet routing will not work."]


def test_is_not_running():
    assert ts.is_not_running("failed to connect to local tailscaled; it doesn't appear to be running")
    assert ts.is_not_running("dial unix /tmp/x.sock: connect: no such file or directory")
    assert not ts.is_not_running("backend error: invalid key")


class FakeRunner:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, timeout):
        self.calls.append((argv, timeout))
        return self.answers.pop(0)


def test_cli_runs_with_socket_and_redacts_errors():
    runner = FakeRunner([(0, '{"BackendState": "Running"}', ""), (1, "", "backend error: bad key sekrit")])
    cli = ts.TailscaleCLI("/usr/bin/tailscale", "/run/ts.sock", runner=runner, secrets=["sekrit"], timeout=5)
    assert cli.status() == {"BackendState": "Running"}
    assert runner.calls[0] == (["/usr/bin/tailscale", "--socket=/run/ts.sock", "status", "--json"], 5)
    with pytest.raises(ts.TailscaleError) as info:
        cli.run(["up", "--auth-key=sekrit"], timeout=9)
    assert "sekrit" not in str(info.value) and "********" in str(info.value)
    assert runner.calls[1][1] == 9
    assert cli.commands[1] == ["/usr/bin/tailscale", "--socket=/run/ts.sock", "up", "--auth-key=********"]


def test_cli_not_running_and_bad_json():
    runner = FakeRunner(
        [
            (
                1,
                "",
                "failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)",
            ),
            (0, "not json", ""),
            (0, "[]", ""),
        ]
    )
    cli = ts.TailscaleCLI("/usr/bin/tailscale", "/run/ts.sock", runner=runner)
    with pytest.raises(ts.TailscaledNotRunning, match="not running"):
        cli.status()
    with pytest.raises(ts.TailscaleError, match="did not print JSON"):
        cli.prefs()
    with pytest.raises(ts.TailscaleError, match="not a JSON object"):
        cli.prefs()


class SubprocessModule:
    """The part of AnsibleModule.run_command that module_runner uses, with a real process."""

    def __init__(self):
        self.calls = []

    def run_command(self, args, environ_update=None, expand_user_and_vars=True):
        self.calls.append((args, environ_update, expand_user_and_vars))
        done = subprocess.run(
            args, env={**os.environ, **(environ_update or {})}, capture_output=True, text=True, check=False
        )
        return done.returncode, done.stdout, done.stderr


def test_module_runner_limits_time_and_reports_missing_binaries(tmp_path):
    module = SubprocessModule()
    run = ts.module_runner(module)
    rc, _out, err = run(["sleep", "5"], 0.2)
    assert rc == 124 and err.endswith("(timed out after 0 s)")
    assert run([str(tmp_path / "nope")], 1)[0] == 127
    assert run(["sh", "-c", "echo out; echo $LANG >&2; exit 3"], 5) == (3, "out\n", "C\n")
    # standard input is /dev/null, whatever the module's is: a question gets no answer at once
    assert run(["sh", "-c", "read answer; echo read=$?"], 5) == (0, "read=1\n", "")
    assert all(expand is False for _args, _env, expand in module.calls)


def test_the_cli_needs_a_runner_or_a_module():
    with pytest.raises(ValueError):
        ts.TailscaleCLI("/usr/bin/tailscale")


def test_find_binary(tmp_path, monkeypatch):
    exe = tmp_path / "tailscale"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert ts.find_binary(str(exe)) == str(exe)
    assert ts.find_binary(str(tmp_path / "missing")) is None
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ts.find_binary("tailscale") == str(exe)
    assert ts.find_binary("tailscale", lambda name, opt_dirs: "/opt/found") == "/opt/found"


def test_up_arguments_carry_client_settings_but_not_the_exit_node():
    wanted = ts.desired_prefs(exit_node="100.64.0.7", snat_subnet_routes=False, stateful_filtering=True, operator="ops")
    args = ts.up_arguments("https://hs", wanted, None, 30)
    assert "--snat-subnet-routes=false" in args and "--stateful-filtering=true" in args and "--operator=ops" in args
    assert not any(arg.startswith("--exit-node") for arg in args)
    assert ts.set_arguments(wanted, ["exit_node"]) == ["set", "--exit-node=100.64.0.7"]
    assert ts.set_arguments(ts.desired_prefs(exit_node=""), ["exit_node"]) == ["set", "--exit-node="]


def test_offers_exit_node_reads_the_peer_by_address():
    offering = {"Peer": {"k": {"TailscaleIPs": ["100.64.0.7", "fd7a::7"], "ExitNodeOption": True}}}
    assert ts.offers_exit_node("100.64.0.7", offering) and ts.offers_exit_node("fd7a::7", offering)
    assert not ts.offers_exit_node("100.64.0.8", offering)
    assert not ts.offers_exit_node("100.64.0.7", {"Peer": {"k": {"TailscaleIPs": ["100.64.0.7"]}}})
    assert not ts.offers_exit_node("100.64.0.7", None)
