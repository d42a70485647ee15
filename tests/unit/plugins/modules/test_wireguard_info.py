"""wireguard_info's main() in-process against a fake `wg` and `ip` (helpers/wireguard_fake.py)."""

import json
import os
from types import SimpleNamespace
from unittest import mock

import pytest
from ansible.module_utils import basic
from helpers import module_runner
from helpers.wireguard_fake import NOW, PEER_A, PEER_B, PEER_C, PUB0, SECRETS, FakeHost

from ansible_collections.wgops.fleet.plugins.modules import wireguard_info


@pytest.fixture
def wg(tmp_path, monkeypatch):
    """A fake wg binary (it exits 99 if really run) and a fake ip on PATH."""
    module_runner.fake_binary(tmp_path, "ip")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    return module_runner.fake_binary(tmp_path, "wg")


def run(args, host, check_mode=False):
    patches = [
        mock.patch.object(basic.AnsibleModule, "run_command", lambda self, args, **kwargs: host(args, **kwargs)),
        mock.patch.object(wireguard_info, "time", SimpleNamespace(time=lambda: NOW)),
    ]
    return module_runner.run_module(wireguard_info.main, args, patches, check_mode=check_mode, mask_no_log=False)


def test_every_interface(wg):
    host = FakeHost()
    result, failed = run({"binary": wg}, host, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["installed"] is True and result["missing"] == []
    wg0, wg1 = result["interfaces"]
    assert (wg0["name"], wg0["public_key"], wg0["listen_port"], wg0["fwmark"], wg0["mtu"], wg0["up"]) == (
        "wg0",
        PUB0,
        51820,
        None,
        1420,
        True,
    )
    assert [(a["address"], a["prefixlen"], a["family"]) for a in wg0["addresses"]] == [
        ("10.90.0.1", 24, "inet"),
        ("fd90::1", 64, "inet6"),
        ("fe80::1", 64, "inet6"),
    ]
    assert [p["public_key"] for p in wg0["peers"]] == sorted([PEER_A, PEER_B, PEER_C])
    by_key = {p["public_key"]: p for p in wg0["peers"]}
    assert by_key[PEER_A]["handshake_age"] == 100 and by_key[PEER_A]["preshared_key"] is True
    assert by_key[PEER_B]["handshake_age"] is None and by_key[PEER_B]["preshared_key"] is False
    assert by_key[PEER_C]["endpoint"] == "[2001:db8::3]:51820" and by_key[PEER_C]["rx_bytes"] == 5
    assert (wg1["name"], wg1["public_key"], wg1["fwmark"], wg1["up"], wg1["mtu"], wg1["peers"]) == (
        "wg1",
        None,
        0xCA6C,
        False,
        1280,
        [],
    )


def test_no_key_is_asked_for_or_returned(wg):
    host = FakeHost()
    result, failed = run({"binary": wg}, host)
    assert not failed
    # the preshared keys are read only to tell whether a peer has one; no private key is ever read
    assert host.secret_commands() == [[wg, "show", "all", "preshared-keys"]]
    text = json.dumps(result)
    assert PUB0 in text
    for secret in SECRETS:
        assert secret not in text


def test_the_named_interfaces_in_their_order(wg):
    result, failed = run({"binary": wg, "interfaces": ["wg1", "wg0", "wg1"]}, FakeHost())
    assert not failed
    assert [i["name"] for i in result["interfaces"]] == ["wg1", "wg0"]


def test_a_missing_interface_fails_naming_it(wg):
    result, failed = run({"binary": wg, "interfaces": ["wg0", "wg9"]}, FakeHost())
    assert failed
    assert result["msg"].startswith("no WireGuard interface wg9 on this host (it has wg0, wg1)")
    assert result["missing"] == ["wg9"]


def test_a_missing_interface_is_listed_with_missing_ok(wg):
    host = FakeHost(interfaces=())
    result, failed = run({"binary": wg, "interfaces": ["wg0"], "missing_ok": True}, host)
    assert not failed
    assert result["interfaces"] == [] and result["missing"] == ["wg0"] and result["installed"] is True
    assert host.calls == [[wg, "show", "interfaces"]]  # nothing else to read


def test_no_interfaces(wg):
    host = FakeHost(interfaces=())
    result, failed = run({"binary": wg}, host)
    assert not failed
    assert result["interfaces"] == [] and result["missing"] == []
    assert host.calls == [[wg, "show", "interfaces"]]


def test_an_interface_that_vanishes_while_read_is_missing(wg):
    host = FakeHost().on(("-j", "addr", "show", "dev", "wg0"), rc=1, err='Device "wg0" does not exist.\n')
    result, failed = run({"binary": wg, "interfaces": ["wg0", "wg1"], "missing_ok": True}, host)
    assert not failed
    assert [i["name"] for i in result["interfaces"]] == ["wg1"] and result["missing"] == ["wg0"]


@pytest.mark.parametrize("binary", ["/nonexistent/wg", "wg-not-on-this-path"])
def test_wg_not_installed(binary):
    result, failed = run({"binary": binary}, FakeHost())
    assert failed
    assert result["msg"].startswith(f"{binary} (wireguard-tools) is not installed on this host")
    assert result["installed"] is False


def test_wg_not_installed_with_missing_ok():
    host = FakeHost()
    result, failed = run({"binary": "/nonexistent/wg", "interfaces": ["wg0"], "missing_ok": True}, host)
    assert not failed
    assert result == {"changed": False, "installed": False, "interfaces": [], "missing": ["wg0"]}
    assert host.calls == []


def test_a_failed_read_shows_stderr_only(wg):
    host = FakeHost().on(
        ("show", "all", "preshared-keys"),
        rc=1,
        out="wg0\tpartial",
        err="Unable to access interface wg0: Operation not permitted\n",
    )
    result, failed = run({"binary": wg}, host)
    assert failed
    assert result["msg"] == (
        f"{wg} show all preshared-keys failed (rc 1): Unable to access interface wg0: Operation not permitted; "
        "run it as root (become)"
    )


def test_output_wg_does_not_print_fails_cleanly(wg):
    host = FakeHost().on(("show", "all", "transfer"), out=f"wg0\t{PEER_A}\tlots\t0\n")
    result, failed = run({"binary": wg}, host)
    assert failed
    assert result["msg"] == "wg show all transfer: line 1: expected a number"


def test_a_failure_other_than_permission_has_no_become_hint(wg):
    host = FakeHost().on(("show", "interfaces"), rc=1, err="Unable to list interfaces: Protocol not supported\n")
    result, failed = run({"binary": wg}, host)
    assert failed
    assert result["msg"] == f"{wg} show interfaces failed (rc 1): Unable to list interfaces: Protocol not supported"
