# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja2 filters over the Headscale config and policy builders in plugins/module_utils (documented in the .yml files beside this)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import config as headscale_config
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import derpmap as headscale_derpmap
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import policy as headscale_policy
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError


def headscale_config_filter(settings: Mapping[str, Any], host: str) -> dict[str, Any]:
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError(f"headscale_config: expected the settings as a mapping, got {type(settings).__name__}")
    try:
        return headscale_config.build_config(dict(settings), str(host))
    except PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def headscale_derp_map(relays: Sequence[Mapping[str, Any]], host: str) -> dict[str, Any]:
    try:
        return headscale_derpmap.derp_map(relays, str(host))
    except PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def headscale_derp_relays(groups: Mapping[str, Any], group: str, hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    return headscale_derpmap.relays_from_inventory(list(groups.get(group) or []), hostvars)


def headscale_policy_text(policy: Any) -> str | None:
    try:
        return headscale_config.policy_text(policy)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"headscale_policy_text: {exc}") from None


def headscale_policy_from_groups(
    rules: Sequence[Mapping[str, Any]],
    groups: Mapping[str, Any] | Iterable[str],
    host: str,
    policy: Any = None,
    hostvars: Mapping[str, Any] | None = None,
    tailnet: Iterable[str] | None = None,
) -> dict[str, Any]:
    try:
        nodes = headscale_policy.node_intents(hostvars, tailnet) if hostvars is not None and tailnet else None
        return headscale_policy.policy_from_groups(rules, groups, str(host), policy, nodes)
    except PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def headscale_policy_tags(rules: Sequence[Mapping[str, Any]], group_names: Iterable[str]) -> list[str]:
    return headscale_policy.tags_of_host(rules, group_names)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "headscale_config": headscale_config_filter,
            "headscale_derp_map": headscale_derp_map,
            "headscale_derp_relays": headscale_derp_relays,
            "headscale_policy_from_groups": headscale_policy_from_groups,
            "headscale_policy_tags": headscale_policy_tags,
            "headscale_policy_text": headscale_policy_text,
        }
