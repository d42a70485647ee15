"""Unit tests of module_utils/_headscale/cli.py, on output recorded from the real headscale binaries.

The recorded output is under tests/unit/plugins/modules/fixtures/headscale/<version>/ (README.md there
names the command behind every file); tests run for each recorded version.
"""

import json
import subprocess
from pathlib import Path

import pytest
from helpers.headscale_fake import (
    VERSIONS,
    FakeHeadscale,
    bad_policy_reason,
    development_build,
    has,
    recorded,
    recorded_json,
    reported_version,
    version_tuple,
)

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import cli as hc


def test_recorded_versions_cover_the_pinned_ones():
    # the fixtures must exist for every version the integration test runs (go-binaries.sh pins them)
    go_binaries = Path(__file__).resolve().parents[4] / "testbed" / "go-binaries.sh"
    listed = subprocess.run([str(go_binaries), "--versions"], capture_output=True, text=True, check=True).stdout
    pinned = {line.split("=", 1)[1] for line in listed.split() if line.startswith("headscale=")}
    assert pinned, listed
    assert pinned <= set(VERSIONS), f"record fixtures for {sorted(pinned - set(VERSIONS))}"


# ------------------------------------------------------------------------------------------ JSON


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["users_list_empty", "nodes_list_empty", "apikeys_list_empty"])
def test_empty_lists_print_null(version, name):
    rc, out, _err = recorded(version, name)
    assert rc == 0
    assert out.strip() == "null"
    assert hc.parse_json_output(out) is None
    assert hc.as_list(hc.parse_json_output(out)) == []


def test_parse_json_output_values():
    assert hc.parse_json_output("") is None
    assert hc.parse_json_output("  \n") is None
    assert hc.parse_json_output("null\n") is None
    assert hc.parse_json_output("[]") == []
    assert hc.parse_json_output('"hskey-api-x"\n') == "hskey-api-x"
    assert hc.parse_json_output("{}\n") == {}


def test_parse_json_output_skips_log_lines():
    # log.format json makes the CLI log to stdout, around the document
    out = (
        '{"level":"info","time":"2025-01-01T00:00:00Z","message":"Setting timeout"}\n'
        '[\n\t{\n\t\t"id": 1,\n\t\t"name": "a"\n\t}\n]\n'
        '{"level":"debug","message":"done"}\n'
    )
    assert hc.parse_json_output(out) == [{"id": 1, "name": "a"}]
    assert hc.parse_json_output("2025-01-01T00:00:00Z INF something\nnull\n") is None


def test_parse_json_output_refuses_text():
    with pytest.raises(ValueError, match="no JSON"):
        hc.parse_json_output("Policy updated.\n")


def test_as_list():
    assert hc.as_list(None) == []
    assert hc.as_list([]) == []
    assert hc.as_list(["a"]) == ["a"]
    assert hc.as_list("a") == ["a"]


# ------------------------------------------------------------------------------------------ timestamps


def test_timestamp_forms():
    assert hc.timestamp({"seconds": 1700000000, "nanos": 500000000}) == "2023-11-14T22:13:20.5Z"
    assert hc.timestamp({"seconds": 1700000000}) == "2023-11-14T22:13:20Z"
    assert hc.timestamp({}) == "1970-01-01T00:00:00Z"
    assert hc.timestamp(None) is None
    assert hc.timestamp({"seconds": hc.GO_ZERO_TIME_SECONDS}) is None  # Go's zero time: "never"
    assert hc.timestamp("2025-01-01T00:00:00Z") == "2025-01-01T00:00:00Z"
    assert hc.timestamp("") is None


def test_is_past():
    assert hc.is_past({"seconds": 100}, now=200)
    assert hc.is_past({"seconds": 200}, now=200)
    assert not hc.is_past({"seconds": 300}, now=200)
    assert not hc.is_past(None, now=200)
    assert not hc.is_past({"seconds": hc.GO_ZERO_TIME_SECONDS}, now=200)
    assert hc.is_past("1970-01-01T00:01:40Z", now=200)


