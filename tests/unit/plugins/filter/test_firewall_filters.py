"""The firewall filters (plugins/filter/firewall.py): thin wrappers, Ansible errors instead of Python ones."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.filter import firewall as filters

HOSTVARS = {
    "gw": {"wireguard_network": "10.99.0.0/24", "wireguard_endpoint": "gw.example", "wireguard_exit_node": True},
    "laptop": {"wireguard_network": "10.99.0.0/24", "wireguard_via_exit_node": "gw", "ansible_host": "x"},
    "dns": {},
}
GROUPS = {"all": ["gw", "laptop", "dns"], "wireguard": ["gw", "laptop"], "ungrouped": ["dns"]}


def test_filters_are_registered():
    assert set(filters.FilterModule().filters()) == {
        "firewall_tunnels",
        "firewall_ruleset",
        "firewall_management_check",
    }


def test_tunnels_skip_groups_the_inventory_lacks():
    assert filters.firewall_tunnels(GROUPS, HOSTVARS, ["nope"]) == []
    (network,) = filters.firewall_tunnels(GROUPS, HOSTVARS, "wireguard")
    assert set(network) == {"gw", "laptop"} and network["gw"]["exit_node"]


def test_planner_errors_become_filter_errors():
    broken = dict(HOSTVARS, laptop={"wireguard_network": "10.98.0.0/24"})
    with pytest.raises(AnsibleFilterError, match=r"(?s)group wireguard: .*wireguard_network"):
        filters.firewall_tunnels(GROUPS, broken, ["wireguard"])


def test_ruleset_and_management_check():
    tunnels = filters.firewall_tunnels(GROUPS, HOSTVARS, ["wireguard"])
    rules = filters.firewall_ruleset(
        "gw", GROUPS, tunnels, {"ssh_sources": ["10.0.0.0/8"], "uplink_interfaces": ["eth0"]}
    )
    assert rules["forward"]["tunnel_to_any"] == ["wg0"]
    assert filters.firewall_management_check(rules, "22", "10.0.0.1") == []
    assert filters.firewall_management_check(rules, "22", "") == []
    assert filters.firewall_management_check(rules, 22, "192.0.2.1")
    with pytest.raises(AnsibleFilterError, match="host dns: firewall_input_policy"):
        filters.firewall_ruleset("dns", GROUPS, tunnels, {"input_policy": "accept"})


def test_group_names_give_the_same_rule_set_as_the_whole_groups():
    """The role passes the host's own group_names (O(1) per host); the result equals the groups form."""
    hostvars = dict(HOSTVARS, hs={}, relay={})
    groups = dict(GROUPS, headscale=["hs"], derp=["relay", "gw"], tailnet=["laptop"])
    groups["all"] = [*GROUPS["all"], "hs", "relay"]
    tunnels = filters.firewall_tunnels(groups, hostvars, ["wireguard"])
    settings = {"masquerade_routed": True, "uplink_interfaces": ["eth0"]}
    for host in groups["all"]:
        group_names = sorted(name for name, members in groups.items() if host in members and name != "all")
        assert filters.firewall_ruleset(host, group_names, tunnels, settings) == filters.firewall_ruleset(
            host, groups, tunnels, settings
        )
    # and the group memberships matter: the derp ports open on gw only because it is in derp
    ports = {e["port"] for e in filters.firewall_ruleset("gw", ["wireguard", "derp"], tunnels, settings)["accept"]}
    assert "443" in ports and "443" not in {
        e["port"] for e in filters.firewall_ruleset("gw", ["wireguard"], tunnels, settings)["accept"]
    }
