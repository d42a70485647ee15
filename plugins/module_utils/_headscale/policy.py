# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headscale ACL policy generated from inventory groups (the headscale role's headscale_policy_acls). Pure Python.

Each rule names inventory groups: ``{src: [admins], dst: [servers], ports: [22, 443], proto: tcp}``. Every
group a rule names becomes the tag ``tag:<group>`` (lowercased, characters other than letters, digits and
dashes turned into dashes), and a node carries the tags of its groups (the tailscale role mints its
pre-auth key with them and converges them with ``headscale nodes tag``). The policy is the idiomatic
Tailscale one: ``tagOwners`` defines every tag used and ``acls`` accept traffic between tags.

Tag owners are empty (``"tag:servers": []``): only the control server applies these tags (tagged pre-auth
keys, ``headscale nodes tag``), which Headscale 0.27 to 0.29 allow for any tag that ``tagOwners`` defines,
whatever its owners. An owner would let that user's nodes claim the tag themselves with
``tailscale up --advertise-tags`` (and so the access it grants); 0.28 and 0.29 refuse advertised tags on
a pre-auth key registration anyway (hscontrol/state/state.go, createAndSaveNewNode).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.config import HeadscaleConfigError
from ansible_collections.wgops.fleet.plugins.module_utils._problems import Problem

VARIABLE = "headscale_policy_acls"
RULE_FIELDS = ("src", "dst", "ports", "proto")
DEFAULT_PORTS = ("*",)
# Ansible's implicit groups: every host, and the hosts of no other group.
IMPLICIT_GROUPS = ("all", "ungrouped")
# Protocol names Headscale 0.27 to 0.29 know (hscontrol/policy/v2/types.go); IANA numbers 1-255 also work.
PROTOCOLS = (
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "ipv6-icmp",
    "igmp",
    "ipv4",
    "ip-in-ip",
    "egp",
    "igp",
    "gre",
    "esp",
    "ah",
    "fc",
)
# Only these carry ports; any other protocol takes "*" (Headscale 0.29, validateProtocolPortCompatibility).
PORT_PROTOCOLS = ("", "tcp", "udp", "sctp", "6", "17", "132")
_NOT_TAG_CHARS = re.compile(r"[^a-z0-9-]")
_RANGE = re.compile(r"^(\d+)-(\d+)$")


def tag_for_group(group: str) -> str:
    """``tag:<group>`` in Tailscale's tag syntax: lowercase letters, digits and dashes, starting with a letter.
    Other characters become dashes (``web_servers`` -> ``tag:web-servers``); ValueError when the name does
    not start with a letter."""
    name = _NOT_TAG_CHARS.sub("-", str(group).lower())
    if not name or not ("a" <= name[0] <= "z"):
        raise ValueError(f"group {group!r} cannot be a tag: a tag name starts with a letter")
    return f"tag:{name}"


