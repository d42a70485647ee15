#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_user
short_description: Create or delete a Headscale user
version_added: 0.1.0
description:
  - Makes sure a user exists on the Headscale server, or does not.
  - Runs on the Headscale host and drives the C(headscale) CLI, which talks to the running server over
    its unix socket. Supports Headscale 0.26 and newer.
  - Users are looked up by name first, so creating a user that exists changes nothing. Deleting goes by
    the user's ID (what Headscale 0.26 and newer require).
  - The Headscale CLI cannot change the display name or email of an existing user; when they differ from
    O(display_name) or O(email) the module warns and changes nothing.
options:
  name:
    description: The user name.
    type: str
    required: true
  state:
    description:
      - V(present) creates the user when missing, V(absent) deletes it.
      - Headscale refuses to delete a user that still owns nodes; delete those first (M(wgops.fleet.headscale_node)).
        Deleting a user deletes its pre-auth keys.
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description: Display name given to a new user.
    type: str
  email:
    description: Email address given to a new user.
    type: str
extends_documentation_fragment:
  - wgops.fleet.headscale
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the users from the server and reports what would change; creates and deletes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
seealso:
  - module: wgops.fleet.headscale_preauthkey
  - module: wgops.fleet.headscale_info
"""

EXAMPLES = r"""
- name: Make the user the fleet's nodes register as
  wgops.fleet.headscale_user:
    name: fleet
    display_name: Fleet servers
    email: ops@example.com

- name: Remove a user
  wgops.fleet.headscale_user:
    name: olduser
    state: absent
    config: /etc/headscale/config.yaml
"""

RETURN = r"""
user:
  description: The user after the run (as it would be in check mode); null when absent.
  returned: always
  type: dict
  sample:
    id: 1
    name: fleet
    display_name: Fleet servers
    email: ops@example.com
    provider: ""
    provider_id: ""
    profile_pic_url: ""
    created_at: "2025-06-01T10:00:00.123456Z"
headscale_version:
  description: The Headscale version the CLI reported.
  returned: always
  type: str
  sample: 0.28.0
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import (
    COMMON_ARGUMENT_SPEC,
    HeadscaleError,
    failing_on_error,
    module_start,
)


def _diff(before: dict | None, after: dict | None) -> dict:
    keys = ("name", "display_name", "email")

    def show(user: dict | None) -> dict:
        return {key: user[key] for key in keys} if user else {}

    return {"before": show(before), "after": show(after)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "display_name": {"type": "str"},
            "email": {"type": "str"},
            **COMMON_ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not name.strip():
        module.fail_json(msg="name must not be empty")
    cli, result = module_start(module)

    with failing_on_error(module, result):
        current = cli.user(name=name)
        if module.params["state"] == "absent":
            if current is not None:
                result["changed"] = True
                if not module.check_mode:
                    cli.user_destroy(current)
            result["user"] = None
            if module._diff:
                result["diff"] = _diff(current, None)
            module.exit_json(**result)

        wanted = {"display_name": module.params["display_name"], "email": module.params["email"]}
        after: dict[str, Any] | None
        if current is None:
            result["changed"] = True
            if module.check_mode:
                after = {"id": None, "name": name, "provider": "", "provider_id": "", "profile_pic_url": ""}
                after.update({key: value or "" for key, value in wanted.items()})
                after["created_at"] = None
            else:
                try:
                    created = cli.user_create(name, wanted["display_name"], wanted["email"])
                except HeadscaleError:
                    # Another task (a parallel host delegating here) may have created it meanwhile.
                    current = cli.user(name=name)
                    if current is None:
                        raise
                    created = None
                    result["changed"] = False
                after = created or current
                if after is None or after.get("name") != name:
                    after = cli.user(name=name)
                if after is None:
                    module.fail_json(msg=f"created the Headscale user {name!r} but cannot find it afterwards", **result)
        else:
            after = current
            differing = [
                f"{key} is {current[key]!r}, not {value!r}"
                for key, value in wanted.items()
                if value is not None and current[key] != value
            ]
            if differing:
                module.warn(
                    f"the Headscale user {name!r} exists but its {'; '.join(differing)}: the headscale CLI "
                    "cannot change these, so they were left as they are"
                )
        result["user"] = after
        if module._diff:
            result["diff"] = _diff(current, after)
        module.exit_json(**result)


if __name__ == "__main__":
    main()
