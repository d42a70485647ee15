#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewalld_rules
short_description: Make firewalld's wgops zones and policies match a bundle, keeping everything else
version_added: 0.2.0
description:
  - Writes the zone and policy files of O(content) to C(/etc/firewalld/zones) and C(/etc/firewalld/policies)
    and removes the C(wgops*) files it no longer holds; the distribution's zones and the user's own
    configuration stay as they are. Then reloads firewalld's permanent configuration, or starts firewalld,
    and enables it for boot.
  - The whole candidate configuration (a copy of C(/etc/firewalld) with the new files) is checked with
    C(firewall-offline-cmd --check-config) before anything is written. When the reload fails the previous
    files are put back and reloaded, and the module fails.
  - The bundle is kept in O(path) for the firewall role's revert timer and for C(--check --diff).
  - This is the firewalld backend of the C(wgops.fleet.firewall) role, which renders O(content) from the
    inventory.
options:
  content:
    description:
      - The bundle. Each file is introduced by a line C(### zones/NAME.xml) or C(### policies/NAME.xml), NAME
        starting with C(wgops) (at most 17 characters, firewalld's limit); lines before the first such line
        must be empty or comments.
      - Required when O(state=present).
    type: str
  path:
    description: Where the bundle is kept on the host.
    type: path
    default: /etc/firewalld/wgops.bundle
  state:
    description: V(present) applies O(content); V(absent) removes every C(wgops*) zone and policy and O(path).
    type: str
    choices: [present, absent]
    default: present
author:
  - wgops.fleet maintainers (@wgops)
extends_documentation_fragment:
  - wgops.fleet.attributes
  - wgops.fleet.firewall_revert
attributes:
  check_mode:
    support: full
    details: Checks the candidate configuration with firewalld's own tool and reports what would change, writing nothing.
  diff_mode:
    support: full
    details: The bundle and each zone and policy file, before and after.
requirements:
  - firewalld (C(firewall-cmd) and C(firewall-offline-cmd)).
notes:
  - In check mode on a host where firewalld is not installed yet (the same run would install it), the
    module reports a change and the bundle as the diff, without firewalld's check.
"""

EXAMPLES = r"""
- name: A zone for the WireGuard interface
  wgops.fleet.firewalld_rules:
    content: |
      ### zones/wgops-tunnel.xml
      <?xml version="1.0" encoding="utf-8"?>
      <zone target="DROP">
        <interface name="wg0"/>
        <service name="ssh"/>
      </zone>
"""

RETURN = r"""
changes:
  description: What changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/firewalld/zones/wgops-tunnel.xml, start firewalld]
armed:
  description: Whether the revert timer was armed (O(revert_timeout) and something changed).
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._firewall.commands import module_runner
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.firewalld import (
    CONFIG,
    FirewalldHost,
    FirewalldRulesError,
    parse_bundle,
)
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.module import file_diffs, rules_module_kwargs
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.revert import arm_revert


def main() -> None:
    module = AnsibleModule(**rules_module_kwargs("/etc/firewalld/wgops.bundle"))
    params = module.params
    path = params["path"]
    present = params["state"] == "present"
    content = params["content"] if present else None
    result = {"changed": False, "changes": [], "armed": False}
    try:
        new = parse_bundle(content, path) if content is not None else {}
        host = FirewalldHost(module_runner(module))
        stored = _read(path)
        if not host.available():
            if module.check_mode and present:
                result.update(changed=True, changes=["install firewalld", path])
                _diff(module, result, {path: (stored, content)})
                module.exit_json(**result)
            if not present:
                module.exit_json(**result)  # nothing of wgops can be in a firewalld that is not there
            module.fail_json(msg="firewalld is not installed (firewall-cmd and firewall-offline-cmd)")
        plan = host.plan(new, present)
        spec_changed = stored != content
        result["changes"] = plan.report() + ([path] if spec_changed else [])
        result["changed"] = bool(result["changes"])
        files = {f"{CONFIG}/{p}": (plan.old.get(p), plan.new.get(p)) for p in plan.changed}
        if spec_changed:
            files[path] = (stored, content)
        _diff(module, result, files)
        if not result["changed"] or module.check_mode:
            module.exit_json(**result)
        if params["revert_timeout"] > 0 and (plan.changed or plan.start or plan.reload):
            arm_revert(module, params["revert_helper"], "firewalld", params["revert_timeout"], path)
            result["armed"] = True
        host.apply(plan)
        if content is None:
            if os.path.exists(path):
                os.unlink(path)
        elif spec_changed:
            _write(path, content)
    except (FirewalldRulesError, RuntimeError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


def _read(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scratch = f"{path}.wgops-new"
    with open(scratch, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(scratch, 0o644)
    os.replace(scratch, path)


def _diff(module: AnsibleModule, result: dict, files: dict) -> None:
    if module._diff:
        result["diff"] = file_diffs(files)


if __name__ == "__main__":
    main()
