"""headscale_preauthkey against CLI output recorded from each Headscale release (fixtures/headscale/<version>)."""

import json

import pytest
from helpers.headscale_fake import (
    VERSIONS,
    FakeHeadscale,
    recorded_json,
    reported_version_text,
    run_module,
    version_tuple,
)

from ansible_collections.wgops.fleet.plugins.modules import headscale_preauthkey


def args(binary, **extra):
    return {"binary": binary, **extra}


def user_id(version, name="itest"):
    return str(next(u["id"] for u in recorded_json(version, "users_list") if u["name"] == name))


def per_user_lists(fake, version):
    """Up to 0.27 keys are listed per user: itest has the recorded keys, doomed none."""
    if version_tuple(version) >= (0, 28, 0):
        fake.on(["preauthkeys", "list"], fixture="preauthkeys_list", times=None)
        return
    fake.on(["users", "list"], fixture="users_list", times=None)
    fake.on(["preauthkeys", "list", "--user", user_id(version)], fixture="preauthkeys_list", times=None)
    fake.on(["preauthkeys", "list", "--user", user_id(version, "doomed")], fixture="preauthkeys_list_empty", times=None)


@pytest.mark.parametrize("version", VERSIONS)
def test_mint_returns_the_key_once(version, headscale_binary):
    created = recorded_json(version, "preauthkeys_create_tagged")
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list")
    command = ["preauthkeys", "create", "--user", user_id(version), "--reusable", "--expiration", "2h"]
    fake.on([*command, "--tags", "tag:ci"], fixture="preauthkeys_create_tagged")
    result, failed = run_module(
        headscale_preauthkey.main,
        args(headscale_binary, user="itest", reusable=True, expiration="2h", tags=["tag:ci"]),
        fake,
    )
    assert not failed, result
    assert result["changed"]
    assert result["key"] == created["key"]
    assert result["id"] == created["id"]
    assert created["key"].startswith(result["key_prefix"])
    assert result["preauthkey"]["user"] == "itest"
    assert result["preauthkey"]["reusable"] is True
    assert result["preauthkey"]["tags"] == ["tag:ci"]
    # the secret is only in `key`
    rest = dict(result)
    del rest["key"]
    assert created["key"] not in json.dumps(rest)
    assert fake.commands()[-1] == [*command, "--tags", "tag:ci"]


@pytest.mark.parametrize("version", VERSIONS)
def test_mint_check_mode_mints_nothing(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list")
    result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, user="itest"), fake, check_mode=True)
    assert not failed, result
    assert result["changed"]
    assert result["key"] is None
    assert fake.commands() == [["users", "list"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_mint_every_run(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(["users", "list"], fixture="users_list", times=None)
    command = ["preauthkeys", "create", "--user", user_id(version), "--expiration", "1h"]
    fake.on(command, fixture="preauthkeys_create")
    fake.on(command, fixture="preauthkeys_create_node")
    first, _failed = run_module(headscale_preauthkey.main, args(headscale_binary, user="itest"), fake)
    second, _failed = run_module(headscale_preauthkey.main, args(headscale_binary, user="itest"), fake)
    assert first["changed"] and second["changed"]
    assert first["key"] != second["key"]


@pytest.mark.parametrize("version", VERSIONS)
def test_mint_for_unknown_user(version, headscale_binary):
    fake = FakeHeadscale(version).on(["users", "list"], fixture="users_list")
    result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, user="nobody"), fake)
    assert failed
    assert "Headscale has no user 'nobody' (users: doomed, itest)" in result["msg"]


@pytest.mark.parametrize("version", VERSIONS)
def test_mint_without_user(version, headscale_binary):
    fake = FakeHeadscale(version)
    if version_tuple(version) >= (0, 28, 0):
        fake.on(
            ["preauthkeys", "create", "--expiration", "1h", "--tags", "tag:ci"], fixture="preauthkeys_create_tags_only"
        )
        result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, tags=["tag:ci"]), fake)
        assert not failed, result
        assert result["preauthkey"]["user"] is None
        assert result["preauthkey"]["tags"] == ["tag:ci"]
        result, failed = run_module(headscale_preauthkey.main, args(headscale_binary), fake)
        assert failed
        assert "user is required to mint a pre-auth key without tags" in result["msg"]
    else:
        result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, tags=["tag:ci"]), fake)
        assert failed
        assert (
            f"user is required to mint a pre-auth key with Headscale {reported_version_text(version)}" in result["msg"]
        )


def test_bad_expiration_fails_early(headscale_binary):
    result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, user="x", expiration="1 hour"), None)
    assert failed
    assert "'1 hour' is not a duration" in result["msg"]


