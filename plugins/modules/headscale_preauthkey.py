#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_preauthkey
short_description: Mint, expire or delete Headscale pre-auth keys
version_added: 0.1.0
description:
  - Mints a new pre-auth key that a Tailscale client can register with (C(tailscale up --auth-key)), or
    expires or deletes existing keys.
  - Runs on the Headscale host and drives the C(headscale) CLI, which talks to the running server over
    its unix socket. Supports Headscale 0.26 and newer.
  - With O(state=present) the module B(mints a new key every time it runs) and always reports a change; a key's secret
    cannot be read back later (Headscale 0.28 and newer store only a hash of it). Keep the task behind a
    condition (for example only when a node still has to register) and expire the key afterwards.
  - The new key is returned once, in RV(key). It never appears in warnings, errors or diffs. Hide the
    task's result from logs (C(no_log) on the task, or keep C(-v) output private) and pass RV(key) on only
    where it is needed.
options:
  state:
    description:
      - V(present) mints a new key (every run).
      - V(expired) expires the keys named by O(id), O(key_prefix) or O(key); keys already expired are left alone.
      - V(absent) deletes them. Headscale before 0.28 cannot delete pre-auth keys; there they are expired
        instead, with a warning.
    type: str
    choices: [present, absent, expired]
    default: present
  user:
    description:
      - Name of the user the key belongs to (resolved to the user's ID, which the CLI of Headscale 0.26 and
        newer wants).
      - Required to mint a key, except on Headscale 0.28 and newer with O(tags) (a key for tagged nodes).
      - With O(state=absent) or O(state=expired), only this user's keys are considered.
    type: str
  reusable:
    description: Whether the key can register more than one node.
    type: bool
    default: false
  ephemeral:
    description: Whether nodes registered with the key are ephemeral (removed when they go offline).
    type: bool
    default: false
  expiration:
    description:
      - How long the key stays valid, as the CLI takes it (Prometheus style duration such as V(30m), V(1h),
        V(24h), V(7d)).
    type: str
    default: 1h
  tags:
    description:
      - ACL tags given to nodes registered with the key (each like V(tag:server)).
      - Headscale 0.28 and newer only accept tags that the policy's C(tagOwners) define.
    type: list
    elements: str
    default: []
  id:
    description: With O(state=absent) or O(state=expired), the ID of the key.
    type: int
  key_prefix:
    description:
      - With O(state=absent) or O(state=expired), keys whose key starts with this.
      - For Headscale 0.28 and newer keys give the C(hskey-auth-<prefix>) part (what RV(key_prefix) returns
        and C(headscale preauthkeys list) shows before C(-***)), or just the C(<prefix>); for older keys the
        first characters of the key.
    type: str
  key:
    description:
      - With O(state=absent) or O(state=expired), the full key (for example one RV(key) returned earlier).
    type: str
extends_documentation_fragment:
  - wgops.fleet.headscale
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - With O(state=present) nothing is minted; the module reports a change and RV(key) is null.
      - Otherwise the keys are read and the ones that would be expired or deleted are returned.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Up to Headscale 0.27 C(headscale preauthkeys list) shows every key in full; this module returns keys only
    by RV(key_prefix). From 0.28 the secret exists only in the output of the command that created it.
seealso:
  - module: wgops.fleet.headscale_user
  - module: wgops.fleet.headscale_info
"""

EXAMPLES = r"""
- name: Mint a one-time key for a new node
  wgops.fleet.headscale_preauthkey:
    user: fleet
    expiration: 30m
  register: authkey
  no_log: true

- name: Register the node with it (on the node)
  ansible.builtin.command:
    argv: [tailscale, up, --login-server, "https://hs.example.com", --auth-key, "{{ authkey.key }}"]
  delegate_to: node1
  no_log: true

- name: Expire it once the node is in
  wgops.fleet.headscale_preauthkey:
    state: expired
    key_prefix: "{{ authkey.key_prefix }}"