def _port(value: Any) -> str | None:
    """A port as Headscale writes it ("*", "22", "1000-2000"), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 1 <= value <= 65535 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "*":
        return text
    if text.isdigit():
        return text if 1 <= int(text) <= 65535 and not text.startswith("0") else None
    match = _RANGE.match(text)
    if match and not any(part.startswith("0") for part in match.groups()):
        low, high = (int(part) for part in match.groups())
        if 1 <= low <= high <= 65535:
            return text
    return None


class _Rules:
    def __init__(self, host: str, valid_groups: Iterable[str] | None) -> None:
        self.host = host
        self.valid = None if valid_groups is None else sorted(set(valid_groups) - set(IMPLICIT_GROUPS))
        self.problems: list[Problem] = []
        self.tags: dict[str, str] = {}  # tag -> the first group that made it

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.host, where, message))

    def groups(self, where: str, value: Any) -> list[str]:
        """The tags of a src/dst list, each group checked; problems recorded under `where`."""
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            self.add(where, f"expected a non-empty list of inventory group names, got {value!r}; write [group, ...]")
            return []
        tags: list[str] = []
        for group in value:
            if not isinstance(group, str) or not group.strip():
                self.add(where, f"expected an inventory group name, got {group!r}")
                continue
            if group in IMPLICIT_GROUPS:
                self.add(
                    where,
                    f"{group!r} is Ansible's implicit group, not a tag; name a group of your inventory "
                    f"(valid: {self.valid_list()})",
                )
                continue
            if self.valid is not None and group not in self.valid:
                close = difflib.get_close_matches(group, self.valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.add(
                    where,
                    f"{group!r} is not an inventory group; {hint}use one of the inventory's groups "
                    f"({self.valid_list()}) or add the group to the inventory",
                )
                continue
            try:
                tag = tag_for_group(group)
            except ValueError as exc:
                self.add(where, f"{exc}; rename the inventory group")
                continue
            other = self.tags.setdefault(tag, group)
            if other != group:
                self.add(
                    where,
                    f"groups {other!r} and {group!r} both become {tag}; rename one of them "
                    "(tags are lowercase with dashes for other characters)",
                )
                continue
            if tag not in tags:
                tags.append(tag)
        return tags

    def valid_list(self) -> str:
        if self.valid is None:
            return "any group"
        return ", ".join(self.valid) or "none"

    def ports(self, where: str, value: Any) -> list[str]:
        if value is None:
            return list(DEFAULT_PORTS)
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            self.add(
                where,
                f"expected a non-empty list of ports, got {value!r}; write [22, ...] or leave it out (every port)",
            )
            return []
        ports: list[str] = []
        for item in value:
            port = _port(item)
            if port is None:
                self.add(
                    where,
                    f'{item!r} is not a port: give "*", a port from 1 to 65535 or a range "LOW-HIGH" (like "8000-8100")',
                )
            elif port not in ports:
                ports.append(port)
        if "*" in ports and len(ports) > 1:
            self.add(where, f'"*" (every port) cannot be combined with other ports ({", ".join(ports)}); keep one')
            return []
        return ports

    def proto(self, where: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        text = str(value).strip().lower()
        if text in PROTOCOLS or (text.isdigit() and not text.startswith("0") and 1 <= int(text) <= 255):
            return text
        self.add(where, f"{value!r} is not a protocol; give a name ({', '.join(PROTOCOLS)}) or a number from 1 to 255")
        return ""

    def rule(self, index: int, rule: Any) -> dict[str, Any] | None:
        where = f"{VARIABLE}[{index}]"
        if not isinstance(rule, Mapping):
            self.add(where, f"expected a rule {{src: [groups], dst: [groups], ports: [...], proto: ...}}, got {rule!r}")
            return None
        for field in sorted(set(map(str, rule)) - set(RULE_FIELDS)):
            close = difflib.get_close_matches(field, RULE_FIELDS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the fields are {', '.join(RULE_FIELDS)}"
            self.add(f"{where}.{field}", f"unknown field; {hint}")
        src = self.groups(f"{where}.src", rule.get("src"))
        dst = self.groups(f"{where}.dst", rule.get("dst"))
        ports = self.ports(f"{where}.ports", rule.get("ports"))
        proto = self.proto(f"{where}.proto", rule.get("proto"))
        if proto not in PORT_PROTOCOLS and ports and ports != ["*"]:
            self.add(
                f"{where}.ports",
                f"protocol {proto} has no ports; leave ports out (every port) or use tcp, udp or sctp",
            )
        acl: dict[str, Any] = {"action": "accept"}
        if proto:
            acl["proto"] = proto
        acl["src"] = src
        acl["dst"] = [f"{tag}:{','.join(ports)}" for tag in dst]
        return acl


# What the generated policy reads of each tailnet node: the wgops.fleet.tailscale role's variables.
NODE_VARIABLES = (
    "tailscale_state",
    "tailscale_tags",
    "tailscale_advertise_routes",
    "tailscale_exit_node",
    "tailscale_accept_routes",
    "tailscale_use_exit_node",
    "tailscale_ssh",
    "tailscale_ssh_users",
)
INTERNET = "autogroup:internet"
SSH_PORT = 22
SSH_USERS_DEFAULT = ("autogroup:nonroot",)  # roles/tailscale/defaults/main.yml: tailscale_ssh_users


def node_intents(hostvars: Mapping[str, Any], members: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What each tailnet node (inventory hosts `members`) asks of the policy, read once from `hostvars`: its
    group names and the NODE_VARIABLES it sets (unset ones are left out; the role defaults apply)."""
    nodes: dict[str, dict[str, Any]] = {}
    for name in members or []:
        values = hostvars.get(name) if isinstance(hostvars, Mapping) else None
        if values is None:
            continue
        node = {"group_names": list(values.get("group_names", []) or [])}
        for variable in NODE_VARIABLES:
            if variable in values:
                node[variable] = values[variable]
        nodes[str(name)] = node
    return nodes


def _node_tags(rules: Any, node: Mapping[str, Any]) -> list[str]:
    """A node's tags: its tailscale_tags when the inventory sets them, else those of its groups the rules name."""
    explicit = node.get("tailscale_tags")
    if isinstance(explicit, Sequence) and not isinstance(explicit, str):
        return sorted({str(t) if str(t).startswith("tag:") else f"tag:{t}" for t in explicit})
    return tags_of_host(rules, node.get("group_names", []))


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"))


