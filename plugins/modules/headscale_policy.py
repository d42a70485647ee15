#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_policy
short_description: Validate a Headscale ACL policy and keep it in the Headscale database
version_added: 0.1.0
description:
  - Validates a policy with C(headscale policy check) and, unless O(check_only), stores it with
    C(headscale policy set) when it differs from the policy the server has (C(headscale policy get)).
  - Storing needs a server running with C(policy.mode=database). With C(policy.mode=file) write the file at
    C(policy.path) yourself (for example with M(ansible.builtin.copy) and this module as its C(validate)
    step, or with O(check_only) first) and reload Headscale.
  - Policies are compared by their content (as JSON values), so comments, key order and formatting do not
    count as a change.
  - Runs on the Headscale host and drives the C(headscale) CLI. Supports Headscale 0.26 and newer.
options:
  policy:
    description:
      - The policy, as HuJSON or JSON text, or as a dictionary.
    type: raw
  path:
    description:
      - A policy file on the Headscale host to use instead of O(policy).
    type: path
  check_only:
    description:
      - Only validate the policy; nothing is stored and the module never reports a change.
    type: bool
    default: false
  state:
    description:
      - V(present) stores the policy when it differs from the server's (unless O(check_only)).
    type: str
    choices: [present]
    default: present
extends_documentation_fragment:
  - wgops.fleet.headscale
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The policy is validated and compared with the server's, but not stored.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff compares the server's policy and the new one as normalised JSON (sorted keys, no comments).
notes:
  - Up to Headscale 0.28 C(policy check) only parses the policy, offline. From 0.29 it asks the running
    server, which also resolves the users the policy names and runs its C(tests) block; the server must then
    be running.
  - C(policy set) checks the policy against the server's users and nodes too, so a policy can pass the check
    and still be refused when stored.
seealso:
  - module: wgops.fleet.headscale_info
"""

EXAMPLES = r"""
- name: Keep the ACL policy in the database (policy.mode database)
  wgops.fleet.headscale_policy:
    policy:
      tagOwners:
        tag:server: [ops@]
      acls:
        - action: accept
          src: [autogroup:member]
          dst: ["tag:server:22"]

- name: Store a HuJSON policy kept next to the playbook
  wgops.fleet.headscale_policy:
    policy: "{{ lookup('ansible.builtin.file', 'policy.hujson') }}"

- name: Validate a policy file before headscale loads it (policy.mode file)
  wgops.fleet.headscale_policy:
    path: /etc/headscale/policy.hujson
    check_only: true
"""

RETURN = r"""
valid:
  description: Whether C(headscale policy check) accepted the policy (the module fails when it does not).
  returned: always
  type: bool
  sample: true
policy:
  description: The policy as a JSON value (comments dropped); null when it is no HuJSON the module can read.
  returned: always
  type: dict
previous:
  description:
    - The policy the server had, as a JSON value; null when the database held none (or with O(check_only)).
  returned: always
  type: dict
headscale_version:
  description: The Headscale version the CLI reported.
  returned: always
  type: str
  sample: 0.28.0
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import (
    COMMON_ARGUMENT_SPEC,
    failing_on_error,
    module_start,
    parse_hujson,
)


def _text(module: AnsibleModule) -> str:
    policy = module.params["policy"]
    if module.params["path"]:
        try:
            with open(module.params["path"], encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(msg=f"cannot read the policy file {module.params['path']}: {exc}")
    if isinstance(policy, (dict, list)):
        return json.dumps(policy, indent=2) + "\n"
    if isinstance(policy, str):
        if not policy.strip():
            module.fail_json(msg="policy is empty")
        return policy if policy.endswith("\n") else policy + "\n"
    module.fail_json(msg=f"policy must be a string (HuJSON or JSON) or a dictionary, not {type(policy).__name__}")


def _value(text: str | None):
    if text is None:
        return None
    try:
        return parse_hujson(text)
    except ValueError:
        return None


def _same(current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    current_value, wanted_value = _value(current), _value(wanted)
    if current_value is not None and wanted_value is not None:
        return current_value == wanted_value
    return current.strip() == wanted.strip()


def _shown(text: str | None) -> str:
    if text is None:
        return ""
    value = _value(text)
    if value is None:
        return text if text.endswith("\n") else text + "\n"
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "raw"},
            "path": {"type": "path"},
            "check_only": {"type": "bool", "default": False},
            "state": {"type": "str", "choices": ["present"], "default": "present"},
            **COMMON_ARGUMENT_SPEC,
        },
        required_one_of=[("policy", "path")],
        mutually_exclusive=[("policy", "path")],
        supports_check_mode=True,
    )
    text = _text(module)
    cli, result = module_start(module, valid=False, policy=_value(text), previous=None)

    fd, tmp = tempfile.mkstemp(prefix="headscale-policy-", suffix=".hujson", dir=module.tmpdir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        with failing_on_error(module, result, hide=tmp):
            cli.policy_check(tmp)
        result["valid"] = True
        if module.params["check_only"]:
            module.exit_json(**result)

        with failing_on_error(module, result):
            current = cli.policy_get()
        result["previous"] = _value(current)
        if not _same(current, text):
            result["changed"] = True
            if not module.check_mode:
                with failing_on_error(module, result, hide=tmp):
                    cli.policy_set(tmp)
                    stored = cli.policy_get()
                if not _same(stored, text):
                    module.fail_json(
                        msg="stored the policy but `headscale policy get` returns a different one", **result
                    )
        if module._diff:
            result["diff"] = {
                "before": _shown(current),
                "after": _shown(text),
                "before_header": "headscale policy (server)",
                "after_header": "headscale policy (new)",
            }
        module.exit_json(**result)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":
    main()