@pytest.mark.parametrize("version", VERSIONS)
def test_expire_by_prefix(version, headscale_binary):
    tagged = recorded_json(version, "preauthkeys_create_tagged")
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    if version_tuple(version) >= (0, 28, 0):
        expire = ["preauthkeys", "expire", "--id", str(tagged["id"])]
    else:
        expire = ["preauthkeys", "expire", "--user", user_id(version), tagged["key"]]
    fake.on(expire, fixture="preauthkeys_expire")
    prefix = tagged["key"][: len("hskey-auth-") + 12] if tagged["key"].startswith("hskey-") else tagged["key"][:8]
    result, failed = run_module(
        headscale_preauthkey.main, args(headscale_binary, state="expired", key_prefix=prefix), fake
    )
    assert not failed, result
    assert result["changed"]
    assert [k["id"] for k in result["preauthkeys"]] == [tagged["id"]]
    assert result["preauthkeys"][0]["expired"] is True
    assert result["preauthkeys"][0]["user"] == "itest"
    assert fake.commands()[-1] == expire
    # up to 0.27 the listed keys are the secrets: none of them may show in the result
    for raw in recorded_json(version, "preauthkeys_list"):
        assert raw["key"] not in json.dumps(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_expire_already_expired_key(version, headscale_binary):
    plain = recorded_json(version, "preauthkeys_create")  # expired in the recorded list
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    result, failed = run_module(
        headscale_preauthkey.main, args(headscale_binary, state="expired", id=plain["id"]), fake
    )
    assert not failed, result
    assert not result["changed"]
    assert result["preauthkeys"] == []
    assert not any(cmd[:2] == ["preauthkeys", "expire"] for cmd in fake.commands())


@pytest.mark.parametrize("version", VERSIONS)
def test_expire_by_full_key_in_check_mode(version, headscale_binary):
    node_key = recorded_json(version, "preauthkeys_create_node")
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    result, failed = run_module(
        headscale_preauthkey.main, args(headscale_binary, state="expired", key=node_key["key"]), fake, check_mode=True
    )
    assert not failed, result
    assert result["changed"]
    assert [k["id"] for k in result["preauthkeys"]] == [node_key["id"]]
    assert not any(cmd[:2] == ["preauthkeys", "expire"] for cmd in fake.commands())


@pytest.mark.parametrize("version", VERSIONS)
def test_absent(version, headscale_binary):
    plain = recorded_json(version, "preauthkeys_create")  # expired
    node_key = recorded_json(version, "preauthkeys_create_node")  # valid
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    if version_tuple(version) >= (0, 28, 0):
        fake.on(["preauthkeys", "delete", "--id", str(plain["id"])], fixture="preauthkeys_delete")
        result, failed = run_module(
            headscale_preauthkey.main, args(headscale_binary, state="absent", id=plain["id"]), fake
        )
        assert not failed, result
        assert result["changed"]
        assert "warnings" not in result
        assert fake.commands()[-1] == ["preauthkeys", "delete", "--id", str(plain["id"])]
    else:
        # cannot delete before 0.28: an expired key stays, a valid one is expired, with a warning
        result, failed = run_module(
            headscale_preauthkey.main, args(headscale_binary, state="absent", id=plain["id"]), fake
        )
        assert not failed, result
        assert not result["changed"]
        assert "cannot delete pre-auth keys" in result["warnings"][0]
        expire = ["preauthkeys", "expire", "--user", user_id(version), node_key["key"]]
        fake.on(expire, fixture="preauthkeys_expire")
        result, failed = run_module(
            headscale_preauthkey.main, args(headscale_binary, state="absent", id=node_key["id"]), fake
        )
        assert not failed, result
        assert result["changed"]
        assert "expired them instead" in result["warnings"][0]
        assert fake.commands()[-1] == expire


@pytest.mark.parametrize("version", VERSIONS)
def test_absent_unknown_key(version, headscale_binary):
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    result, failed = run_module(
        headscale_preauthkey.main, args(headscale_binary, state="absent", key_prefix="nomatch"), fake
    )
    assert not failed, result
    assert not result["changed"]


@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) < (0, 28, 0)])
def test_expire_failure_never_shows_the_key(version, headscale_binary):
    node_key = recorded_json(version, "preauthkeys_create_node")
    fake = FakeHeadscale(version)
    per_user_lists(fake, version)
    fake.on(
        ["preauthkeys", "expire", "--user", user_id(version), node_key["key"]], fixture="preauthkeys_expire_missing"
    )
    result, failed = run_module(
        headscale_preauthkey.main, args(headscale_binary, state="expired", id=node_key["id"]), fake
    )
    assert failed
    assert "cannot expire the pre-auth key" in result["msg"]
    assert "AuthKey not found" in result["msg"]
    assert node_key["key"] not in json.dumps(result)


def test_selectors_are_required(headscale_binary):
    result, failed = run_module(headscale_preauthkey.main, args(headscale_binary, state="expired"), None)
    assert failed
    assert "id, key_prefix, key" in result["msg"]
