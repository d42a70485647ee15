"""headscale_apikey against CLI output recorded from each Headscale release (fixtures/headscale/<version>)."""

import json

import pytest
from helpers.headscale_fake import (
    VERSIONS,
    FakeHeadscale,
    recorded_json,
    run_module,
    version_tuple,
)

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import apikey_prefix
from ansible_collections.wgops.fleet.plugins.modules import headscale_apikey

LIST = ["apikeys", "list"]


def args(binary, **extra):
    return {"binary": binary, **extra}


def first_key(version):
    """The first recorded key: its secret and how the list shows it."""
    secret = recorded_json(version, "apikeys_create")
    listed = next(
        k for k in recorded_json(version, "apikeys_list") if apikey_prefix(k["prefix"]) == apikey_prefix(secret)
    )
    return secret, listed


@pytest.mark.parametrize("version", VERSIONS)
def test_create(version, headscale_binary):
    secret = recorded_json(version, "apikeys_create")
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="apikeys_list_empty")
    fake.on(["apikeys", "create", "--expiration", "1d"], fixture="apikeys_create")
    fake.on(LIST, fixture="apikeys_list")
    result, failed = run_module(headscale_apikey.main, args(headscale_binary, expiration="1d"), fake)
    assert not failed, result
    assert result["changed"]
    assert result["key"] == secret
    assert result["prefix"] == apikey_prefix(secret)
    assert result["apikey"]["prefix"] == result["prefix"]
    assert len(result["apikeys"]) == 2
    rest = dict(result)
    del rest["key"]
    assert secret not in json.dumps(rest)


@pytest.mark.parametrize("version", VERSIONS)
def test_create_in_check_mode(version, headscale_binary):
    fake = FakeHeadscale(version).on(LIST, fixture="apikeys_list")
    result, failed = run_module(headscale_apikey.main, args(headscale_binary), fake, check_mode=True)
    assert not failed, result
    assert result["changed"]
    assert result["key"] is None
    assert fake.commands() == [LIST]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("selector", ["key", "prefix", "listed_prefix", "id"])
def test_expire(version, selector, headscale_binary):
    secret, listed = first_key(version)
    value = {"key": secret, "prefix": apikey_prefix(secret), "listed_prefix": listed["prefix"], "id": listed["id"]}
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="apikeys_list")
    if version_tuple(version) >= (0, 28, 0):
        expire = ["apikeys", "expire", "--id", str(listed["id"])]
    else:
        expire = ["apikeys", "expire", "--prefix", listed["prefix"]]
    fake.on(expire, fixture="apikeys_expire")
    fake.on(LIST, fixture="apikeys_list_after")
    option = "prefix" if selector == "listed_prefix" else selector
    result, failed = run_module(
        headscale_apikey.main, args(headscale_binary, state="expired", **{option: value[selector]}), fake
    )
    assert not failed, result
    assert result["changed"]
    assert result["apikey"]["id"] == listed["id"]
    assert fake.commands() == [LIST, expire, LIST]
    assert secret not in json.dumps(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_expire_expired_key(version, headscale_binary):
    secret, _listed = first_key(version)
    fake = FakeHeadscale(version).on(LIST, fixture="apikeys_list_after")
    result, failed = run_module(headscale_apikey.main, args(headscale_binary, state="expired", key=secret), fake)
    assert not failed, result
    assert not result["changed"]
    assert fake.commands() == [LIST]


@pytest.mark.parametrize("version", VERSIONS)
def test_delete(version, headscale_binary):
    second = recorded_json(version, "apikeys_create_second")
    listed = next(
        k for k in recorded_json(version, "apikeys_list") if apikey_prefix(k["prefix"]) == apikey_prefix(second)
    )
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="apikeys_list")
    if version_tuple(version) >= (0, 28, 0):
        delete = ["apikeys", "delete", "--id", str(listed["id"])]
    else:
        delete = ["apikeys", "delete", "--prefix", listed["prefix"]]
    fake.on(delete, fixture="apikeys_delete")
    fake.on(LIST, fixture="apikeys_list_after")
    result, failed = run_module(
        headscale_apikey.main, args(headscale_binary, state="absent", prefix=listed["prefix"]), fake
    )
    assert not failed, result
    assert result["changed"]
    assert len(result["apikeys"]) == 1
    # once gone, nothing to do
    fake.on(LIST, fixture="apikeys_list_after")
    again, failed = run_module(
        headscale_apikey.main, args(headscale_binary, state="absent", prefix=listed["prefix"]), fake
    )
    assert not failed
    assert not again["changed"]


def test_state_absent_needs_a_selector(headscale_binary):
    result, failed = run_module(headscale_apikey.main, args(headscale_binary, state="absent"), None)
    assert failed
    assert "prefix, id, key" in result["msg"]


def test_bad_expiration(headscale_binary):
    result, failed = run_module(headscale_apikey.main, args(headscale_binary, expiration="ninety days"), None)
    assert failed
    assert "not a duration" in result["msg"]
