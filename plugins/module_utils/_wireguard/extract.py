# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's input, extracted from Ansible's `groups` and `hostvars`. Pure Python, no Ansible imports.

Each host's hostvars are read once (`hostvars[name]` is expensive in Ansible), so extracting is O(fleet).
Secrets never reach the output: of `wireguard_psk_secret` only whether it is set and its length, of
`wireguard_private_key` only the public key derived from it (or why it is malformed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.inventory import DERIVED_VARIABLES, INPUT_VARIABLES
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.keys import (
    PSK_SECRET_MIN_LENGTH,
    InvalidKeyError,
    public_key,
)

_READ = tuple(name for name in INPUT_VARIABLES if name not in DERIVED_VARIABLES)


def _plain(value: Any) -> Any:
    """Containers as plain dicts and lists (JSON-able); scalars as they are."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _private_key_facts(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(derived public key, reason it is malformed); the private key itself goes nowhere."""
    if "wireguard_private_key" not in values:
        return None, None
    private = values["wireguard_private_key"]
    if private is None or private == "":
        return None, None
    if not isinstance(private, str):
        return None, f"is {type(private).__name__}, not a string"
    try:
        return public_key(str(private)), None
    except InvalidKeyError as exc:
        return None, str(exc)


def _psk_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    secret = values.get("wireguard_psk_secret")
    invalid = None
    if secret is not None and not isinstance(secret, str):
        invalid = f"is {type(secret).__name__}, not a string of at least {PSK_SECRET_MIN_LENGTH} characters"
    return {
        "wireguard_psk_secret_set": bool(secret),
        "wireguard_psk_secret_length": len(secret) if isinstance(secret, str) else 0,
        "wireguard_psk_secret_invalid": invalid,
    }


def extract_host(values: Mapping[str, Any]) -> dict[str, Any]:
    """One host's planner input from its (already fetched) hostvars."""
    names = [str(name) for name in values]
    extracted = {var: _plain(values[var]) for var in _READ if var in values}
    extracted.update(_psk_facts(values))
    derived, invalid = _private_key_facts(values)
    extracted["wireguard_private_key_public"] = derived
    extracted["wireguard_private_key_invalid"] = invalid
    extracted["wireguard_variables"] = sorted(name for name in names if name.startswith("wireguard_"))
    return extracted


def extract_inventory(
    groups: Mapping[str, Sequence[str]], hostvars: Mapping[str, Mapping[str, Any]], group: str = "wireguard"
) -> dict[str, Any]:
    """`{"hosts": {HOST: values}, "groups": {GROUP: [HOST, ...]}}` for every host of `group`, in or out of the play.

    Raises ValueError when the inventory has no such group.
    """
    if group not in groups:
        raise ValueError(f"wireguard_inventory: the inventory has no group '{group}'; put the WireGuard hosts in it")
    hosts: dict[str, dict[str, Any]] = {}
    for name in groups[group]:
        values = hostvars[name]
        hosts[str(name)] = extract_host(values)
    return {
        "hosts": hosts,
        "groups": {
            str(name): [str(member) for member in members]
            for name, members in groups.items()
            if name not in ("all", "ungrouped")
        },
    }
