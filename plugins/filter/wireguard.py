# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja2 filters over the WireGuard planner in plugins/module_utils (documented in the .yml files beside this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import keys as wireguard_keys
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.extract import extract_inventory
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.plan import build, plan_document
from ansible_collections.wgops.fleet.plugins.plugin_utils._wireguard import render as wireguard_render


def wireguard_inventory(
    groups: Mapping[str, Any], hostvars: Mapping[str, Any], group: str = "wireguard"
) -> dict[str, Any]:
    """Extract the planner's input from the whole inventory: every host of `group`, in or out of the play."""
    try:
        return extract_inventory(groups, hostvars, group)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _planner(inventory: Mapping[str, Any], state: Mapping[str, Any] | None):
    try:
        return build(_plain(inventory), state or {})
    except PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _plain(inventory: Mapping[str, Any]) -> dict[str, Any]:
    """Copy so the planner never mutates Ansible's variables."""
    return {
        "hosts": {name: dict(values) for name, values in (inventory.get("hosts") or {}).items()},
        "groups": dict(inventory.get("groups") or {}),
    }


def wireguard_validate(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> list[str]:
    """Fail with every problem at once; return the warnings (unreachable pairs, hosts without keys)."""
    return _planner(inventory, state)[1]


def wireguard_plan(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole plan in the documented plan-file shape."""
    planner = _planner(inventory, state)[0]
    return plan_document(planner.all().values())


def wireguard_host_plan(inventory: Mapping[str, Any], state: Mapping[str, Any] | None, host: str) -> dict[str, Any]:
    """One host's plan, plus `state`, `forwarding` and its `public_key`; `{"state": "absent"}` for an absent host."""
    planner = _planner(inventory, state)[0]
    if host not in planner.hosts:
        if host in (inventory.get("hosts") or {}):
            return {"state": "absent"}
        raise AnsibleFilterError(f"wireguard_host_plan: host {host} is not in the WireGuard group")
    plan = planner.host(host)
    result = plan.as_dict()
    result.update(state="present", forwarding=plan.forwarding, public_key=plan.public_key)
    return result


def wireguard_pubkey(private_key: str) -> str:
    try:
        return wireguard_keys.public_key(private_key)
    except wireguard_keys.InvalidKeyError as exc:
        raise AnsibleFilterError(f"wireguard_pubkey: the private key {exc}") from None


def wireguard_psk(secret: str, public_key: str, peer_public_key: str) -> str:
    try:
        return wireguard_keys.derive_preshared_key(secret, public_key, peer_public_key)
    except ValueError as exc:
        raise AnsibleFilterError(f"wireguard_psk: {exc}") from None


def wireguard_plan_table(plan: Mapping[str, Any]) -> str:
    return wireguard_render.table(plan)


def wireguard_plan_diagram(plan: Mapping[str, Any], fmt: str = "mermaid") -> str:
    try:
        return wireguard_render.diagram(plan, fmt)
    except ValueError as exc:
        raise AnsibleFilterError(f"wireguard_plan_diagram: {exc}") from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "wireguard_inventory": wireguard_inventory,
            "wireguard_validate": wireguard_validate,
            "wireguard_plan": wireguard_plan,
            "wireguard_host_plan": wireguard_host_plan,
            "wireguard_pubkey": wireguard_pubkey,
            "wireguard_psk": wireguard_psk,
            "wireguard_plan_table": wireguard_plan_table,
            "wireguard_plan_diagram": wireguard_plan_diagram,
        }
