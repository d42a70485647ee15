"""The ACL policy generated from inventory groups (plugins/module_utils/_headscale/policy.py).

Expected policies are written out by hand; the properties check the generated policy with an independent
reading of Tailscale's ACL syntax (`allowed` below), not with the generator's own helpers.
"""

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import policy as hp
from ansible_collections.wgops.fleet.plugins.module_utils._headscale.config import HeadscaleConfigError
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError

HOST = "hs1"
GROUPS = {
    "all": ["a1", "s1", "s2", "m1"],
    "ungrouped": [],
    "admins": ["a1"],
    "servers": ["s1", "s2"],
    "web_servers": ["s1"],
    "monitoring": ["m1"],
    "tailnet": ["a1", "s1", "s2", "m1"],
}


def build(rules, groups=None, policy=None):
    return hp.policy_from_groups(rules, GROUPS if groups is None else groups, HOST, policy)


def problems(rules, groups=None, policy=None) -> list[str]:
    with pytest.raises(HeadscaleConfigError) as info:
        build(rules, groups, policy)
    assert isinstance(info.value, PlanError)
    assert str(info.value).startswith(f"the ACL rules of host {HOST}: {len(info.value.problems)} problem(s):\n")
    return [str(problem) for problem in info.value.problems]


def refused(rules, where: str, pattern: str, **kwargs) -> None:
    lines = problems(rules, **kwargs)
    prefix = f"host {HOST}: {where}: "
    assert any(line.startswith(prefix) and re.search(pattern, line) for line in lines), lines


# -- generation -------------------------------------------------------------------------------------


def test_the_example_of_the_docs():
    rules = [
        {"src": ["admins"], "dst": ["servers"], "ports": [22, 443]},
        {"src": ["servers"], "dst": ["servers"]},
    ]
    assert build(rules) == {
        "tagOwners": {"tag:admins": [], "tag:servers": []},
        "acls": [
            {"action": "accept", "src": ["tag:admins"], "dst": ["tag:servers:22,443"]},
            {"action": "accept", "src": ["tag:servers"], "dst": ["tag:servers:*"]},
        ],
    }


def test_several_groups_ranges_and_a_protocol():
    rules = [{"src": ["monitoring", "admins"], "dst": ["servers", "web_servers"], "ports": ["9100-9110", "22"]}]
    rules.append({"src": ["admins"], "dst": ["monitoring"], "proto": "UDP", "ports": [161]})
    rules.append({"src": ["admins"], "dst": ["servers"], "proto": "icmp"})
    assert build(rules) == {
        "tagOwners": {"tag:admins": [], "tag:monitoring": [], "tag:servers": [], "tag:web-servers": []},
        "acls": [
            {
                "action": "accept",
                "src": ["tag:monitoring", "tag:admins"],
                "dst": ["tag:servers:9100-9110,22", "tag:web-servers:9100-9110,22"],
            },
            {"action": "accept", "proto": "udp", "src": ["tag:admins"], "dst": ["tag:monitoring:161"]},
            {"action": "accept", "proto": "icmp", "src": ["tag:admins"], "dst": ["tag:servers:*"]},
        ],
    }


def test_duplicates_are_written_once_and_a_list_of_group_names_works_too():
    rules = [{"src": ["admins", "admins"], "dst": ["servers"], "ports": [22, "22", 22]}]
    assert build(rules, groups=["admins", "servers"])["acls"] == [
        {"action": "accept", "src": ["tag:admins"], "dst": ["tag:servers:22"]}
    ]


def test_a_single_port_range_and_the_edges():
    assert build([{"src": ["admins"], "dst": ["servers"], "ports": [1, 65535, "80-80"]}])["acls"][0]["dst"] == [
        "tag:servers:1,65535,80-80"
    ]


def test_no_rules_no_tags():
    assert build([]) == {"tagOwners": {}, "acls": []}


