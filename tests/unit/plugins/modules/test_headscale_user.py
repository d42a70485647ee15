"""headscale_user against CLI output recorded from each Headscale release (fixtures/headscale/<version>)."""

import pytest
from helpers.headscale_fake import VERSIONS, FakeHeadscale, has, recorded_json, reported_version_text, run_module

from ansible_collections.wgops.fleet.plugins.modules import headscale_user

CREATE = ["users", "create", "itest", "--display-name", "Integration Test", "--email", "itest@example.test"]


def args(binary, **extra):
    return {"binary": binary, "config": "/etc/headscale/config.yaml", **extra}


@pytest.mark.parametrize("version", VERSIONS)
def test_create_missing_user(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list_empty")
    fake.on(CREATE, fixture="users_create")
    result, failed = run_module(
        headscale_user.main,
        args(headscale_binary, name="itest", display_name="Integration Test", email="itest@example.test"),
        fake,
        diff=True,
    )
    assert not failed, result
    assert result["changed"]
    assert result["user"]["name"] == "itest"
    assert result["user"]["id"] == recorded_json(version, "users_create")["id"]
    assert result["headscale_version"] == reported_version_text(version)
    assert result["diff"] == {
        "before": {},
        "after": {"name": "itest", "display_name": "Integration Test", "email": "itest@example.test"},
    }
    assert fake.commands() == [["users", "list"], CREATE]
    assert fake.calls[0]["args"] == ["version"] and fake.calls[0]["json"]
    # after the version probes: the list and the create, each with the config and -o json
    assert all(call["config"] == "/etc/headscale/config.yaml" and call["json"] for call in fake.calls[-2:])


@pytest.mark.parametrize("version", VERSIONS)
def test_existing_user_is_left_alone(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list")
    result, failed = run_module(
        headscale_user.main, args(headscale_binary, name="itest", display_name="Integration Test"), fake
    )
    assert not failed, result
    assert not result["changed"]
    assert result["user"]["email"] == "itest@example.test"
    assert "warnings" not in result
    assert fake.commands() == [["users", "list"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_different_email_warns_without_change(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list")
    result, failed = run_module(
        headscale_user.main, args(headscale_binary, name="itest", email="new@example.test"), fake
    )
    assert not failed, result
    assert not result["changed"]
    assert "cannot change" in result["warnings"][0]
    assert "'itest@example.test', not 'new@example.test'" in result["warnings"][0]


@pytest.mark.parametrize("version", VERSIONS)
def test_check_mode_creates_nothing(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list_empty")
    result, failed = run_module(
        headscale_user.main, args(headscale_binary, name="itest", email="a@b.c"), fake, check_mode=True
    )
    assert not failed, result
    assert result["changed"]
    assert result["user"]["name"] == "itest"
    assert result["user"]["email"] == "a@b.c"
    assert fake.commands() == [["users", "list"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_delete_by_id(version, headscale_binary):
    doomed = next(u for u in recorded_json(version, "users_list") if u["name"] == "doomed")
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list")
    fake.on(["users", "destroy", "--identifier", str(doomed["id"]), "--force"], fixture="users_destroy")
    fake.on(["users", "list"], fixture="users_list_empty")
    result, failed = run_module(
        headscale_user.main, args(headscale_binary, name="doomed", state="absent"), fake, diff=True
    )
    assert not failed, result
    assert result["changed"]
    assert result["user"] is None
    assert result["diff"]["after"] == {}
    assert result["diff"]["before"]["name"] == "doomed"
    assert fake.commands()[1] == ["users", "destroy", "--identifier", str(doomed["id"]), "--force"]


@pytest.mark.parametrize("version", VERSIONS)
def test_delete_missing_user(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list_empty")
    result, failed = run_module(headscale_user.main, args(headscale_binary, name="nobody", state="absent"), fake)
    assert not failed, result
    assert not result["changed"]
    assert fake.commands() == [["users", "list"]]


@pytest.mark.parametrize("version", [v for v in VERSIONS if has(v, "users_destroy_with_node")])
def test_delete_user_with_nodes_names_them(version, headscale_binary):
    itest = next(u for u in recorded_json(version, "users_list") if u["name"] == "itest")
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list")
    fake.on(["users", "destroy", "--identifier", str(itest["id"]), "--force"], fixture="users_destroy_with_node")
    fake.on(["nodes", "list"], fixture="nodes_list")
    result, failed = run_module(headscale_user.main, args(headscale_binary, name="itest", state="absent"), fake)
    assert failed
    assert "cannot delete the Headscale user 'itest'" in result["msg"]
    assert "not empty" in result["msg"]
    assert "still owns the nodes" in result["msg"]
    assert "(itest-n1)" in result["msg"]


@pytest.mark.parametrize("version", VERSIONS)
def test_create_failure_says_why(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list_empty", times=2)
    fake.on(["users", "create", "itest"], fixture="users_create_duplicate")
    result, failed = run_module(headscale_user.main, args(headscale_binary, name="itest"), fake)
    assert failed
    assert result["msg"].startswith("cannot create the Headscale user 'itest': `")
    assert "UNIQUE constraint failed" in result["msg"]


def test_missing_binary_fails_clearly(tmp_path):
    result, failed = run_module(
        headscale_user.main, {"name": "x", "binary": str(tmp_path / "nope")}, FakeHeadscale(VERSIONS[0])
    )
    assert failed
    assert "does not exist or is not executable" in result["msg"]


@pytest.mark.parametrize("version", VERSIONS)
def test_user_created_meanwhile_by_a_parallel_task_is_no_failure(version, headscale_binary):
    """Two hosts delegating the same user to the Headscale host race; the loser finds it made."""
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list_empty")
    fake.on(["users", "create", "itest"], fixture="users_create_duplicate")
    fake.on(["users", "list"], fixture="users_list")
    result, failed = run_module(headscale_user.main, args(headscale_binary, name="itest"), fake)
    assert not failed, result
    assert result["changed"] is False
    assert result["user"]["name"] == "itest"
