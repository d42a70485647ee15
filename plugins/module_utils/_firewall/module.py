# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall backend modules (ufw_rules, firewalld_rules) share: their options and the diff of the
files they change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._firewall.revert import REVERT_ARGUMENT_SPEC


def rules_module_kwargs(default_path: str) -> dict[str, Any]:
    """AnsibleModule's keyword arguments: the rule set (content) kept in `path`, present or absent, and the
    revert timer (doc_fragments/firewall_revert.py)."""
    return {
        "argument_spec": {
            "content": {"type": "str"},
            "path": {"type": "path", "default": default_path},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            **REVERT_ARGUMENT_SPEC,
        },
        "required_if": [("state", "present", ("content",))],
        "supports_check_mode": True,
    }


def file_diffs(files: Mapping[str, tuple[str | None, str | None]]) -> list[dict[str, str]]:
    """One diff per changed file, by name: (before, after), None for a file that does not exist."""
    return [
        {"before_header": name, "before": before or "", "after_header": name, "after": after or ""}
        for name, (before, after) in sorted(files.items())
    ]