def _node_grants(
    checker: _Rules, rules: Any, nodes: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the inventory's tailnet asks beyond rules between groups: accept rules for nodes that use an exit
    node (autogroup:internet) or accept subnet routes (the advertised prefixes), auto-approvers for the routes
    and exit nodes that tagged nodes offer. A node that needs a grant but has no tag
    is a problem: the policy grants by tag, so it would silently reach nothing."""
    present = {
        name: node for name, node in sorted(nodes.items()) if str(node.get("tailscale_state", "present")) == "present"
    }
    tags = {name: _node_tags(rules, node) for name, node in present.items()}
    route_approvers: dict[str, list[str]] = {}
    exit_approvers: list[str] = []
    for name, node in present.items():
        routes = node.get("tailscale_advertise_routes") or []
        if isinstance(routes, str) or not isinstance(routes, Sequence):
            continue  # the node's own preflight refuses it
        for route in routes:
            if tags[name]:
                route_approvers.setdefault(str(route), [])
                route_approvers[str(route)] += [t for t in tags[name] if t not in route_approvers[str(route)]]
        if _true(node.get("tailscale_exit_node")) and tags[name]:
            exit_approvers += [t for t in tags[name] if t not in exit_approvers]
    routes = sorted(
        {
            str(r)
            for node in present.values()
            for r in (node.get("tailscale_advertise_routes") or [])
            if isinstance(r, str)
        }
    )
    grants: dict[tuple[str, ...], list[str]] = {}
    for name, node in present.items():
        wanted: list[str] = []
        asking: list[str] = []
        if str(node.get("tailscale_use_exit_node") or "").strip():
            wanted.append(f"{INTERNET}:*")
            asking.append("tailscale_use_exit_node")
        if _true(node.get("tailscale_accept_routes")):
            own = {str(r) for r in (node.get("tailscale_advertise_routes") or []) if isinstance(r, str)}
            others = [f"{route}:*" for route in routes if route not in own]
            wanted += others
            asking += ["tailscale_accept_routes"] if others else []
        if not wanted:
            continue
        if not tags[name]:
            checker.problems.append(
                Problem(
                    name,
                    " and ".join(asking),
                    f"the generated policy (headscale_policy_acls of {checker.host}) grants by tag and {name} has no "
                    "tag, so it would reach neither its exit node nor the subnet routes; put it in an inventory group "
                    "that a rule names, or set its tailscale_tags",
                )
            )
            continue
        key = tuple(tags[name])
        grants[key] = grants.get(key, []) + [d for d in wanted if d not in grants.get(key, [])]
    acls = [{"action": "accept", "src": list(src), "dst": dst} for src, dst in sorted(grants.items())]
    approvers: dict[str, Any] = {}
    if route_approvers:
        approvers["routes"] = {route: sorted(route_approvers[route]) for route in sorted(route_approvers)}
    if exit_approvers:
        approvers["exitNode"] = sorted(exit_approvers)
    return acls, approvers


def _reaches_ssh(entry: str) -> bool:
    """Whether an acl dst entry's ports ("tag:x:22,80", "tag:x:*", "tag:x:20-30") include SSH's port."""
    for port in entry.rsplit(":", 1)[1].split(","):
        low, _sep, high = port.partition("-")
        if port == "*" or (low.isdigit() and int(low) <= SSH_PORT <= int(high or low)):
            return True
    return False


def _ssh_rules(
    checker: _Rules, rules: Any, nodes: Mapping[str, Mapping[str, Any]], acls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Tailscale SSH rules for the nodes with tailscale_ssh, one per destination tag: from the tags the rules
    let reach that tag on port 22 (or every port), as the tailscale_ssh_users of its SSH nodes. A rule's
    users hold for every node with the tag, so SSH nodes that share a tag must ask for the same users (a
    problem otherwise, naming both); a node with tailscale_ssh but no tag is a problem (the policy grants
    by tag); a tag no rule reaches on port 22 gets no SSH rule."""
    users_of: dict[str, tuple[tuple[str, ...], str]] = {}  # tag -> (users, the node that asked first)
    for name, node in sorted(nodes.items()):
        if str(node.get("tailscale_state", "present")) != "present" or not _true(node.get("tailscale_ssh")):
            continue
        tags = _node_tags(rules, node)
        if not tags:
            checker.problems.append(
                Problem(
                    name,
                    "tailscale_ssh",
                    f"the generated policy (headscale_policy_acls of {checker.host}) grants SSH by tag and {name} "
                    "has no tag; put it in an inventory group that a rule names, or set its tailscale_tags",
                )
            )
            continue
        users = node.get("tailscale_ssh_users", list(SSH_USERS_DEFAULT))
        if isinstance(users, str) or not isinstance(users, Sequence) or not users:
            checker.problems.append(
                Problem(name, "tailscale_ssh_users", f"expected a non-empty list of user names, got {users!r}")
            )
            continue
        wanted = tuple(sorted({str(u) for u in users}))
        for tag in tags:
            other = users_of.setdefault(tag, (wanted, name))
            if other[0] != wanted:
                checker.problems.append(
                    Problem(
                        name,
                        "tailscale_ssh_users",
                        f"{list(wanted)} differs from {other[1]}'s {list(other[0])}, and both carry {tag}: the policy's "
                        "SSH rules are per tag, so either set would hold on both nodes; give them the same users, or "
                        "put them in different inventory groups",
                    )
                )
    result = []
    for tag, (users, _first) in sorted(users_of.items()):
        sources = sorted(
            {
                src
                for acl in acls
                if acl.get("proto", "tcp") in ("tcp", "6", "")
                and any(entry.rsplit(":", 1)[0] == tag and _reaches_ssh(entry) for entry in acl["dst"])
                for src in acl["src"]
            }
        )
        if sources:
            result.append({"action": "accept", "src": sources, "dst": [tag], "users": list(users)})
    return result


def policy_from_groups(
    rules: Any,
    groups: Mapping[str, Any] | Iterable[str],
    host: str,
    policy: Any = None,
    nodes: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The policy dict of `rules` (headscale_policy_acls) over the inventory `groups` (Ansible's ``groups``
    or a list of names). HeadscaleConfigError (a PlanError) lists every problem, each naming `host` and the
    rule's field; `policy` is headscale_policy, which must be empty when rules are given.

    `nodes` (from `node_intents`) are the tailnet's nodes: their exit-node use and accepted subnet routes
    become accept rules, the routes and exit nodes tagged nodes offer become ``autoApprovers``, and nodes
    with tailscale_ssh get ``ssh`` rules from the tags the rules let reach them on port 22."""
    checker = _Rules(str(host), groups)
    acls: list[dict[str, Any]] = []
    if policy not in (None, {}, "") and not (isinstance(policy, str) and not policy.strip()):
        checker.add(
            VARIABLE,
            "headscale_policy is set too; give the policy either as headscale_policy (written as is) or as "
            "headscale_policy_acls (generated from inventory groups), not both",
        )
    if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Sequence):
        checker.add(VARIABLE, f"expected a list of rules {{src: [groups], dst: [groups], ports: [...]}}, got {rules!r}")
    else:
        for index, rule in enumerate(rules):
            acl = checker.rule(index, rule)
            if acl is not None:
                acls.append(acl)
    extra_acls, approvers = _node_grants(checker, rules, nodes) if nodes else ([], {})
    ssh = _ssh_rules(checker, rules, nodes, acls) if nodes else []
    if checker.problems:
        raise HeadscaleConfigError(checker.problems, f"the ACL rules of host {host}")
    # A tag used anywhere (a node's explicit tailscale_tags too) must be defined in tagOwners.
    used = set(checker.tags) | set(_tag_users(extra_acls, approvers))
    result: dict[str, Any] = {"tagOwners": {tag: [] for tag in sorted(used)}, "acls": acls + extra_acls}
    if approvers:
        result["autoApprovers"] = approvers
    if ssh:
        result["ssh"] = ssh
    return result


def _tag_users(acls: list[dict[str, Any]], approvers: Mapping[str, Any]) -> list[str]:
    """Every tag the node grants and approvers name."""
    names = [t for acl in acls for t in acl["src"]]
    names += [t for ts in approvers.get("routes", {}).values() for t in ts] + list(approvers.get("exitNode", []))
    return names


def tags_of_host(rules: Any, group_names: Iterable[str]) -> list[str]:
    """The sorted tags a host in `group_names` carries under `rules`: those of its groups that some rule
    names. Malformed rules are skipped (the Headscale host's preflight reports them)."""
    mine = set(group_names or [])
    tags: set[str] = set()
    if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Sequence):
        return []
    for rule in rules:
        if not isinstance(rule, Mapping):
            continue
        for field in ("src", "dst"):
            names = rule.get(field)
            if isinstance(names, str) or not isinstance(names, Sequence):
                continue
            for group in names:
                if isinstance(group, str) and group in mine and group not in IMPLICIT_GROUPS:
                    try:
                        tags.add(tag_for_group(group))
                    except ValueError:
                        continue
    return sorted(tags)
