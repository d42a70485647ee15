#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_apikey
short_description: Create, expire or delete Headscale API keys
version_added: 0.1.0
description:
  - Creates an API key for Headscale's remote API (for example for a remote C(headscale) CLI or a web UI),
    or expires or deletes keys; always returns the keys there are, without their secrets.
  - Runs on the Headscale host and drives the C(headscale) CLI, which talks to the running server over
    its unix socket. Supports Headscale 0.26 and newer.
  - With O(state=present) the module B(creates a new key every time it runs) and always reports a change. The key is
    returned once, in RV(key), and cannot be read back later. Hide the task's result from logs (C(no_log) on
    the task) and pass RV(key) on only where it is needed.
options:
  state:
    description:
      - V(present) creates a new key (every run).
      - V(expired) expires the key named by O(prefix), O(id) or O(key); a key that is expired already is
        left alone.
      - V(absent) deletes it.
    type: str
    choices: [present, absent, expired]
    default: present
  expiration:
    description:
      - How long a new key stays valid, as the CLI takes it (Prometheus style duration such as V(30d), V(90d),
        V(1y)).
    type: str
    default: 90d
  prefix:
    description:
      - With O(state=absent) or O(state=expired), the key's prefix as C(headscale apikeys list) shows it or as
        RV(prefix) returned it (V(hskey-api-AbCdEfGhIjKl-***), V(hskey-api-AbCdEfGhIjKl), V(AbCdEfGhIjKl), or
        the 7 characters of a key made before Headscale 0.28).
    type: str
  id:
    description: With O(state=absent) or O(state=expired), the key's ID.
    type: int
  key:
    description: With O(state=absent) or O(state=expired), the full key (for example one RV(key) returned earlier).
    type: str
extends_documentation_fragment:
  - wgops.fleet.headscale
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Nothing is created, expired or deleted; with O(state=present) the module reports a change and RV(key) is null.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
seealso:
  - module: wgops.fleet.headscale_info
"""

EXAMPLES = r"""
- name: Create an API key for the web UI
  wgops.fleet.headscale_apikey:
    expiration: 30d
  register: ui_key
  no_log: true

- name: Expire it later
  wgops.fleet.headscale_apikey:
    state: expired
    prefix: "{{ ui_key.prefix }}"

- name: Delete a key as `headscale apikeys list` shows it
  wgops.fleet.headscale_apikey:
    state: absent
    prefix: hskey-api-AbCdEfGhIjKl-***
"""

RETURN = r"""
key:
  description: The new key, in full; null unless one was created (not in check mode). This is a secret.
  returned: always
  type: str
  sample: hskey-api-AbCdEfGhIjKl-0123456789...
prefix:
  description: The prefix that names the new key (use it with O(prefix) later).
  returned: when a key was created
  type: str
  sample: AbCdEfGhIjKl
apikey:
  description: The key that was created, expired or deleted (or would be in check mode), without its secret.
  returned: when a key was created, expired or deleted
  type: dict
  sample:
    id: 3
    prefix: AbCdEfGhIjKl
    display_prefix: hskey-api-AbCdEfGhIjKl-***
    expiration: "2025-09-01T10:00:00Z"
    expired: false
    created_at: "2025-06-01T10:00:00Z"
    last_seen: null
apikeys:
  description: The API keys after the run, without secrets.
  returned: always
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
    apikey_prefix,
    failing_on_error,
    module_start,
    valid_duration,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent", "expired"], "default": "present"},
            "expiration": {"type": "str", "default": "90d"},
            "prefix": {"type": "str", "no_log": False},
            "id": {"type": "int"},
            "key": {"type": "str", "no_log": True},
            **COMMON_ARGUMENT_SPEC,
        },
        required_if=[
            ("state", "absent", ("prefix", "id", "key"), True),
            ("state", "expired", ("prefix", "id", "key"), True),
        ],
        mutually_exclusive=[("prefix", "id", "key")],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present" and not valid_duration(params["expiration"]):
        module.fail_json(
            msg=f"expiration {params['expiration']!r} is not a duration the headscale CLI takes (like 30d, 90d, 1y)"
        )
    cli, result = module_start(module, key=None)
    with failing_on_error(module, result):
        keys = cli.apikeys()
        if params["state"] == "present":
            result["changed"] = True
            if not module.check_mode:
                created = cli.apikey_create(params["expiration"])
                prefix = apikey_prefix(created)
                result.update(key=created, prefix=prefix)
                keys = cli.apikeys()
                result["apikey"] = next((k for k in keys if k["prefix"] == prefix), None)
            result["apikeys"] = keys
            module.exit_json(**result)

        if params["id"] is not None:
            matching = [k for k in keys if k["id"] == params["id"]]
            what = f"id {params['id']}"
        else:
            wanted = apikey_prefix(params["prefix"] if params["prefix"] is not None else params["key"])
            if not wanted:
                module.fail_json(msg="prefix must not be empty")
            matching = [k for k in keys if k["prefix"] == wanted]
            what = f"prefix {wanted}"
        target = matching[0] if matching else None
        if target is not None and params["state"] == "expired" and target["expired"]:
            target = None
        if target is not None:
            result["changed"] = True
            result["apikey"] = target
            if not module.check_mode:
                cli.apikey_retire(target, params["state"] == "absent", what)
                keys = cli.apikeys()
        result["apikeys"] = keys
    module.exit_json(**result)


if __name__ == "__main__":
    main()