# ------------------------------------------------------------------------------------------ version


@pytest.mark.parametrize("version", VERSIONS)
def test_version_json_of_each_release(version):
    rc, out, err = recorded(version, "version")
    if version_tuple(version) < (0, 27, 0):
        # 0.26 registers no -o flag for `version`
        assert rc == 1 and "unknown shorthand flag: 'o' in -o" in err
    else:
        assert hc.parse_version(json.loads(out)["version"]) == version_tuple(version)
    _rc, text, _err = recorded(version, "version_text")
    # a development build says "dev" (the CLI then tells the release by its commands)
    assert hc.parse_version(text) == (None if development_build(version) else version_tuple(version))


def test_parse_version_forms():
    assert hc.parse_version("v0.26.1") == (0, 26, 1)
    assert hc.parse_version("0.29.3\n") == (0, 29, 3)
    assert hc.parse_version("headscale version v0.28.0\ncommit: unknown\nbuilt with: go1.26.8\n") == (0, 28, 0)
    assert hc.parse_version("dev") is None
    assert hc.parse_version("") is None


class FakeModule:
    """Just what HeadscaleCLI uses of AnsibleModule."""

    def __init__(self, fake):
        self.fake = fake
        self.params = {}

    def run_command(self, argv, environ_update=None):
        return self.fake(argv, environ_update=environ_update)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return None


def cli_for(fake, tmp_path, config="/etc/hs.yaml"):
    binary = tmp_path / "headscale"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return hc.HeadscaleCLI(FakeModule(fake), binary=str(binary), config=config)


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_detects_each_recorded_version(version, tmp_path):
    fake = FakeHeadscale(version)
    cli = cli_for(fake, tmp_path)
    assert cli.version == reported_version(version)
    assert fake.calls[0] == {
        "args": ["version"],
        "json": True,
        "config": None,  # `version` registers no -c flag
        "env": {"HEADSCALE_LOG_FORMAT": "text", "HEADSCALE_DISABLE_CHECK_UPDATES": "true"},
    }
    calls = len(fake.calls)  # 1, or for a 0.26 development build: text version and two help probes
    assert calls == (4 if development_build(version) else 1)
    assert cli.version == reported_version(version)
    assert len(fake.calls) == calls  # cached


def test_cli_detects_026_without_json_version(tmp_path):
    # 0.26 registers no -o flag for `version` and prints the bare version (cmd/headscale/cli/version.go)
    fake = FakeHeadscale("v0.27.1")
    fake.rules.clear()
    fake.on(["version"], rc=1, err="Error: unknown shorthand flag: 'o' in -o\n", json_output=True)
    fake.on(["version"], out="v0.26.1\n", json_output=False)
    assert cli_for(fake, tmp_path).version == (0, 26, 1)


@pytest.mark.parametrize(
    ("help_answers", "expected"),
    [
        ({"auth": (0, "Usage:\n  headscale auth [command]\n  register ..."), "json": True}, (0, 29, 0)),
        ({"auth": (1, ""), "pre": (0, "  create  delete  expire  list"), "json": True}, (0, 28, 0)),
        ({"auth": (1, ""), "pre": (0, "  create  expire  list"), "json": True}, (0, 27, 0)),
        ({"auth": (1, ""), "pre": (0, "  create  expire  list"), "json": False}, (0, 26, 0)),
    ],
)
def test_cli_probes_development_builds(help_answers, expected, tmp_path):
    fake = FakeHeadscale("v0.27.1")
    fake.rules.clear()
    if help_answers["json"]:
        fake.on(["version"], out='{"version": "dev", "commit": "abc"}', json_output=True)
    else:
        fake.on(["version"], rc=1, err="unknown shorthand flag: 'o' in -o", json_output=True)
        fake.on(["version"], out="dev\n", json_output=False)
    fake.on(["auth", "--help"], rc=help_answers["auth"][0], out=help_answers["auth"][1])
    if "pre" in help_answers:
        fake.on(["preauthkeys", "--help"], rc=help_answers["pre"][0], out=help_answers["pre"][1])
    assert cli_for(fake, tmp_path).version == expected