# -- tag names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "tag"),
    [
        ("servers", "tag:servers"),
        ("web_servers", "tag:web-servers"),
        ("Web.Servers", "tag:web-servers"),
        ("db2", "tag:db2"),
        ("eu-west_1", "tag:eu-west-1"),
    ],
)
def test_group_names_become_tags(group, tag):
    assert hp.tag_for_group(group) == tag


@pytest.mark.parametrize("group", ["1web", "_private", "-x", ""])
def test_a_tag_starts_with_a_letter(group):
    with pytest.raises(ValueError, match="starts with a letter"):
        hp.tag_for_group(group)


def test_a_group_that_cannot_be_a_tag_is_refused():
    refused(
        [{"src": ["_ops"], "dst": ["servers"]}],
        "headscale_policy_acls[0].src",
        r"'_ops' cannot be a tag: a tag name starts with a letter; rename the inventory group",
        groups=["_ops", "servers"],
    )


def test_groups_that_collide_after_sanitising_are_refused():
    lines = problems(
        [{"src": ["web_servers"], "dst": ["servers"]}, {"src": ["admins"], "dst": ["Web-Servers"]}],
        groups=["web_servers", "Web-Servers", "servers", "admins"],
    )
    assert lines == [
        "host hs1: headscale_policy_acls[1].dst: groups 'web_servers' and 'Web-Servers' both become "
        "tag:web-servers; rename one of them (tags are lowercase with dashes for other characters)"
    ]


_TAG = re.compile(r"^tag:[a-z][a-z0-9-]*$")  # Tailscale's tag syntax, as the brief states it


@given(st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=12))
def test_every_group_starting_with_a_letter_becomes_a_valid_tag(group):
    if group[0].isalpha():
        tag = hp.tag_for_group(group)
        assert _TAG.match(tag)
        assert len(tag) == len("tag:") + len(group)
    else:
        with pytest.raises(ValueError):
            hp.tag_for_group(group)


# -- validation -------------------------------------------------------------------------------------


def test_a_group_that_is_not_in_the_inventory_is_refused_with_the_valid_ones():
    refused(
        [{"src": ["admin"], "dst": ["servers"]}],
        "headscale_policy_acls[0].src",
        r"^host hs1: headscale_policy_acls\[0\]\.src: 'admin' is not an inventory group; did you mean 'admins'\? use "
        r"one of the inventory's groups \(admins, monitoring, servers, tailnet, web_servers\) or add the group",
    )


def test_the_implicit_groups_are_refused():
    refused([{"src": ["all"], "dst": ["servers"]}], "headscale_policy_acls[0].src", "'all' is Ansible's implicit group")
    refused(
        [{"src": ["admins"], "dst": ["ungrouped"]}], "headscale_policy_acls[0].dst", "'ungrouped' is Ansible's implicit"
    )


@pytest.mark.parametrize("ports", [[0], [65536], ["0-22"], ["22-21"], ["ssh"], [True], ["022"], [22.5], [None]])
def test_bad_ports_are_refused(ports):
    refused(
        [{"src": ["admins"], "dst": ["servers"], "ports": ports}],
        "headscale_policy_acls[0].ports",
        r'is not a port: give "\*", a port from 1 to 65535 or a range "LOW-HIGH"',
    )


@pytest.mark.parametrize("ports", [[], "22", 22, {"ssh": 22}])
def test_ports_are_a_non_empty_list(ports):
    refused(
        [{"src": ["admins"], "dst": ["servers"], "ports": ports}],
        "headscale_policy_acls[0].ports",
        "expected a non-empty list of ports",
    )


def test_every_port_is_alone():
    refused(
        [{"src": ["admins"], "dst": ["servers"], "ports": ["*", 22]}],
        "headscale_policy_acls[0].ports",
        r'"\*" \(every port\) cannot be combined with other ports',
    )


