# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes modules declare: the descriptions once, and what a read-only module supports."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    # A module that reads and never changes anything (use with the fragment above).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Read-only; the same in check mode.
  diff_mode:
    support: none
"""