def test_cli_refuses_versions_before_026(tmp_path):
    fake = FakeHeadscale("v0.27.1")
    fake.rules.clear()
    fake.on(["version"], out='{"version": "v0.25.1"}', json_output=True)
    with pytest.raises(hc.HeadscaleError, match=r"0\.25\.1 .* not supported.* 0\.26\.0 or newer"):
        cli_for(fake, tmp_path).check_version()


def test_cli_missing_binary(tmp_path):
    with pytest.raises(hc.HeadscaleError, match="cannot find the headscale binary 'headscale'"):
        hc.HeadscaleCLI(FakeModule(None), binary="headscale")
    with pytest.raises(hc.HeadscaleError, match="does not exist or is not executable"):
        hc.HeadscaleCLI(FakeModule(None), binary=str(tmp_path / "nope"))


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_error_carries_what_the_cli_said(version, tmp_path):
    fake = FakeHeadscale(version).on(["users", "create", "itest"], fixture="users_create_duplicate")
    cli = cli_for(fake, tmp_path)
    with pytest.raises(hc.HeadscaleError) as info:
        cli.run(["users", "create", "itest"], "create the Headscale user 'itest'")
    message = str(info.value)
    assert message.startswith("cannot create the Headscale user 'itest': `")
    assert "users create itest -o json` failed (rc=1)" in message
    assert "UNIQUE constraint failed: users.name" in message
    assert not message.rstrip().endswith("}")  # the JSON error object is unwrapped


def test_cli_silent_failure_is_diagnosed(tmp_path):
    # up to 0.28 a connection failure after -o json silenced the log exits 1 without a word
    fake = FakeHeadscale("v0.27.1")
    fake.on(["nodes", "list"], rc=1)
    fake.on(
        ["users", "list"],
        rc=1,
        err="2025-01-01T00:00:00Z FTL Could not connect: context deadline exceeded\n",
        json_output=False,
    )
    with pytest.raises(hc.HeadscaleError, match=r"it printed nothing; without -o json it says: .*Could not connect"):
        cli_for(fake, tmp_path).nodes()


def test_cli_never_shows_secret_output(tmp_path):
    fake = FakeHeadscale("v0.28.0").on(["apikeys", "create"], rc=0, out="hskey-api-SECRETSECRET-verysecret\n")
    with pytest.raises(hc.HeadscaleError) as info:
        cli_for(fake, tmp_path).run(["apikeys", "create"], "create an API key", secret_output=True)
    assert "verysecret" not in str(info.value)
    assert "hidden" in str(info.value)

    fake.on(["apikeys", "create"], rc=1, out="hskey-api-SECRETSECRET-verysecret\n")
    with pytest.raises(hc.HeadscaleError) as info:
        cli_for(fake, tmp_path).run(["apikeys", "create"], "create an API key", secret_output=True)
    assert "verysecret" not in str(info.value)


def test_cli_masks_secret_arguments(tmp_path):
    key = "c3ddf58711db342a3d5156b6f803b3c4e6fb9f46c14e1a20"
    fake = FakeHeadscale("v0.27.1").on(
        ["preauthkeys", "expire", "--user", "1", key], rc=1, err=json.dumps({"error": f"key {key} not found"})
    )
    with pytest.raises(hc.HeadscaleError) as info:
        cli_for(fake, tmp_path).run(["preauthkeys", "expire", "--user", "1", key], "expire", secret_args=(key,))
    assert key not in str(info.value)
    assert "********" in str(info.value)


def test_cli_error_text():
    assert hc.cli_error_text('{\n\t"error": "boom"\n}\n') == "boom"
    assert hc.cli_error_text("") == ""
    assert hc.cli_error_text("a\nb\n\nc\n") == "a | b | c"


