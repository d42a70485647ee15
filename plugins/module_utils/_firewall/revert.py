# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Arm the firewall role's revert timer (its wgops-firewall-revert script) from a module."""

from __future__ import annotations

import os
from typing import Any

# The options of doc_fragments/firewall_revert.py.
REVERT_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "revert_timeout": {"type": "int", "default": 0},
    "revert_helper": {"type": "path", "default": "/usr/local/libexec/wgops/wgops-firewall-revert"},
}


def arm_revert(module: Any, helper: str, backend: str, seconds: int, path: str) -> str:
    """Arm the timer just before a new rule set is written; returns what the helper said.

    ``path`` is the module's rule-set file: what it holds now is copied aside for the snapshot (the revert
    puts it back), or ``none`` when it does not exist yet. Raises RuntimeError when the timer cannot be armed.
    """
    scratch = None
    try:
        if os.path.exists(path):
            scratch = os.path.join(module.tmpdir, "previous.rules")
            with open(path, encoding="utf-8") as source, open(scratch, "w", encoding="utf-8") as out:
                out.write(source.read())
        argv = ["/usr/bin/python3", helper, "arm", backend, str(int(seconds)), scratch or "none", path]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise RuntimeError(f"could not arm the revert timer: {(err or out).strip()}")
        return (out or "").strip()
    finally:
        if scratch and os.path.exists(scratch):
            os.unlink(scratch)