@pytest.mark.parametrize("value", [None, "servers", [], {"servers": 1}, [""], [3]])
def test_src_and_dst_are_lists_of_group_names(value):
    rule = {"src": ["admins"], "dst": value}
    refused(
        [rule],
        "headscale_policy_acls[0].dst",
        "expected (a non-empty list of inventory group names|an inventory group name)",
    )


def test_protocols():
    refused(
        [{"src": ["admins"], "dst": ["servers"], "proto": "quic"}],
        "headscale_policy_acls[0].proto",
        r"'quic' is not a protocol; give a name \(tcp, udp",
    )
    refused(
        [{"src": ["admins"], "dst": ["servers"], "proto": "icmp", "ports": [22]}],
        "headscale_policy_acls[0].ports",
        "protocol icmp has no ports",
    )
    assert build([{"src": ["admins"], "dst": ["servers"], "proto": 6, "ports": [22]}])["acls"][0]["proto"] == "6"


def test_unknown_fields_and_non_rules():
    refused(
        [{"src": ["admins"], "dst": ["servers"], "port": [22]}], "headscale_policy_acls[0].port", "did you mean ports"
    )
    refused(["admins"], "headscale_policy_acls[0]", "expected a rule")
    refused({"src": ["admins"]}, "headscale_policy_acls", "expected a list of rules")


def test_both_policies_are_refused():
    refused(
        [{"src": ["admins"], "dst": ["servers"]}],
        "headscale_policy_acls",
        "headscale_policy is set too; give the policy either as headscale_policy",
        policy={"acls": []},
    )
    assert build([{"src": ["admins"], "dst": ["servers"]}], policy="  ")["tagOwners"] == {
        "tag:admins": [],
        "tag:servers": [],
    }


def test_every_problem_is_reported_at_once():
    lines = problems(
        [{"src": ["nope"], "dst": ["servers"], "ports": [0]}, {"src": ["admins"], "dst": []}],
        policy={"acls": []},
    )
    assert [line.split(": ")[1] for line in lines] == [
        "headscale_policy_acls",
        "headscale_policy_acls[0].src",
        "headscale_policy_acls[0].ports",
        "headscale_policy_acls[1].dst",
    ]


# -- tags of one host -------------------------------------------------------------------------------

RULES = [{"src": ["admins"], "dst": ["servers", "web_servers"], "ports": [22]}]


@pytest.mark.parametrize(
    ("group_names", "tags"),
    [
        (["admins", "tailnet"], ["tag:admins"]),
        (["servers", "web_servers", "tailnet"], ["tag:servers", "tag:web-servers"]),
        (["monitoring", "tailnet"], []),
        ([], []),
    ],
)
def test_tags_of_a_host(group_names, tags):
    assert hp.tags_of_host(RULES, group_names) == tags


def test_tags_of_a_host_skip_what_the_preflight_refuses():
    rules = ["junk", {"src": "admins", "dst": ["all", "1st", 5]}, {"src": ["servers"], "dst": ["servers"]}]
    assert hp.tags_of_host(rules, ["admins", "all", "1st", "servers"]) == ["tag:servers"]
    assert hp.tags_of_host({"src": ["admins"]}, ["admins"]) == []
    assert hp.tags_of_host(None, ["admins"]) == []


# -- an independent reading of the generated policy --------------------------------------------------


def allowed(policy: dict, tags_of: dict[str, set[str]], src: str, dst: str, port: int) -> bool:
    """Whether `src` may reach `dst` on TCP `port` under `policy`, read as Tailscale reads ACLs."""
    for acl in policy["acls"]:
        assert acl["action"] == "accept"
        if acl.get("proto", "tcp") not in ("tcp", "6"):
            continue
        if not set(acl["src"]) & tags_of[src]:
            continue
        for entry in acl["dst"]:
            tag, ports = entry.rsplit(":", 1)
            assert tag in policy["tagOwners"], f"{tag} is used but not defined"
            if tag not in tags_of[dst]:
                continue
            for item in ports.split(","):
                low, high = [*item.split("-"), item][:2]
                if item == "*" or int(low) <= port <= int(high):
                    return True
    return False


