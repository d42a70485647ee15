"""The Headscale filters (plugins/filter/headscale.py): thin wrappers, Ansible errors instead of Python ones."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.filter import headscale as filters

TLS = {"tls_cert_path": "/etc/headscale/tls/headscale.crt", "tls_key_path": "/etc/headscale/tls/headscale.key"}


def test_filters_are_registered():
    assert set(filters.FilterModule().filters()) == {
        "headscale_config",
        "headscale_derp_map",
        "headscale_derp_relays",
        "headscale_policy_from_groups",
        "headscale_policy_tags",
        "headscale_policy_text",
    }


def test_config_builds():
    config = filters.FilterModule().filters()["headscale_config"]({"version": "0.28.0", **TLS}, "hs1")
    assert config["server_url"] == "https://hs1"
    assert config["ephemeral_node_inactivity_timeout"] == "30m"


def test_config_problems_become_filter_errors_naming_host_and_variable():
    with pytest.raises(
        AnsibleFilterError,
        match=r"(?s)host hs1: headscale_prefixes_v4: 10\.0\.0\.0/8 is outside.*host hs1: headscale_config_overrides",
    ):
        filters.headscale_config_filter(
            {**TLS, "prefixes_v4": "10.0.0.0/8", "config_overrides": {"dns_config": {}}}, "hs1"
        )


def test_config_needs_a_mapping():
    with pytest.raises(AnsibleFilterError, match="expected the settings as a mapping"):
        filters.headscale_config_filter(["version"], "hs1")


def test_derp_map_builds_and_fails_with_the_relay_host():
    relay = {"inventory_hostname": "derp1", "region_id": 901, "hostname": "derp1.example.com", "ipv4": "192.168.1.5"}
    assert filters.headscale_derp_map([relay], "hs1")["regions"][901]["nodes"][0]["ipv4"] == "192.168.1.5"
    with pytest.raises(AnsibleFilterError, match=r"host derp1: derp_ipv4: 203\.0\.113\.9 is a documentation address"):
        filters.headscale_derp_map([relay | {"ipv4": "203.0.113.9"}], "hs1")


def test_policy_text():
    assert filters.headscale_policy_text({}) is None
    assert filters.headscale_policy_text('{"acls": []}') == '{"acls": []}'
    assert filters.headscale_policy_text({"acls": []}) == '{\n  "acls": []\n}\n'
    with pytest.raises(AnsibleFilterError, match="headscale_policy_text: expected a policy dict or a HuJSON string"):
        filters.headscale_policy_text(42)


def test_policy_from_groups_and_the_tags_of_a_host():
    rules = [{"src": ["admins"], "dst": ["web_servers"], "ports": [22]}]
    groups = {"all": ["a", "w"], "ungrouped": [], "admins": ["a"], "web_servers": ["w"]}
    assert filters.headscale_policy_from_groups(rules, groups, "hs1") == {
        "tagOwners": {"tag:admins": [], "tag:web-servers": []},
        "acls": [{"action": "accept", "src": ["tag:admins"], "dst": ["tag:web-servers:22"]}],
    }
    assert filters.headscale_policy_tags(rules, ["web_servers", "all"]) == ["tag:web-servers"]


def test_policy_from_groups_problems_become_filter_errors_naming_host_and_variable():
    with pytest.raises(
        AnsibleFilterError,
        match=r"(?s)the ACL rules of host hs1: 2 problem\(s\):\n"
        r"  - host hs1: headscale_policy_acls: headscale_policy is set too.*"
        r"  - host hs1: headscale_policy_acls\[0\]\.dst: 'db' is not an inventory group; .*\(admins\)",
    ):
        filters.headscale_policy_from_groups([{"src": ["admins"], "dst": ["db"]}], ["admins"], "hs1", {"acls": []})