# ------------------------------------------------------------------------------------------ users


@pytest.mark.parametrize("version", VERSIONS)
def test_normalize_users(version):
    users = [hc.normalize_user(raw) for raw in recorded_json(version, "users_list")]
    itest = hc.find_user(users, name="itest")
    assert itest["display_name"] == "Integration Test"
    assert itest["email"] == "itest@example.test"
    assert itest["created_at"].endswith("Z")
    doomed = hc.find_user(users, name="doomed")
    # absent keys mean empty
    assert doomed["display_name"] == doomed["email"] == doomed["provider"] == ""
    assert hc.find_user(users, user_id=itest["id"]) is itest
    assert hc.find_user(users, name="nobody") is None
    assert hc.find_user(users, user_id=999) is None


def test_find_user_refuses_ambiguous_names():
    users = [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}]
    with pytest.raises(hc.HeadscaleError, match=r"several Headscale users are called 'a' \(IDs 1, 2\)"):
        hc.find_user(users, name="a")


# ------------------------------------------------------------------------------------------ pre-auth keys


@pytest.mark.parametrize("version", VERSIONS)
def test_normalize_preauthkeys(version):
    created = recorded_json(version, "preauthkeys_create_tagged")
    key = hc.normalize_preauthkey(created)
    assert key["reusable"] is True
    assert key["ephemeral"] is False  # absent in the JSON
    assert key["used"] is False  # absent in the JSON
    assert key["tags"] == ["tag:ci"]
    assert key["user"] == "itest"
    assert not key["expired"]
    assert created["key"].startswith(key["key_prefix"])
    assert key["key_prefix"] != created["key"]
    assert "key" not in key

    plain = hc.normalize_preauthkey(recorded_json(version, "preauthkeys_create"))
    assert plain["reusable"] is False
    assert plain["tags"] == []  # acl_tags absent

    listed = [hc.normalize_preauthkey(raw) for raw in recorded_json(version, "preauthkeys_list")]
    expired = next(k for k in listed if k["id"] == plain["id"])
    assert expired["expired"]


@pytest.mark.parametrize("version", VERSIONS)
def test_preauthkey_listing_and_matching(version):
    created = recorded_json(version, "preauthkeys_create_tagged")
    listed = next(raw for raw in recorded_json(version, "preauthkeys_list") if raw["id"] == created["id"])
    secret = created["key"]
    if version_tuple(version) >= (0, 28, 0):
        # the secret is shown once; lists show hskey-auth-<12 character prefix>-***
        assert listed["key"] != secret
        assert listed["key"].endswith("-***")
        assert secret.startswith(listed["key"][:-3])
        assert len(hc.preauthkey_prefix(secret)) == len("hskey-auth-") + 12
    else:
        assert listed["key"] == secret  # up to 0.27 the list shows the full key
        assert hc.preauthkey_prefix(secret) == secret[:8]
    prefix = hc.preauthkey_prefix(secret)
    assert hc.preauthkey_prefix(listed["key"]) == prefix
    for wanted in (secret, prefix, prefix[:-2]):
        assert hc.preauthkey_matches(listed["key"], wanted), wanted
    if prefix.startswith("hskey-auth-"):
        assert hc.preauthkey_matches(listed["key"], prefix[len("hskey-auth-") :])
    others = [raw for raw in recorded_json(version, "preauthkeys_list") if raw["id"] != created["id"]]
    assert not any(hc.preauthkey_matches(raw["key"], secret) for raw in others)


def test_preauthkey_prefix_with_dashes():
    # 0.28 prefixes are URL-safe base64 and may hold "-" (recorded: hskey-auth--7fw0BSXI2e4-***)
    listed = "hskey-auth--7fw0BSXI2e4-***"
    assert hc.preauthkey_prefix(listed) == "hskey-auth--7fw0BSXI2e4"
    assert hc.preauthkey_prefix("hskey-auth--7fw0BSXI2e4-abcdef") == "hskey-auth--7fw0BSXI2e4"
    assert hc.preauthkey_matches(listed, "-7fw0BSXI2e4")
    assert hc.preauthkey_matches(listed, "hskey-auth--7fw0BSXI2e4-abcdef")
    assert not hc.preauthkey_matches(listed, "hskey-auth--7fw0BSXI2e5")
    assert not hc.preauthkey_matches(listed, "hskey-auth-")  # never "every key"
    assert not hc.preauthkey_matches(listed, "")