HOSTS = ["h0", "h1", "h2", "h3"]
NAMES = ["ops", "db", "web_x", "edge"]


@given(
    membership=st.fixed_dictionaries({h: st.sets(st.sampled_from(NAMES)) for h in HOSTS}),
    rules=st.lists(
        st.fixed_dictionaries(
            {"src": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)},
            optional={
                "dst": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2),
                "ports": st.lists(st.integers(1, 65535) | st.just("8000-8100"), min_size=1, max_size=3),
            },
        ),
        max_size=4,
    ),
    probe=st.tuples(st.sampled_from(HOSTS), st.sampled_from(HOSTS), st.sampled_from([22, 8050, 443, 65535])),
)
def test_the_policy_allows_exactly_what_the_rules_say(membership, rules, probe):
    rules = [{"dst": rule["src"], **rule} for rule in rules]  # dst defaults to src here, for dense matrices
    policy = build(rules, groups=NAMES)
    tags_of = {host: {f"tag:{g.replace('_', '-')}" for g in groups} for host, groups in membership.items()}
    used = {name for rule in rules for name in rule["src"] + rule["dst"]}
    for groups in membership.values():
        assert hp.tags_of_host(rules, sorted(groups)) == sorted(f"tag:{g.replace('_', '-')}" for g in groups & used)
    src, dst, port = probe

    def in_range(item) -> bool:
        if isinstance(item, int):
            return item == port
        low, high = item.split("-")
        return int(low) <= port <= int(high)

    expected = any(
        membership[src] & set(rule["src"])
        and membership[dst] & set(rule["dst"])
        and ("ports" not in rule or any(in_range(item) for item in rule["ports"]))
        for rule in rules
    )
    assert allowed(policy, tags_of, src, dst, port) == expected
    assert sorted(policy["tagOwners"]) == sorted(
        {f"tag:{n.replace('_', '-')}" for r in rules for n in r["src"] + r["dst"]}
    )
    assert all(owners == [] for owners in policy["tagOwners"].values())


# -- what the tailnet's nodes ask: exit-node use, accepted routes, auto-approvers -----------------------------

TAILNET_GROUPS = {
    "all": ["router", "exitnode", "node3", "laptop"],
    "hub": ["router"],
    "spokes": ["exitnode", "node3"],
    "tailnet": ["router", "exitnode", "node3", "laptop"],
}
PAIR_RULES = [{"src": ["hub"], "dst": ["spokes"]}, {"src": ["spokes"], "dst": ["hub"]}]


def hostvars(**nodes):
    """hostvars as Ansible holds them: every host has group_names; the tailscale variables only where set."""
    result = {}
    for name in TAILNET_GROUPS["all"]:
        groups = sorted(g for g, members in TAILNET_GROUPS.items() if name in members and g != "all")
        result[name] = {"group_names": groups, "inventory_hostname": name, **nodes.get(name, {})}
    return result


def test_node_intents_read_only_the_tailscale_variables_and_the_groups():
    hv = hostvars(router={"tailscale_advertise_routes": ["10.89.75.0/24"], "ansible_host": "x", "secret": "s"})
    intents = hp.node_intents(hv, ["router", "laptop", "not-in-hostvars"])
    assert intents == {
        "router": {"group_names": ["hub", "tailnet"], "tailscale_advertise_routes": ["10.89.75.0/24"]},
        "laptop": {"group_names": ["tailnet"]},
    }


