#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ufw_rules
short_description: Make ufw match a wgops rule set, keeping the user's own rules
version_added: 0.2.0
description:
  - Puts the rules of O(content) first in ufw's user rules, in their order, and removes the rules commented
    C(wgops...) that it no longer lists; rules without such a comment are kept as they are. Sets ufw's
    default incoming and routed policies and enables ufw.
  - Masquerade rules (ufw has no NAT) go into their own chain of the nat table, C(WGOPS-POSTROUTING), jumped to
    once from C(POSTROUTING), and into restore files that C(wgops-ufw-nat.service) loads at boot after ufw.
  - Every rule is parsed by ufw's own parser and the NAT rules are checked with C(iptables-restore --test)
    before anything is written. The files are then applied in one reload; when ufw does not take them, the
    previous files are put back and reloaded, and the module fails.
  - The rule set is kept in O(path) for the firewall role's revert timer and for C(--check --diff).
  - This is the ufw backend of the C(wgops.fleet.firewall) role, which renders O(content) from the inventory.
options:
  content:
    description:
      - The rule set. Sections C([defaults]) (C(incoming = deny|reject), C(routed = deny|reject|allow)),
        C([rules]) (ufw rule commands without the leading C(ufw), each with a comment starting with
        C(wgops)), C([nat]) and C([nat6]) (rules of the C(WGOPS-POSTROUTING) chain as C(iptables -S) prints
        them, without C(-A CHAIN)). Lines starting with C(#) are comments.
      - Required when O(state=present).
    type: str
  path:
    description: Where the rule set is kept on the host.
    type: path
    default: /etc/ufw/wgops.rules
  state:
    description:
      - V(present) applies O(content); V(absent) removes every rule, NAT chain, file and unit wgops put into
        ufw, and O(path), leaving the user's own rules.
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
    details: Parses and checks the rule set and reports the files that would change, writing nothing.
  diff_mode:
    support: full
    details: The rule set, ufw's user rules and defaults, the NAT restore files and unit, before and after.
requirements:
  - ufw and its Python package, which the system Python (C(/usr/bin/python3)) has on Debian and Ubuntu.
notes:
  - In check mode on a host where ufw is not installed yet (the same run would install it), the module
    reports a change and the rule set as the diff, without checking the rules with ufw's parser.
"""

EXAMPLES = r"""
- name: Allow SSH and WireGuard, masquerade the tunnel's clients out of eth0
  wgops.fleet.ufw_rules:
    content: |
      [defaults]
      incoming = deny
      routed = deny
      [rules]
      allow in proto tcp to any port 22 comment 'wgops: ssh'
      allow in proto udp to any port 51820 comment 'wgops: wireguard'
      [nat]
      -s 10.99.0.0/24 -o eth0 -j MASQUERADE
"""

RETURN = r"""
changes:
  description: "What changed (or would change in check mode): files, NAT chains, units enabled, ufw started."
  returned: always
  type: list
  elements: str
  sample: [/etc/ufw/user.rules, nat WGOPS-POSTROUTING (IPv4)]
armed:
  description: Whether the revert timer was armed (O(revert_timeout) and something changed).
  returned: always
  type: bool
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.wgops.fleet.plugins.module_utils._firewall.commands import module_runner
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.module import file_diffs, rules_module_kwargs
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.revert import arm_revert
from ansible_collections.wgops.fleet.plugins.module_utils._firewall.ufw import UfwHost, UfwRulesError, parse_rule_set


def main() -> None:
    module = AnsibleModule(**rules_module_kwargs("/etc/ufw/wgops.rules"))
    params = module.params
    path = params["path"]
    present = params["state"] == "present"
    result = {"changed": False, "changes": [], "armed": False}
    try:
        rule_set = parse_rule_set(params["content"], path) if present else None
        try:
            host = UfwHost(module_runner(module))
        except ImportError:
            if module.check_mode and present:
                # the same run installs ufw first: what would be written is the rule set
                result.update(changed=True, changes=["install ufw", path])
                if module._diff:
                    result["diff"] = file_diffs({path: (None, params["content"])})
                module.exit_json(**result)
            if not present and not os.path.exists(path):
                module.exit_json(**result)  # ufw was never set up by wgops here
            module.fail_json(msg=missing_required_lib("ufw (its Python package)"), exception=traceback.format_exc())
        if rule_set is not None:
            host.check_nat(rule_set)
        plan = host.plan(rule_set, path, params["content"] if present else None)
        result["changes"] = plan.report()
        result["changed"] = bool(result["changes"])
        if module._diff:
            result["diff"] = file_diffs(
                {name: (plan.files_before[name], plan.files_after[name]) for name in plan.changed_files}
            )
        if not result["changed"] or module.check_mode:
            module.exit_json(**result)
        if params["revert_timeout"] > 0:
            arm_revert(module, params["revert_helper"], "ufw", params["revert_timeout"], path)
            result["armed"] = True
        host.apply(plan, rule_set)
    except (UfwRulesError, RuntimeError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
