"""headscale_info against CLI output recorded from each Headscale release (fixtures/headscale/<version>)."""

import json

import pytest
from helpers.headscale_fake import (
    VERSIONS,
    FakeHeadscale,
    has,
    recorded_json,
    reported_version_text,
    run_module,
    version_tuple,
)

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.upgrade import upgrade_path
from ansible_collections.wgops.fleet.plugins.modules import headscale_info

# The version each recorded binary reports, by hand from the fixture READMEs (the 0.26.1 `go install`
# build prints "dev": headscale_info reports its minor, patch 0, and says the version is not exact).
REPORTED = {
    "v0.26.1": ("0.26.0", False),
    "v0.27.1": ("0.27.1", True),
    "v0.28.0": ("0.28.0", True),
    "v0.29.3": ("0.29.3", True),
}


def full_fake(version):
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list", times=None)
    fake.on(["nodes", "list"], fixture="nodes_list" if has(version, "nodes_list") else "nodes_list_empty")
    if version_tuple(version) >= (0, 28, 0):
        fake.on(["preauthkeys", "list"], fixture="preauthkeys_list")
    else:
        users = {u["name"]: str(u["id"]) for u in recorded_json(version, "users_list")}
        fake.on(["preauthkeys", "list", "--user", users["itest"]], fixture="preauthkeys_list")
        fake.on(["preauthkeys", "list", "--user", users["doomed"]], fixture="preauthkeys_list_empty")
    fake.on(["apikeys", "list"], fixture="apikeys_list")
    fake.on(["policy", "get"], fixture="policy_get")
    return fake


@pytest.mark.parametrize("version", VERSIONS)
def test_everything(version, headscale_binary):
    fake = full_fake(version)
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary}, fake, check_mode=True)
    assert not failed, result
    assert not result["changed"]
    assert result["headscale_version"] == reported_version_text(version)
    assert (result["headscale_version"], result["headscale_version_exact"]) == REPORTED[version]
    assert {u["name"] for u in result["users"]} == {"itest", "doomed"}
    assert len(result["preauthkeys"]) == len(recorded_json(version, "preauthkeys_list"))
    assert len(result["apikeys"]) == 2
    assert "// test policy" in result["policy"]
    assert result["policy_json"]["tagOwners"]["tag:ci"] == ["itest@"]
    if has(version, "nodes_list"):
        assert result["nodes"][0]["name"] == "itest-n1"
    # no secret of any key in the result (up to 0.27 the CLI lists pre-auth keys in full)
    dumped = json.dumps(result)
    for name in ("preauthkeys_create", "preauthkeys_create_tagged", "preauthkeys_create_node"):
        assert recorded_json(version, name)["key"] not in dumped
    assert recorded_json(version, "apikeys_create") not in dumped
    for key in result["preauthkeys"]:
        assert set(key) >= {"id", "key_prefix", "user", "reusable", "ephemeral", "used", "expiration", "expired"}
        assert key["user"] in ("itest", None)


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_server(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list_empty", times=None)
    fake.on(["nodes", "list"], fixture="nodes_list_empty")
    if version_tuple(version) >= (0, 28, 0):
        fake.on(["preauthkeys", "list"], fixture="preauthkeys_list_empty")
    fake.on(["apikeys", "list"], fixture="apikeys_list_empty")
    fake.on(["policy", "get"], fixture="policy_get_none")
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary}, fake)
    assert not failed, result
    assert result["users"] == result["nodes"] == result["preauthkeys"] == result["apikeys"] == []
    assert result["policy"] is None
    assert result["policy_json"] is None
    assert "warnings" not in result


@pytest.mark.parametrize("version", VERSIONS)
def test_file_mode_without_a_policy_is_no_policy_and_no_warning(version, headscale_binary):
    fake = FakeHeadscale(version).on(["policy", "get"], fixture="policy_get_file_none")
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary, "gather": ["policy"]}, fake)
    assert not failed, result
    assert result["policy"] is None
    assert "warnings" not in result


