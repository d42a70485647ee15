# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The revert-timer options of the firewall backend modules (ufw_rules, firewalld_rules)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  revert_timeout:
    description:
      - When greater than 0 and something changes, arm the revert timer of O(revert_helper) just before
        anything is written, so the previous configuration comes back after this many seconds unless the
        caller confirms the new one (C(wgops-firewall-revert disarm)) over a new connection.
    type: int
    default: 0
  revert_helper:
    description: The firewall role's C(wgops-firewall-revert) script, run with C(/usr/bin/python3).
    type: path
    default: /usr/local/libexec/wgops/wgops-firewall-revert
"""