def test_exit_node_use_accepted_routes_and_auto_approvers_by_tag():
    nodes = hp.node_intents(
        hostvars(
            router={"tailscale_advertise_routes": ["10.89.75.0/24", "198.51.100.0/24"]},
            exitnode={"tailscale_exit_node": True},
            node3={"tailscale_accept_routes": True, "tailscale_use_exit_node": "exitnode"},
        ),
        TAILNET_GROUPS["tailnet"],
    )
    policy = hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST, None, nodes)
    assert policy == {
        "tagOwners": {"tag:hub": [], "tag:spokes": []},
        "acls": [
            {"action": "accept", "src": ["tag:hub"], "dst": ["tag:spokes:*"]},
            {"action": "accept", "src": ["tag:spokes"], "dst": ["tag:hub:*"]},
            # node3 carries tag:spokes: the internet through an exit node, and both advertised routes
            {
                "action": "accept",
                "src": ["tag:spokes"],
                "dst": ["autogroup:internet:*", "10.89.75.0/24:*", "198.51.100.0/24:*"],
            },
        ],
        "autoApprovers": {
            "routes": {"10.89.75.0/24": ["tag:hub"], "198.51.100.0/24": ["tag:hub"]},
            "exitNode": ["tag:spokes"],
        },
    }


def test_a_router_that_accepts_routes_is_not_granted_its_own_and_absent_nodes_ask_nothing():
    nodes = hp.node_intents(
        hostvars(
            router={"tailscale_advertise_routes": ["10.1.0.0/24"], "tailscale_accept_routes": True},
            exitnode={"tailscale_advertise_routes": ["10.2.0.0/24"], "tailscale_accept_routes": "true"},
            node3={"tailscale_state": "absent", "tailscale_use_exit_node": "exitnode"},
        ),
        TAILNET_GROUPS["tailnet"],
    )
    policy = hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST, None, nodes)
    assert policy["acls"][2:] == [
        {"action": "accept", "src": ["tag:hub"], "dst": ["10.2.0.0/24:*"]},
        {"action": "accept", "src": ["tag:spokes"], "dst": ["10.1.0.0/24:*"]},
    ]
    assert policy["autoApprovers"] == {"routes": {"10.1.0.0/24": ["tag:hub"], "10.2.0.0/24": ["tag:spokes"]}}


def test_explicit_tags_are_used_and_defined():
    nodes = hp.node_intents(
        hostvars(laptop={"tailscale_tags": ["laptops"], "tailscale_use_exit_node": "exitnode"}),
        TAILNET_GROUPS["tailnet"],
    )
    policy = hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST, None, nodes)
    assert policy["tagOwners"] == {"tag:hub": [], "tag:laptops": [], "tag:spokes": []}
    assert policy["acls"][2] == {"action": "accept", "src": ["tag:laptops"], "dst": ["autogroup:internet:*"]}
    assert "autoApprovers" not in policy


def test_an_untagged_node_that_needs_a_grant_is_refused_naming_it_and_its_variables():
    nodes = hp.node_intents(
        hostvars(
            router={"tailscale_advertise_routes": ["10.1.0.0/24"]},
            laptop={"tailscale_use_exit_node": "exitnode", "tailscale_accept_routes": True},
        ),
        TAILNET_GROUPS["tailnet"],
    )
    with pytest.raises(HeadscaleConfigError) as info:
        hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST, None, nodes)
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith(
        "host laptop: tailscale_use_exit_node and tailscale_accept_routes: the generated policy "
        "(headscale_policy_acls of hs1) grants by tag and laptop has no tag"
    )
    # without the tailnet nodes only the rules between groups are generated
    assert hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST)["acls"] == [
        {"action": "accept", "src": ["tag:hub"], "dst": ["tag:spokes:*"]},
        {"action": "accept", "src": ["tag:spokes"], "dst": ["tag:hub:*"]},
    ]


# -- Tailscale SSH rules --------------------------------------------------------------------------------------

ROLE_DEFAULTS = Path(__file__).resolve().parents[5] / "roles" / "tailscale" / "defaults" / "main.yml"