@pytest.mark.parametrize("version", VERSIONS)
def test_gather_subset(version, headscale_binary):
    fake = FakeHeadscale(version).on(["apikeys", "list"], fixture="apikeys_list")
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary, "gather": ["apikeys"]}, fake)
    assert not failed, result
    assert set(result) == {"changed", "headscale_version", "headscale_version_exact", "apikeys"}
    assert fake.commands() == [["apikeys", "list"]]


def test_unreadable_policy_warns(headscale_binary):
    fake = FakeHeadscale(VERSIONS[-1])
    fake.on(
        ["policy", "get"], rc=1, err='{"error": "reading policy from path \\"/etc/headscale/p.hujson\\": no such file"}'
    )
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary, "gather": ["policy"]}, fake)
    assert not failed, result
    assert result["policy"] is None
    assert "no such file" in result["warnings"][0]


# ---------------------------------------------------------------------- gather: [version] (the role's probe)


def test_every_recorded_version_has_an_expectation():
    assert sorted(REPORTED) == sorted(VERSIONS)


@pytest.mark.parametrize("version", sorted(REPORTED))
def test_version_alone_reads_only_the_binary(version, headscale_binary):
    fake = FakeHeadscale(version)
    args = {"binary": headscale_binary, "gather": ["version"], "config": "/etc/headscale/config.yaml"}
    result, failed = run_module(headscale_info.main, args, fake, check_mode=True)
    assert not failed, result
    assert result == {
        "changed": False,
        "headscale_version": REPORTED[version][0],
        "headscale_version_exact": REPORTED[version][1],
    }
    assert fake.commands() == []  # the version probes only, which need no server
    assert {call["config"] for call in fake.calls} == {None}  # `version` takes no -c


def test_version_alone_of_a_missing_binary_is_null(tmp_path):
    fake = FakeHeadscale(VERSIONS[-1])
    result, failed = run_module(
        headscale_info.main, {"binary": str(tmp_path / "headscale"), "gather": ["version"]}, fake, check_mode=True
    )
    assert not failed, result
    assert result["headscale_version"] is None
    assert not result["changed"]
    assert fake.calls == []


def test_missing_binary_fails_when_the_server_is_read(tmp_path):
    fake = FakeHeadscale(VERSIONS[-1])
    result, failed = run_module(
        headscale_info.main, {"binary": str(tmp_path / "headscale"), "gather": ["version", "users"]}, fake
    )
    assert failed
    assert "does not exist or is not executable" in result["msg"]


def test_version_alone_reports_what_the_modules_refuse(headscale_binary):
    fake = FakeHeadscale(VERSIONS[-1])
    fake.rules.clear()
    fake.on(["version"], out='{"version": "v0.25.1"}', json_output=True, times=None)
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary, "gather": ["version"]}, fake)
    assert not failed, result
    assert result["headscale_version"] == "0.25.1"
    result, failed = run_module(headscale_info.main, {"binary": headscale_binary, "gather": ["users"]}, fake)
    assert failed
    assert "0.25.1" in result["msg"] and "not supported" in result["msg"]


def test_installed_026_upgrades_through_027_and_028(headscale_binary):
    # issue 17: the role read 0.26 as "nothing installed" and installed the target directly, skipping minors
    # Headscale refuses to skip. What headscale_info detects on the recorded 0.26.1 binary walks each minor.
    result, failed = run_module(
        headscale_info.main,
        {"binary": headscale_binary, "gather": ["version"]},
        FakeHeadscale("v0.26.1"),
        check_mode=True,
    )
    assert not failed, result
    known = ["0.26.1", "0.27.1", "0.28.0", "0.29.3"]
    assert upgrade_path(result["headscale_version"], "0.29.3", known, host="hs") == ["0.27.1", "0.28.0", "0.29.3"]
    assert upgrade_path(result["headscale_version"], "0.28.0", known, host="hs") == ["0.27.1", "0.28.0"]