# Tag-only keys (no --user) exist from 0.28: only those versions have the recording.
@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) >= (0, 28, 0)])
def test_tag_only_preauthkeys(version):
    key = hc.normalize_preauthkey(recorded_json(version, "preauthkeys_create_tags_only"))
    assert key["user"] is None
    assert key["user_id"] is None
    assert key["tags"] == ["tag:ci"]


# ------------------------------------------------------------------------------------------ API keys


@pytest.mark.parametrize("version", VERSIONS)
def test_apikeys(version):
    secret = recorded_json(version, "apikeys_create")
    assert isinstance(secret, str)
    keys = [hc.normalize_apikey(raw) for raw in recorded_json(version, "apikeys_list")]
    prefix = hc.apikey_prefix(secret)
    mine = [k for k in keys if k["prefix"] == prefix]
    assert len(mine) == 1
    assert not mine[0]["expired"]
    assert mine[0]["last_seen"] is None
    if version_tuple(version) >= (0, 28, 0):
        assert len(prefix) == 12
        assert mine[0]["display_prefix"] == f"hskey-api-{prefix}-***"
    else:
        assert len(prefix) == 7
        assert mine[0]["display_prefix"] == prefix
    after = [hc.normalize_apikey(raw) for raw in recorded_json(version, "apikeys_list_after")]
    assert len(after) == 1
    assert after[0]["expired"]


def test_apikey_prefix_forms():
    assert hc.apikey_prefix("hskey-api-9-swE-FId_BS-5_kPX9Ju1lZG") == "9-swE-FId_BS"
    assert hc.apikey_prefix("hskey-api-9-swE-FId_BS-***") == "9-swE-FId_BS"
    assert hc.apikey_prefix("hskey-api-9-swE-FId_BS") == "9-swE-FId_BS"
    assert hc.apikey_prefix("9Pk94-u.secretpart") == "9Pk94-u"
    assert hc.apikey_prefix("9Pk94-u***") == "9Pk94-u"
    assert hc.apikey_prefix("9Pk94-u") == "9Pk94-u"
    assert hc.apikey_prefix("") == ""


# ------------------------------------------------------------------------------------------ nodes


def node_versions():
    return [v for v in VERSIONS if has(v, "nodes_list")]


@pytest.mark.parametrize("version", node_versions())
def test_normalize_node_of_each_release(version):
    raw = recorded_json(version, "nodes_list")[0]
    node = hc.normalize_node(raw, version_tuple(version))
    assert node["name"] == "itest-n1"
    assert node["given_name"] == "itest-n1"
    assert node["user"] == "itest"
    assert node["online"] is True
    assert node["available_routes"] == ["10.98.0.0/24", "10.99.0.0/24"]
    assert node["approved_routes"] == []  # absent in the JSON
    assert node["subnet_routes"] == []
    assert node["tags"] == node["forced_tags"] == []
    assert node["expired"] is False
    assert len(node["ip_addresses"]) == 2
    assert node["node_key"].startswith("nodekey:")
    assert node["register_method"] == "authkey"
    assert node["last_seen"] is None or node["last_seen"].endswith("Z")

    approved = hc.normalize_node(recorded_json(version, "nodes_approve_routes"), version_tuple(version))
    assert approved["approved_routes"] == ["10.99.0.0/24"]
    exit_node = hc.normalize_node(recorded_json(version, "nodes_approve_exit"), version_tuple(version))
    assert exit_node["approved_routes"] == ["0.0.0.0/0", "::/0"]
    cleared = hc.normalize_node(recorded_json(version, "nodes_approve_none"), version_tuple(version))
    assert cleared["approved_routes"] == []
    renamed = hc.normalize_node(recorded_json(version, "nodes_rename"), version_tuple(version))
    assert renamed["given_name"] == "itest-renamed"
    assert renamed["name"] == "itest-n1"
    tagged = hc.normalize_node(recorded_json(version, "nodes_tag"), version_tuple(version))
    assert tagged["forced_tags"] == ["tag:ci", "tag:db"]
    assert tagged["tags"] == ["tag:ci", "tag:db"]
    expired = hc.normalize_node(recorded_json(version, "nodes_list_expired")[0], version_tuple(version))
    assert expired["expired"] is True