def test_ssh_users_default_is_the_role_default():
    """Role defaults are not in other hosts' hostvars, so the generator applies the role's default itself."""
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    assert list(hp.SSH_USERS_DEFAULT) == defaults["tailscale_ssh_users"]


SSH_RULES = [
    {"src": ["hub"], "dst": ["spokes"]},  # every port: hub may SSH to the spokes
    {"src": ["spokes"], "dst": ["hub"], "ports": [80, 443]},  # no SSH to hub from the spokes
    {"src": ["tailnet"], "dst": ["hub"], "ports": ["20-30"]},  # a range with 22: tag:tailnet may
]


def test_ssh_rules_come_from_the_tags_that_reach_each_tag_on_port_22():
    nodes = hp.node_intents(
        hostvars(
            router={"tailscale_ssh": True, "tailscale_ssh_users": ["root"]},
            exitnode={"tailscale_ssh": True, "tailscale_ssh_users": ["root"]},
            node3={"tailscale_ssh": True, "tailscale_state": "absent"},
        ),
        TAILNET_GROUPS["tailnet"],
    )
    policy = hp.policy_from_groups(SSH_RULES, TAILNET_GROUPS, HOST, None, nodes)
    # one rule per tag, from the tags that reach that tag on 22; tag:tailnet is reached by no rule
    assert policy["ssh"] == [
        {"action": "accept", "src": ["tag:tailnet"], "dst": ["tag:hub"], "users": ["root"]},
        {"action": "accept", "src": ["tag:hub"], "dst": ["tag:spokes"], "users": ["root"]},
    ]


def test_ssh_nodes_sharing_a_tag_must_ask_for_the_same_users():
    """A rule's users hold for every node with its tag: different users on one tag would widen both."""
    nodes = hp.node_intents(
        hostvars(router={"tailscale_ssh": True, "tailscale_ssh_users": ["root"]}, exitnode={"tailscale_ssh": True}),
        TAILNET_GROUPS["tailnet"],
    )
    with pytest.raises(HeadscaleConfigError) as info:
        hp.policy_from_groups(SSH_RULES, TAILNET_GROUPS, HOST, None, nodes)
    assert [str(p) for p in info.value.problems] == [
        "host router: tailscale_ssh_users: ['root'] differs from exitnode's ['autogroup:nonroot'], and both carry "
        "tag:tailnet: the policy's SSH rules are per tag, so either set would hold on both nodes; give them the same "
        "users, or put them in different inventory groups"
    ]


def test_no_ssh_rule_without_a_rule_to_port_22_or_without_tailscale_ssh():
    rules = [{"src": ["spokes"], "dst": ["hub"], "ports": [443]}, {"src": ["hub"], "dst": ["spokes"], "proto": "udp"}]
    nodes = hp.node_intents(hostvars(router={"tailscale_ssh": True}, exitnode={}), TAILNET_GROUPS["tailnet"])
    assert "ssh" not in hp.policy_from_groups(rules, TAILNET_GROUPS, HOST, None, nodes)
    assert "ssh" not in hp.policy_from_groups(
        PAIR_RULES, TAILNET_GROUPS, HOST, None, hp.node_intents(hostvars(), ["router"])
    )


def test_an_untagged_ssh_node_and_bad_users_are_refused():
    nodes = hp.node_intents(
        hostvars(laptop={"tailscale_ssh": True}, router={"tailscale_ssh": True, "tailscale_ssh_users": "root"}),
        TAILNET_GROUPS["tailnet"],
    )
    with pytest.raises(HeadscaleConfigError) as info:
        hp.policy_from_groups(PAIR_RULES, TAILNET_GROUPS, HOST, None, nodes)
    found = [str(p) for p in info.value.problems]
    assert any(p.startswith("host laptop: tailscale_ssh: the generated policy") for p in found), found
    assert "host router: tailscale_ssh_users: expected a non-empty list of user names, got 'root'" in found
