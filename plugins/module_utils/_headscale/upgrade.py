# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Headscale upgrade hops: one minor version at a time, the newest known patch of each.

Headscale 0.29 refuses to start on a database last used by a version more than one minor older, and
refuses downgrades across minors; patch changes within a minor are always allowed. The role walks the
hops this module computes, backing up the database before each one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

Version = tuple[int, int, int]


class UpgradeError(ValueError):
    """The requested version change cannot be made; the message names the host, the variable and the fix."""


def parse_version(text: str) -> Version:
    match = _VERSION.match(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a Headscale release version like 0.29.3")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


def upgrade_path(
    installed: str | None,
    target: str,
    known_releases: Iterable[str],
    *,
    host: str,
    allow_downgrade: bool = False,
    available: Sequence[str] | None = None,
) -> list[str]:
    """The versions to install in order, ending with `target`; empty when nothing is installed or it matches.

    `available` lists the versions the install method can provide (the `local` method's binaries);
    None means any release can be downloaded.
    """
    want = _parse(target, host, "headscale_version")
    if not installed:
        return []
    have = parse_version(installed)
    if have == want:
        return []
    known = sorted({_parse(release, host, "headscale_known_releases") for release in known_releases})

    if want[:2] == have[:2]:
        hops = [want]
    elif want < have:
        if not allow_downgrade:
            raise UpgradeError(
                f"host {host}: headscale_version: {target} is older than the installed {format_version(have)}; "
                "Headscale refuses to run on a database of a newer minor version. Restore a backup made before "
                "the upgrade, or set headscale_allow_downgrade: true to install it anyway."
            )
        hops = [want]
    else:
        hops = []
        for minor in _minors_between(have, want, known):
            newest = [release for release in known if release[:2] == minor]
            if not newest:
                raise UpgradeError(
                    f"host {host}: headscale_version: upgrading {format_version(have)} to {target} must pass "
                    f"through {minor[0]}.{minor[1]}.x (Headscale refuses skipped minor versions), and "
                    f"headscale_known_releases names no {minor[0]}.{minor[1]} release; add its newest patch there."
                )
            hops.append(newest[-1])
        hops.append(want)

    versions = [format_version(hop) for hop in hops]
    if available is not None:
        have_binaries = {parse_version(version) for version in available}
        missing = [version for version, hop in zip(versions, hops) if hop not in have_binaries]
        if missing:
            raise UpgradeError(
                f"host {host}: headscale_local_binaries: upgrading {format_version(have)} to {target} installs "
                f"{' then '.join(versions)} (one minor version at a time; Headscale refuses skipped minors), "
                f"but the controller has no binary for {', '.join(missing)}. Add them to headscale_local_binaries."
            )
    return versions


def _parse(text: str, host: str, variable: str) -> Version:
    try:
        return parse_version(text)
    except ValueError as exc:
        raise UpgradeError(f"host {host}: {variable}: {exc}") from None


def _minors_between(have: Version, want: Version, known: Sequence[Version]) -> list[tuple[int, int]]:
    """The (major, minor) pairs strictly between the two; across a major version, the known ones."""
    if have[0] != want[0]:
        return sorted({release[:2] for release in known if have[:2] < release[:2] < want[:2]})
    return [(have[0], minor) for minor in range(have[1] + 1, want[1])]