@pytest.mark.parametrize("version", node_versions())
def test_node_tag_fields_by_release(version):
    raw = recorded_json(version, "nodes_tag")
    if version_tuple(version) >= (0, 28, 0):
        assert raw["tags"] == ["tag:ci", "tag:db"]
        assert "forced_tags" not in raw
        # tags own the node now: `nodes list` shows it under a pseudo user
        listed = recorded_json(version, "nodes_list_tagged")[0]
        assert hc.normalize_node(listed, version_tuple(version))["user"] == "tagged-devices"
    else:
        assert raw["forced_tags"] == ["tag:ci", "tag:db"]
        assert "tags" not in raw


def test_normalize_node_old_tag_fields():
    node = hc.normalize_node(
        {"id": 1, "forced_tags": ["tag:b"], "valid_tags": ["tag:a", "tag:b"], "invalid_tags": ["tag:x"]}, (0, 27, 1)
    )
    assert node["forced_tags"] == ["tag:b"]
    assert node["tags"] == ["tag:a", "tag:b"]
    assert node["invalid_tags"] == ["tag:x"]
    bare = hc.normalize_node({"id": 2}, (0, 27, 1))
    assert bare["forced_tags"] == bare["tags"] == []
    assert bare["user"] is None
    assert bare["online"] is False
    assert bare["expiry"] is None
    assert bare["expired"] is False
    assert hc.normalize_node(None) is None


def test_find_node():
    nodes = [
        {"id": 1, "name": "host-a", "given_name": "alpha", "node_key": "nodekey:aa"},
        {"id": 2, "name": "alpha", "given_name": "beta", "node_key": "nodekey:bb"},
        {"id": 3, "name": "dup", "given_name": "dup-1", "node_key": "nodekey:cc"},
        {"id": 4, "name": "dup", "given_name": "dup-2", "node_key": "nodekey:dd"},
    ]
    assert hc.find_node(nodes, node_id=2)["id"] == 2
    assert hc.find_node(nodes, name="alpha")["id"] == 1  # the given name wins over a host name
    assert hc.find_node(nodes, name="host-a")["id"] == 1
    assert hc.find_node(nodes, node_key="bb")["id"] == 2
    assert hc.find_node(nodes, node_key="nodekey:cc")["id"] == 3
    assert hc.find_node(nodes, name="nope") is None
    assert hc.find_node(nodes, node_id=9) is None
    with pytest.raises(hc.HeadscaleError, match=r"several Headscale nodes match name 'dup': 3 \(dup-1\), 4"):
        hc.find_node(nodes, name="dup")


def test_routes():
    assert hc.canonical_prefix("10.1.2.3/24") == "10.1.2.0/24"
    assert hc.canonical_prefix(" fd00::1/64 ") == "fd00::/64"
    with pytest.raises(ValueError):
        hc.canonical_prefix("10.1.2.300/24")
    assert hc.expand_exit_routes(["0.0.0.0/0"]) == ["0.0.0.0/0", "::/0"]
    assert hc.expand_exit_routes(["::/0", "10.0.0.0/8"]) == ["0.0.0.0/0", "10.0.0.0/8", "::/0"]
    assert hc.sort_prefixes(["10.99.0.0/24", "10.98.0.0/24", "10.98.0.0/24"]) == ["10.98.0.0/24", "10.99.0.0/24"]


