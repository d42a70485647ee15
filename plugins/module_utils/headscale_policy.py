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

from .headscale_config import HeadscaleConfigError
from .wireguard_inventory import Problem

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


def policy_from_groups(
    rules: Any, groups: Mapping[str, Any] | Iterable[str], host: str, policy: Any = None
) -> dict[str, Any]:
    """The policy dict of `rules` (headscale_policy_acls) over the inventory `groups` (Ansible's ``groups``
    or a list of names). HeadscaleConfigError (a PlanError) lists every problem, each naming `host` and the
    rule's field; `policy` is headscale_policy, which must be empty when rules are given."""
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
    if checker.problems:
        raise HeadscaleConfigError(checker.problems, f"the ACL rules of host {host}")
    return {"tagOwners": {tag: [] for tag in sorted(checker.tags)}, "acls": acls}


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
