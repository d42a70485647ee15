"""headscale_policy against CLI output recorded from each Headscale release (fixtures/headscale/<version>)."""

import pytest
from helpers.headscale_fake import VERSIONS, FakeHeadscale, bad_policy_reason, run_module, version_tuple

from ansible_collections.wgops.fleet.plugins.modules import headscale_policy

CHECK = ["policy", "check", "-f", "*"]
SET = ["policy", "set", "-f", "*"]
GET = ["policy", "get"]
POLICY = {
    "tagOwners": {"tag:ci": ["itest@"], "tag:db": ["itest@"]},
    "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}
# the recorded policy's content in another form: other order, comments, trailing commas
POLICY_HUJSON = """{
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"],},], // all
  /* tags */ "tagOwners": {"tag:db": ["itest@"], "tag:ci": ["itest@"]},
}"""


def args(binary, **extra):
    return {"binary": binary, "config": "/etc/headscale/config.yaml", **extra}


@pytest.mark.parametrize("version", VERSIONS)
def test_store_new_policy(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(CHECK, fixture="policy_check_good")
    fake.on(GET, fixture="policy_get_none")
    fake.on(SET, fixture="policy_set")
    fake.on(GET, fixture="policy_get")
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy=POLICY), fake, diff=True)
    assert not failed, result
    assert result["changed"]
    assert result["valid"]
    assert result["policy"] == POLICY
    assert result["previous"] is None
    assert result["diff"]["before"] == ""
    assert '"tag:ci"' in result["diff"]["after"]
    assert [cmd[:2] for cmd in fake.commands()] == [["policy", "check"], GET, ["policy", "set"], GET]
    check_call = next(call for call in fake.calls if call["args"][:2] == ["policy", "check"])
    online = version_tuple(version) >= (0, 29, 0)
    assert check_call["config"] == ("/etc/headscale/config.yaml" if online else None)
    assert check_call["json"] is False


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("policy", [POLICY, POLICY_HUJSON])
def test_same_policy_is_not_stored(version, policy, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(CHECK, fixture="policy_check_good")
    fake.on(GET, fixture="policy_get")
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy=policy), fake, diff=True)
    assert not failed, result
    assert not result["changed"]
    assert result["previous"] == POLICY
    assert result["diff"]["before"] == result["diff"]["after"]
    assert not any(cmd[:2] == ["policy", "set"] for cmd in fake.commands())


@pytest.mark.parametrize("version", VERSIONS)
def test_changed_policy_in_check_mode(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(CHECK, fixture="policy_check_good")
    fake.on(GET, fixture="policy_get")
    changed = {**POLICY, "tagOwners": {"tag:ci": ["itest@"]}}
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy=changed), fake, check_mode=True)
    assert not failed, result
    assert result["changed"]
    assert not any(cmd[:2] == ["policy", "set"] for cmd in fake.commands())


@pytest.mark.parametrize("version", VERSIONS)
def test_bad_policy_is_refused_with_the_reason(version, headscale_binary):
    fake = FakeHeadscale(version).on(CHECK, fixture="policy_check_bad")
    bad = {"acls": [{"action": "bogus", "src": ["*"], "dst": ["*:*"]}]}
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy=bad, check_only=True), fake)
    assert failed
    assert result["valid"] is False
    assert result["msg"].startswith("policy refused by `")
    assert "-f <policy>`" in result["msg"]  # not the temporary file's name
    assert bad_policy_reason(version) in result["msg"]
    assert fake.commands() == [["policy", "check", "-f", fake.commands()[0][3]]]


@pytest.mark.parametrize("version", VERSIONS)
def test_check_only(version, headscale_binary, tmp_path):
    path = tmp_path / "policy.hujson"
    path.write_text(POLICY_HUJSON)
    fake = FakeHeadscale(version).on(["policy", "check", "-f", "*"], fixture="policy_check_good")
    result, failed = run_module(headscale_policy.main, args(headscale_binary, path=str(path), check_only=True), fake)
    assert not failed, result
    assert not result["changed"]
    assert result["valid"]
    assert result["policy"] == POLICY
    assert len(fake.commands()) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_set_refused_by_the_server(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(CHECK, fixture="policy_check_good")
    fake.on(GET, fixture="policy_get_none")
    fake.on(SET, fixture="policy_set_bad")
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy='{"acls": []}'), fake)
    assert failed
    assert "cannot set the Headscale policy" in result["msg"]
    assert bad_policy_reason(version) in result["msg"]


def test_policy_file_mode_server(headscale_binary):
    fake = FakeHeadscale(VERSIONS[-1])
    fake.on(CHECK, fixture="policy_check_good")
    fake.on(GET, out="{}\n")
    fake.on(SET, rc=1, err='{"error": "update is disabled for modes other than \'database\'"}')
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy=POLICY), fake)
    assert failed
    assert "policy.mode file" in result["msg"]


def test_empty_policy(headscale_binary):
    result, failed = run_module(headscale_policy.main, args(headscale_binary, policy="  "), None)
    assert failed
    assert result["msg"] == "policy is empty"


def test_unreadable_policy_file(headscale_binary, tmp_path):
    result, failed = run_module(headscale_policy.main, args(headscale_binary, path=str(tmp_path / "nope")), None)
    assert failed
    assert "cannot read the policy file" in result["msg"]
