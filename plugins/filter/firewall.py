# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja2 filters over plugins/module_utils/_firewall/rules.py (documented in the .yml files beside this)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.filter.wireguard import wireguard_inventory
from ansible_collections.wgops.fleet.plugins.module_utils._firewall import rules as firewall_rules
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError


def firewall_tunnels(
    groups: Mapping[str, Any], hostvars: Mapping[str, Any], wireguard_groups: Sequence[str] = ("wireguard",)
) -> list[dict[str, Any]]:
    """One {HOST: tunnel facts} mapping per WireGuard network group; groups the inventory lacks are skipped."""
    if isinstance(wireguard_groups, str):
        wireguard_groups = [wireguard_groups]
    result = []
    for group in wireguard_groups:
        if not groups.get(group):
            continue
        try:
            result.append(firewall_rules.tunnels(wireguard_inventory(groups, hostvars, group=group)))
        except PlanError as exc:
            raise AnsibleFilterError(f"firewall_tunnels: group {group}: {exc}") from None
    return result


def firewall_ruleset(
    host: str,
    groups: Mapping[str, Any] | Sequence[str],
    tunnels: Sequence[Mapping[str, Any]],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The backend-neutral rule set of `host` (see firewall_rules.ruleset).

    `groups` is the inventory's `groups` or, cheaper, the host's own `group_names`. Only the host's own
    entries of `tunnels` and its own group memberships are read: the work per host does not grow with
    the fleet (copying the whole tunnels map and every group per host made the role quadratic).
    """
    if isinstance(groups, Mapping):
        member_of = [name for name, members in groups.items() if host in members]
    else:
        member_of = list(groups)
    mine = [{host: dict(network[host])} for network in tunnels or [] if host in network]
    try:
        return firewall_rules.ruleset(host, {name: [host] for name in member_of}, mine, dict(settings))
    except firewall_rules.FirewallError as exc:
        raise AnsibleFilterError(str(exc)) from None


def firewall_management_check(rules: Mapping[str, Any], port: Any = None, client: str | None = None) -> list[str]:
    """Reasons the rule set would cut the management SSH connection; empty when it would not."""
    return firewall_rules.management_check(rules, port, client or None)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "firewall_tunnels": firewall_tunnels,
            "firewall_ruleset": firewall_ruleset,
            "firewall_management_check": firewall_management_check,
        }