- name: Reusable key for tagged servers (Headscale 0.28+, tag defined in the policy's tagOwners)
  wgops.fleet.headscale_preauthkey:
    tags: [tag:server]
    reusable: true
    expiration: 24h
  register: server_key
  no_log: true

- name: Delete a key by its ID
  wgops.fleet.headscale_preauthkey:
    state: absent
    id: 12
"""

RETURN = r"""
key:
  description:
    - The new key, in full. Only returned when one was minted (O(state=present), not in check mode); null
      otherwise. This is a secret.
  returned: always
  type: str
  sample: hskey-auth-AbCdEfGhIjKl-0123456789abcdef...
key_prefix:
  description:
    - The part of the new key that names it without revealing it (C(hskey-auth-<prefix>) for Headscale 0.28
      and newer, the first 8 characters for older keys); use it with O(key_prefix) to expire the key later.
  returned: when a key was minted
  type: str
  sample: hskey-auth-AbCdEfGhIjKl
id:
  description: The ID of the new key.
  returned: when a key was minted
  type: int
  sample: 7
preauthkey:
  description: The new key without its secret.
  returned: when a key was minted
  type: dict
  sample:
    id: 7
    key_prefix: hskey-auth-AbCdEfGhIjKl
    user: fleet
    user_id: 1
    reusable: false
    ephemeral: false
    used: false
    expiration: "2025-06-01T11:00:00.5Z"
    expired: false
    created_at: "2025-06-01T10:00:00.5Z"
    tags: []
preauthkeys:
  description:
    - With O(state=absent) or O(state=expired), the keys that were (or in check mode would be) expired or
      deleted, without their secrets.
  returned: when state is absent or expired
  type: list
  elements: dict
headscale_version:
  description: The Headscale version the CLI reported.
  returned: always
  type: str
  sample: 0.28.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import (
    COMMON_ARGUMENT_SPEC,
    failing_on_error,
    is_past,
    module_start,
    normalize_preauthkey,
    preauthkey_matches,
    preauthkey_prefix,
    valid_duration,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent", "expired"], "default": "present"},
            "user": {"type": "str"},
            "reusable": {"type": "bool", "default": False},
            "ephemeral": {"type": "bool", "default": False},
            "expiration": {"type": "str", "default": "1h"},
            "tags": {"type": "list", "elements": "str", "default": []},
            "id": {"type": "int"},
            "key_prefix": {"type": "str", "no_log": False},
            "key": {"type": "str", "no_log": True},
            **COMMON_ARGUMENT_SPEC,
        },
        required_if=[
            ("state", "absent", ("id", "key_prefix", "key"), True),
            ("state", "expired", ("id", "key_prefix", "key"), True),
        ],
        mutually_exclusive=[("id", "key_prefix", "key")],
        supports_check_mode=True,
    )
    params = module.params
    if params["key_prefix"] is not None and not params["key_prefix"].strip():
        module.fail_json(msg="key_prefix must not be empty")
    if params["state"] == "present" and not valid_duration(params["expiration"]):
        module.fail_json(
            msg=f"expiration {params['expiration']!r} is not a duration the headscale CLI takes (like 30m, 1h, 7d)"
        )
    cli, result = module_start(module, key=None)
    with failing_on_error(module, result):
        if params["state"] == "present":
            _mint(module, cli, result)
        else:
            _retire(module, cli, result)
    module.exit_json(**result)


def _mint(module: AnsibleModule, cli, result: dict) -> None:
    params = module.params
    tags = [tag.strip() for tag in params["tags"] if tag.strip()]
    user = cli.require_user(params["user"]) if params["user"] else None
    cli.check_preauthkey_owner(user, tags)  # in check mode too

    result["changed"] = True
    if module.check_mode:
        return
    secret, info = cli.preauthkey_create(
        user, tags, params["expiration"], reusable=params["reusable"], ephemeral=params["ephemeral"]
    )
    result.update(key=secret, key_prefix=preauthkey_prefix(secret), id=info["id"], preauthkey=info)


def _retire(module: AnsibleModule, cli, result: dict) -> None:
    params = module.params
    state = params["state"]
    user = cli.require_user(params["user"]) if params["user"] else None
    raw_keys = cli.preauthkeys_raw(user["id"] if user else None)
    # Up to 0.27 the list holds every key in full: keep them out of anything the module prints.
    module.no_log_values.update(cli.listed_preauthkey_secrets(raw_keys))

    if params["id"] is not None:
        matching = [raw for raw in raw_keys if int(raw.get("id") or 0) == params["id"]]
    else:
        wanted = params["key_prefix"] if params["key_prefix"] is not None else params["key"]
        matching = [raw for raw in raw_keys if preauthkey_matches(raw.get("key") or "", wanted.strip())]

    can_delete = cli.can_delete_preauthkeys
    if state == "absent" and can_delete:
        targets = matching
    else:
        targets = [raw for raw in matching if not is_past(raw.get("expiration"))]
        if state == "absent" and matching:
            module.warn(
                f"Headscale {cli.version_text} cannot delete pre-auth keys (0.28 can): "
                f"{'expired them instead' if targets else 'they are expired already'}"
            )

    infos = [normalize_preauthkey(raw) or {} for raw in targets]  # a listed key is never empty
    if any(info["user"] is None for info in infos):
        users = {u["id"]: u["name"] for u in cli.users()}
        for info in infos:
            info["user"] = info["user"] or users.get(info["user_id"])
    result["preauthkeys"] = infos
    result["changed"] = bool(targets)
    if module.check_mode:
        return

    for raw, info in zip(targets, infos):
        cli.preauthkey_retire(
            raw, state == "absent" and can_delete, f"pre-auth key {info['id']} ({info['key_prefix']}...)"
        )
        if state == "expired" or not can_delete:
            info["expired"] = True


if __name__ == "__main__":
    main()
