# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin filter over plugins/module_utils/_headscale/upgrade.py (documented in headscale_upgrade_path.yml)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.upgrade import UpgradeError, upgrade_path


def headscale_upgrade_path(
    installed: str | None,
    target: str,
    known_releases: Iterable[str],
    host: str,
    allow_downgrade: bool = False,
    available: Sequence[str] | None = None,
) -> list[str]:
    try:
        return upgrade_path(
            installed or None,
            str(target),
            known_releases,
            host=host,
            allow_downgrade=bool(allow_downgrade),
            available=None if available is None else [str(version) for version in available],
        )
    except UpgradeError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"headscale_upgrade_path": headscale_upgrade_path}