# ------------------------------------------------------------------------------------------ policy


GOOD_POLICY = {
    "tagOwners": {"tag:ci": ["itest@"], "tag:db": ["itest@"]},
    "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_get_returns_hujson_as_stored(version):
    rc, out, _err = recorded(version, "policy_get")
    assert rc == 0
    assert "// test policy" in out  # stored as given, comments and all
    assert hc.parse_hujson(out) == GOOD_POLICY


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_get_without_policy_is_none(version, tmp_path):
    fake = FakeHeadscale(version).on(["policy", "get"], fixture="policy_get_none")
    assert cli_for(fake, tmp_path).policy_get() is None


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_get_in_file_mode_without_a_policy_file_is_none(version, tmp_path):
    fake = FakeHeadscale(version).on(["policy", "get"], fixture="policy_get_file_none")
    assert cli_for(fake, tmp_path).policy_get() is None


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_get_other_errors_raise(version, tmp_path):
    said = '{"error": "reading policy from path \\"/etc/headscale/policy.hujson\\": permission denied"}'
    fake = FakeHeadscale(version).on(["policy", "get"], rc=1, err=said)
    with pytest.raises(hc.HeadscaleError, match="permission denied"):
        cli_for(fake, tmp_path).policy_get()


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_check_flags_by_release(version, tmp_path):
    online = version_tuple(version) >= (0, 29, 0)
    fake = FakeHeadscale(version).on(["policy", "check", "-f", "/p.json"], fixture="policy_check_bad")
    cli = cli_for(fake, tmp_path)
    with pytest.raises(hc.HeadscaleError, match=r"policy refused by .*" + bad_policy_reason(version)):
        cli.policy_check("/p.json")
    call = fake.calls[-1]
    # up to 0.28 `policy check` registers neither -c nor -o; 0.29 asks the server (needs -c)
    assert call["json"] is False
    assert call["config"] == ("/etc/hs.yaml" if online else None)
    fake.on(["policy", "check", "-f", "/p.json"], fixture="policy_check_good")
    cli.policy_check("/p.json")


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_set_refused(version, tmp_path):
    fake = FakeHeadscale(version).on(["policy", "set", "-f", "/p.json"], fixture="policy_set_bad")
    with pytest.raises(hc.HeadscaleError, match=r"cannot set the Headscale policy: .*" + bad_policy_reason(version)):
        cli_for(fake, tmp_path).policy_set("/p.json")


def test_policy_set_file_mode_hint(tmp_path):
    err = '{"error": "rpc error: code = Unknown desc = update is disabled for modes other than \'database\'"}'
    fake = FakeHeadscale("v0.28.0").on(["policy", "set", "-f", "/p"], rc=1, err=err)
    with pytest.raises(hc.HeadscaleError, match=r"policy\.mode file"):
        cli_for(fake, tmp_path).policy_set("/p")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{\n  // comment\n  "a": [1, 2,],\n}\n', {"a": [1, 2]}),
        ('{"a": "http://x//y", /* c, } */ "b": ",}"}', {"a": "http://x//y", "b": ",}"}),
        ('{"a": "q\\"//", "b": [1, // one\n 2, /* two */ ], }', {"a": 'q"//', "b": [1, 2]}),
        ("[1, 2, // last\n]", [1, 2]),
    ],
)
def test_hujson(text, value):
    assert hc.parse_hujson(text) == value


def test_hujson_errors():
    with pytest.raises(ValueError):
        hc.parse_hujson("{/* open")
    with pytest.raises(ValueError):
        hc.parse_hujson("{a: 1}")


def test_valid_duration():
    for value in ("1h", "30m", "90d", "1h30m", "1y", "500ms", "2w"):
        assert hc.valid_duration(value), value
    for value in ("", "1", "h", "1 h", "-1h", "1.5h"):
        assert not hc.valid_duration(value), value
