"""service_stale_files' main() in-process against a fake systemctl and real files with set times."""

import os
from unittest import mock

from ansible.module_utils import basic
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.modules import service_stale_files

STARTED = 1_800_000_000


def systemctl(state="active", stamp=f"@{STARTED}", rc=0, load="loaded"):
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        return (
            rc,
            f"LoadState={load}\nActiveState={state}\nExecMainStartTimestamp={stamp}\n",
            "no such unit" if rc else "",
        )

    return run_command, calls


def run(args, host):
    patches = [mock.patch.object(basic.AnsibleModule, "run_command", host)]
    return module_runner.run_module(service_stale_files.main, args, patches, check_mode=True, mask_no_log=False)


def touch(path, when):
    path.write_text("x")
    os.utime(path, (when, when))
    return str(path)


def test_files_written_after_the_start_are_returned_in_order(tmp_path):
    old = touch(tmp_path / "old", STARTED - 60)
    same = touch(tmp_path / "same-second", STARTED)
    new_b = touch(tmp_path / "b", STARTED + 5)
    new_a = touch(tmp_path / "a", STARTED + 1)
    host, calls = systemctl()
    result, failed = run({"unit": "derper", "paths": [old, new_b, same, str(tmp_path / "missing"), new_a]}, host)
    assert not failed
    assert result["changed"] is False and result["active"] is True and result["started"] == STARTED
    assert result["newer"] == [new_b, new_a]
    assert calls == [
        [
            "systemctl",
            "show",
            "--timestamp=unix",
            "-p",
            "LoadState",
            "-p",
            "ActiveState",
            "-p",
            "ExecMainStartTimestamp",
            "derper",
        ]
    ]


def test_an_inactive_unit_has_nothing_stale(tmp_path):
    new = touch(tmp_path / "new", STARTED + 5)
    host, _calls = systemctl(state="inactive", stamp="")
    result, failed = run({"unit": "derper", "paths": [new]}, host)
    assert not failed and result["active"] is False and result["started"] is None and result["newer"] == []


def test_an_old_systemd_without_unix_timestamps_fails_clearly(tmp_path):
    host, _calls = systemctl(stamp="Mon 2026-12-07 12:00:00 UTC")
    result, failed = run({"unit": "headscale", "paths": [touch(tmp_path / "f", STARTED)]}, host)
    assert failed and "systemd 248 or newer" in result["msg"]


def test_systemctl_failing_is_reported(tmp_path):
    host, _calls = systemctl(rc=1)
    result, failed = run({"unit": "nope", "paths": []}, host)
    assert failed and "systemctl show nope failed: no such unit" in result["msg"]


def test_a_unit_systemd_does_not_know_is_not_loaded(tmp_path):
    host, _calls = systemctl(state="inactive", stamp="", load="not-found")
    result, failed = run({"unit": "derper", "paths": [str(tmp_path / "x")]}, host)
    assert not failed and result["loaded"] is False and result["active"] is False and result["newer"] == []
    host, _calls = systemctl(state="inactive", stamp="")
    assert run({"unit": "derper", "paths": []}, host)[0]["loaded"] is True
