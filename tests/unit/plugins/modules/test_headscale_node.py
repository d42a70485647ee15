"""headscale_node against CLI output recorded from each Headscale release (fixtures/headscale/<version>).

The node fixtures come from a real Tailscale client registered with the recorded server, announcing
10.98.0.0/24 and 10.99.0.0/24 (see the README of each version).
"""

import json

import pytest
from helpers.headscale_fake import (
    VERSIONS,
    FakeHeadscale,
    has,
    recorded_json,
    run_module,
    version_tuple,
)

from ansible_collections.wgops.fleet.plugins.modules import headscale_node

NODE_VERSIONS = [v for v in VERSIONS if has(v, "nodes_list")]
LIST = ["nodes", "list"]


def test_every_version_has_node_fixtures():
    assert NODE_VERSIONS == VERSIONS


def args(binary, **extra):
    return {"binary": binary, **extra}


def node_id(version):
    return str(recorded_json(version, "nodes_list")[0]["id"])


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_read_node_by_each_selector(version, headscale_binary):
    raw = recorded_json(version, "nodes_list")[0]
    for selector in ({"name": "itest-n1"}, {"id": raw["id"]}, {"node_key": raw["node_key"]}):
        fake = FakeHeadscale(version).on(LIST, fixture="nodes_list")
        result, failed = run_module(headscale_node.main, args(headscale_binary, **selector), fake)
        assert not failed, result
        assert not result["changed"]
        assert result["changes"] == []
        node = result["node"]
        assert node["id"] == raw["id"]
        assert node["available_routes"] == ["10.98.0.0/24", "10.99.0.0/24"]
        assert node["approved_routes"] == []
        assert node["user"] == "itest"
        assert fake.commands() == [LIST]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_approve_routes(version, headscale_binary):
    approve = ["nodes", "approve-routes", "-i", node_id(version), "-r", "10.99.0.0/24"]
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list")
    fake.on(approve, fixture="nodes_approve_routes")
    fake.on(LIST, fixture="nodes_list_approved")
    result, failed = run_module(
        headscale_node.main, args(headscale_binary, name="itest-n1", approved_routes=["10.99.0.9/24"]), fake, diff=True
    )
    assert not failed, result
    assert result["changed"]
    assert result["changes"] == ["approved_routes"]
    assert result["node"]["approved_routes"] == ["10.99.0.0/24"]
    assert result["diff"]["before"]["approved_routes"] == []
    assert result["diff"]["after"]["approved_routes"] == ["10.99.0.0/24"]
    assert fake.commands() == [LIST, approve, LIST]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_approved_routes_already_set(version, headscale_binary):
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list_approved")
    result, failed = run_module(
        headscale_node.main, args(headscale_binary, name="itest-n1", approved_routes=["10.99.0.0/24"]), fake
    )
    assert not failed, result
    assert not result["changed"]
    assert fake.commands() == [LIST]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_clear_routes_and_exit_node(version, headscale_binary):
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list_approved")
    fake.on(["nodes", "approve-routes", "-i", node_id(version), "-r", ""], fixture="nodes_approve_none")
    fake.on(LIST, fixture="nodes_list")
    result, failed = run_module(headscale_node.main, args(headscale_binary, name="itest-n1", approved_routes=[]), fake)
    assert not failed, result
    assert result["changed"]
    assert result["node"]["approved_routes"] == []

    # one default route approves both; both given or one given is the same full set
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list")
    exit_routes = ["nodes", "approve-routes", "-i", node_id(version), "-r", "0.0.0.0/0,::/0"]
    fake.on(exit_routes, fixture="nodes_approve_exit")
    exit_listed = json.dumps([recorded_json(version, "nodes_approve_exit")])
    fake.on(LIST, out=exit_listed)
    result, failed = run_module(
        headscale_node.main, args(headscale_binary, name="itest-n1", approved_routes=["::/0"]), fake
    )
    assert not failed, result
    assert result["node"]["approved_routes"] == ["0.0.0.0/0", "::/0"]
    fake = FakeHeadscale(version).on(LIST, out=exit_listed)
    result, _failed = run_module(
        headscale_node.main, args(headscale_binary, name="itest-n1", approved_routes=["0.0.0.0/0"]), fake
    )
    assert not result["changed"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_check_mode_changes_nothing(version, headscale_binary):
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list")
    result, failed = run_module(
        headscale_node.main,
        args(
            headscale_binary,
            name="itest-n1",
            approved_routes=["10.99.0.0/24"],
            tags=["tag:ci"],
            rename="x1",
            state="expired",
        ),
        fake,
        check_mode=True,
        diff=True,
    )
    assert not failed, result
    assert result["changed"]
    assert result["changes"] == ["given_name", "tags", "approved_routes", "expired"]
    assert result["node"]["given_name"] == "x1"
    assert result["node"]["tags"] == ["tag:ci"]
    assert result["node"]["expired"] is True
    assert result["diff"]["before"]["expired"] is False
    assert fake.commands() == [LIST]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_rename_and_tag(version, headscale_binary):
    nid = node_id(version)
    rename = ["nodes", "rename", "-i", nid, "itest-renamed"]
    tag = ["nodes", "tag", "-i", nid, "-t", "tag:ci,tag:db"]
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list")
    fake.on(rename, fixture="nodes_rename")
    fake.on(tag, fixture="nodes_tag")
    fake.on(LIST, fixture="nodes_list_tagged")
    result, failed = run_module(
        headscale_node.main,
        args(headscale_binary, name="itest-n1", rename="itest-renamed", tags=["tag:db", "tag:ci"]),
        fake,
    )
    assert not failed, result
    assert result["changes"] == ["given_name", "tags"]
    assert result["node"]["given_name"] == "itest-renamed"
    assert fake.commands() == [LIST, rename, tag, LIST]

    # found again by its host name, nothing to do
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list_tagged")
    result, failed = run_module(
        headscale_node.main,
        args(headscale_binary, name="itest-n1", rename="itest-renamed", tags=["tag:ci", "tag:db"]),
        fake,
    )
    assert not failed, result
    assert not result["changed"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_remove_all_tags(version, headscale_binary):
    nid = node_id(version)
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list_tagged")
    if version_tuple(version) >= (0, 28, 0):
        result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), tags=[]), fake)
        assert failed
        assert "cannot remove all tags" in result["msg"]
        assert "--advertise-tags=" in result["msg"]
        assert fake.commands() == [LIST]
    else:
        fake.on(["nodes", "tag", "-i", nid, "-t", ""], fixture="nodes_tag_none")
        fake.on(LIST, fixture="nodes_list_approved")
        result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), tags=[]), fake)
        assert not failed, result
        assert result["changes"] == ["tags"]
        assert result["node"]["forced_tags"] == []


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_tag_refused_by_the_server(version, headscale_binary):
    nid = node_id(version)
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list")
    fake.on(["nodes", "tag", "-i", nid, "-t", "tag:nosuchtag"], fixture="nodes_tag_undefined")
    if version_tuple(version) >= (0, 28, 0):
        # tags must be defined in the policy's tagOwners
        result, failed = run_module(
            headscale_node.main, args(headscale_binary, id=int(nid), tags=["tag:nosuchtag"]), fake
        )
        assert failed
        assert f"cannot set the tags of node {nid} (itest-n1)" in result["msg"]
        assert "tag:nosuchtag" in result["msg"]
    else:
        # up to 0.27 any well-formed tag becomes a forced tag
        fake.on(LIST, out=json.dumps([recorded_json(version, "nodes_tag_undefined")]))
        result, failed = run_module(
            headscale_node.main, args(headscale_binary, id=int(nid), tags=["tag:nosuchtag"]), fake
        )
        assert not failed, result
        assert result["node"]["forced_tags"] == ["tag:nosuchtag"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_invalid_rename_fails_with_the_reason(version, headscale_binary):
    nid = node_id(version)
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list")
    fake.on(["nodes", "rename", "-i", nid, "Not A Name"], fixture="nodes_rename_invalid")
    result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), rename="Not A Name"), fake)
    assert failed
    assert f"cannot rename node {nid} (itest-n1)" in result["msg"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_expire(version, headscale_binary):
    nid = node_id(version)
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list_tagged")
    fake.on(["nodes", "expire", "-i", nid], fixture="nodes_expire")
    fake.on(LIST, fixture="nodes_list_expired")
    result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), state="expired"), fake)
    assert not failed, result
    assert result["changes"] == ["expired"]
    assert result["node"]["expired"] is True
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list_expired")
    result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), state="expired"), fake)
    assert not failed, result
    assert not result["changed"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_delete(version, headscale_binary):
    nid = node_id(version)
    delete = ["nodes", "delete", "--identifier", nid, "--force"]
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list_expired")
    fake.on(delete, fixture="nodes_delete")
    fake.on(LIST, fixture="nodes_list_after_delete")
    result, failed = run_module(
        headscale_node.main, args(headscale_binary, name="itest-renamed", state="absent"), fake, diff=True
    )
    assert not failed, result
    assert result["changed"]
    assert result["node"] is None
    assert result["diff"]["after"] == {}
    assert fake.commands() == [LIST, delete, LIST]

    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list_after_delete")
    result, failed = run_module(headscale_node.main, args(headscale_binary, name="itest-renamed", state="absent"), fake)
    assert not failed, result
    assert not result["changed"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_delete_that_did_not_happen_is_caught(version, headscale_binary):
    # up to 0.27 `nodes delete -o json` prints success even when the deletion failed
    nid = node_id(version)
    fake = FakeHeadscale(version)
    fake.on(LIST, fixture="nodes_list", times=None)
    fake.on(["nodes", "delete", "--identifier", nid, "--force"], out="null\n")
    result, failed = run_module(headscale_node.main, args(headscale_binary, id=int(nid), state="absent"), fake)
    assert failed
    assert "still lists it" in result["msg"]


@pytest.mark.parametrize("version", NODE_VERSIONS)
def test_missing_node(version, headscale_binary):
    fake = FakeHeadscale(version).on(LIST, fixture="nodes_list")
    result, failed = run_module(headscale_node.main, args(headscale_binary, name="ghost", approved_routes=[]), fake)
    assert failed
    assert "Headscale has no node with name 'ghost'" in result["msg"]
    assert "(itest-n1)" in result["msg"]


def test_bad_route(headscale_binary):
    result, failed = run_module(
        headscale_node.main, args(headscale_binary, id=1, approved_routes=["10.0.0.0/33"]), None
    )
    assert failed
    assert result["msg"].startswith("approved_routes: ")


def test_selector_required(headscale_binary):
    result, failed = run_module(headscale_node.main, args(headscale_binary, tags=[]), None)
    assert failed
    assert "one of the following is required: id, name, node_key" in result["msg"]
