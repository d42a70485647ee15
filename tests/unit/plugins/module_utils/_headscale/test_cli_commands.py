"""Unit tests of HeadscaleCLI's write commands: one typed method per CLI command, the version branches inside.

Each test runs against every recorded Headscale version (tests/unit/plugins/modules/fixtures/headscale) and
states the command line each version must get, read from the CLI sources of that release (the module
docstring of module_utils/_headscale/cli.py lists the differences).
"""

import pytest
from helpers.headscale_fake import VERSIONS, FakeHeadscale, recorded_json, reported_version

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import cli as hc

from .test_cli import cli_for


def new_style(version):
    """0.28 and later: keys by ID, tag-only pre-auth keys, deletable pre-auth keys, one tag list."""
    return reported_version(version) >= (0, 28, 0)


@pytest.mark.parametrize("version", VERSIONS)
def test_user_create_passes_the_optional_fields_and_normalises(version, tmp_path):
    fake = FakeHeadscale(version).on(["users", "create", "*", "*", "*", "*", "*"], fixture="users_create")
    user = cli_for(fake, tmp_path).user_create("itest", "Integration Test", "itest@example.test")
    assert fake.commands() == [
        ["users", "create", "itest", "--display-name", "Integration Test", "--email", "itest@example.test"]
    ]
    assert user is not None and user["name"] == "itest" and user["display_name"] == "Integration Test"
    fake = FakeHeadscale(version).on(["users", "create", "plain"], out="null\n")
    assert cli_for(fake, tmp_path).user_create("plain") is None
    assert fake.commands() == [["users", "create", "plain"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_user_destroy_names_the_nodes_that_keep_it(version, tmp_path):
    fake = (
        FakeHeadscale(version)
        .on(["users", "destroy", "--identifier", "1", "--force"], fixture="users_destroy_with_node")
        .on(["nodes", "list"], fixture="nodes_list", times=None)
    )
    with pytest.raises(hc.HeadscaleError, match=r"still owns the nodes 1 \(.*\): delete them first"):
        cli_for(fake, tmp_path).user_destroy({"id": 1, "name": "itest"})


@pytest.mark.parametrize("version", VERSIONS)
def test_user_destroy_is_verified(version, tmp_path):
    fake = (
        FakeHeadscale(version)
        .on(["users", "destroy", "--identifier", "1", "--force"], out="null\n")
        .on(["users", "list"], fixture="users_list")
    )
    with pytest.raises(hc.HeadscaleError, match=r"deleted the Headscale user 'itest' .* but it is still listed"):
        cli_for(fake, tmp_path).user_destroy({"id": 1, "name": "itest"})


@pytest.mark.parametrize("version", VERSIONS)
def test_node_commands_return_the_changed_node(version, tmp_path):
    fake = (
        FakeHeadscale(version)
        .on(["nodes", "rename", "-i", "1", "renamed"], fixture="nodes_rename")
        .on(["nodes", "approve-routes", "-i", "1", "-r", "*"], fixture="nodes_approve_routes")
        .on(["nodes", "expire", "-i", "1"], fixture="nodes_expire")
    )
    cli = cli_for(fake, tmp_path)
    assert cli.node_rename(1, "renamed", "node 1")["id"] == 1
    assert cli.node_approve_routes(1, ["10.0.0.0/24"], "node 1")["id"] == 1
    assert cli.node_expire(1, "node 1")["expired"] is True
    assert fake.commands() == [
        ["nodes", "rename", "-i", "1", "renamed"],
        ["nodes", "approve-routes", "-i", "1", "-r", "10.0.0.0/24"],
        ["nodes", "expire", "-i", "1"],
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_node_command_without_a_node_in_its_output_fails(version, tmp_path):
    fake = FakeHeadscale(version).on(["nodes", "expire", "-i", "1"], out="null\n")
    with pytest.raises(hc.HeadscaleError, match="cannot expire node 1: the headscale CLI printed no node"):
        cli_for(fake, tmp_path).node_expire(1, "node 1")


@pytest.mark.parametrize("version", VERSIONS)
def test_node_tags_removing_every_tag(version, tmp_path):
    fake = FakeHeadscale(version).on(["nodes", "tag", "-i", "1", "-t", ""], fixture="nodes_tag_none")
    cli = cli_for(fake, tmp_path)
    node = {"id": 1, "forced_tags": ["tag:a"]}
    if new_style(version):
        # 0.28 keeps a tagged node tagged: refused before any command runs
        with pytest.raises(hc.HeadscaleError, match=r"cannot remove all tags of node 1 \(tags tag:a\)"):
            cli.node_tag(node, [], "node 1")
        assert fake.commands() == []
        assert cli.tags_are_sticky
    else:
        assert cli.node_tag(node, [], "node 1")["forced_tags"] == []
        assert fake.commands() == [["nodes", "tag", "-i", "1", "-t", ""]]
        assert not cli.tags_are_sticky
    cli.check_node_tags("node 1", [], [])  # an untagged node asked for no tags: nothing to refuse


@pytest.mark.parametrize("version", VERSIONS)
def test_node_delete_is_verified(version, tmp_path):
    # up to 0.27 the CLI prints success with -o json even when nothing was deleted
    fake = (
        FakeHeadscale(version)
        .on(["nodes", "delete", "--identifier", "1", "--force"], out="null\n")
        .on(["nodes", "list"], fixture="nodes_list")
    )
    with pytest.raises(hc.HeadscaleError, match="deleted node 1 but Headscale still lists it"):
        cli_for(fake, tmp_path).node_delete(1, "node 1")


@pytest.mark.parametrize("version", VERSIONS)
def test_preauthkey_create_argv_and_owner(version, tmp_path):
    fake = FakeHeadscale(version).on(
        ["preauthkeys", "create", "*", "*", "*", "*", "*", "*", "*"], fixture="preauthkeys_create"
    )
    cli = cli_for(fake, tmp_path)
    secret, info = cli.preauthkey_create({"id": 1, "name": "itest"}, ["tag:ci"], "1h", reusable=True)
    assert fake.commands() == [
        ["preauthkeys", "create", "--user", "1", "--reusable", "--expiration", "1h", "--tags", "tag:ci"]
    ]
    assert secret == recorded_json(version, "preauthkeys_create")["key"]
    assert "key" not in info and info["user_id"] == 1 and secret not in repr(info)
    assert info["key_prefix"] and secret.startswith(info["key_prefix"].split("...")[0])


@pytest.mark.parametrize("version", VERSIONS)
def test_preauthkey_owner_rules(version, tmp_path):
    cli = cli_for(FakeHeadscale(version), tmp_path)
    with pytest.raises(hc.HeadscaleError, match="user is required"):
        cli.check_preauthkey_owner(None, [])
    if new_style(version):
        cli.check_preauthkey_owner(None, ["tag:ci"])  # tag-only keys from 0.28 on
    else:
        with pytest.raises(hc.HeadscaleError, match=r"user is required to mint a pre-auth key with Headscale 0\.2[67]"):
            cli.check_preauthkey_owner(None, ["tag:ci"])
    cli.check_preauthkey_owner({"id": 1, "name": "itest"}, [])


@pytest.mark.parametrize("version", VERSIONS)
def test_preauthkey_retire_by_id_or_by_secret(version, tmp_path):
    secret = "52522d3d6669fc3dee06fe19bf9b480f15efb73c80b7ec37"
    raw = {"id": 4, "key": secret, "user": {"id": 1}}
    fake = FakeHeadscale(version).on(["preauthkeys", "*", "*", "*", "*"], out="null\n", times=None)
    fake.on(["preauthkeys", "*", "*", "*"], out="null\n", times=None)
    cli = cli_for(fake, tmp_path)
    cli.preauthkey_retire(raw, delete=False, label="pre-auth key 4")
    if new_style(version):
        cli.preauthkey_retire(raw, delete=True, label="pre-auth key 4")
        assert fake.commands() == [["preauthkeys", "expire", "--id", "4"], ["preauthkeys", "delete", "--id", "4"]]
        assert cli.listed_preauthkey_secrets([raw]) == []
    else:
        with pytest.raises(hc.HeadscaleError, match="can only expire it"):
            cli.preauthkey_retire(raw, delete=True, label="pre-auth key 4")
        assert fake.commands() == [["preauthkeys", "expire", "--user", "1", secret]]
        assert cli.listed_preauthkey_secrets([raw, {"id": 5}]) == [secret]


# 0.28 expires by ID: only the older versions put the secret on the command line
@pytest.mark.parametrize("version", [version for version in VERSIONS if not new_style(version)])
def test_preauthkey_retire_hides_the_secret_in_errors(version, tmp_path):
    secret = "52522d3d6669fc3dee06fe19bf9b480f15efb73c80b7ec37"
    fake = FakeHeadscale(version).on(["preauthkeys", "expire", "--user", "1", secret], rc=1, err=f"no key {secret}\n")
    with pytest.raises(hc.HeadscaleError) as info:
        cli_for(fake, tmp_path).preauthkey_retire({"id": 4, "key": secret, "user": {"id": 1}}, False, "pre-auth key 4")
    assert secret not in str(info.value) and "********" in str(info.value)


@pytest.mark.parametrize("version", VERSIONS)
def test_apikey_commands(version, tmp_path):
    fake = (
        FakeHeadscale(version)
        .on(["apikeys", "create", "--expiration", "90d"], fixture="apikeys_create")
        .on(["apikeys", "*", "*", "*"], out="null\n", times=None)
    )
    cli = cli_for(fake, tmp_path)
    created = cli.apikey_create("90d")
    assert created == recorded_json(version, "apikeys_create")
    key = {"id": 3, "prefix": "abcdefg"}
    cli.apikey_retire(key, delete=False, what="id 3")
    cli.apikey_retire(key, delete=True, what="id 3")
    selector = ["--id", "3"] if new_style(version) else ["--prefix", "abcdefg"]
    assert fake.commands()[1:] == [["apikeys", "expire", *selector], ["apikeys", "delete", *selector]]
    fake = FakeHeadscale(version).on(["apikeys", "create", "--expiration", "90d"], out="null\n")
    with pytest.raises(hc.HeadscaleError, match="printed no key"):
        cli_for(fake, tmp_path).apikey_create("90d")
