# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.upgrade import (
    UpgradeError,
    parse_version,
    upgrade_path,
)

KNOWN = ["0.26.0", "0.26.1", "0.27.0", "0.27.1", "0.28.0", "0.29.0", "0.29.3"]


def path(installed, target, **kwargs):
    return upgrade_path(installed, target, KNOWN, host="hs1", **kwargs)


def test_fresh_install_and_current_version_need_no_hops():
    assert path(None, "0.29.3") == []
    assert path("v0.29.3", "0.29.3") == []


def test_patch_change_is_one_hop_both_ways():
    assert path("0.29.0", "0.29.3") == ["0.29.3"]
    assert path("0.29.3", "0.29.0") == ["0.29.0"]


def test_walks_each_minor_with_its_newest_known_patch():
    assert path("0.26.0", "0.29.3") == ["0.27.1", "0.28.0", "0.29.3"]
    assert path("v0.27.1", "0.29.0") == ["0.28.0", "0.29.0"]


def test_downgrade_across_minors_is_refused_unless_allowed():
    with pytest.raises(UpgradeError, match=r"host hs1: headscale_version: .*headscale_allow_downgrade"):
        path("0.29.3", "0.28.0")
    assert path("0.29.3", "0.28.0", allow_downgrade=True) == ["0.28.0"]


def test_unknown_minor_in_between_is_refused():
    with pytest.raises(UpgradeError, match=r"host hs1: headscale_version: .*0\.28\.x.*headscale_known_releases"):
        upgrade_path("0.27.1", "0.29.3", ["0.27.1", "0.29.3"], host="hs1")


def test_missing_local_binary_for_a_hop_is_refused_naming_it():
    with pytest.raises(UpgradeError, match=r"host hs1: headscale_local_binaries: .*no binary for 0\.28\.0"):
        path("0.27.1", "0.29.3", available=["0.27.1", "0.29.3"])
    assert path("0.27.1", "0.29.3", available=["v0.28.0", "0.29.3"]) == ["0.28.0", "0.29.3"]


def test_bad_version_text_names_the_variable():
    with pytest.raises(UpgradeError, match=r"host hs1: headscale_version: 'latest'"):
        path("0.27.1", "latest")


def test_major_change_passes_known_minors_only():
    known = ["0.28.0", "0.29.3", "1.0.2", "1.1.0"]
    assert upgrade_path("0.28.0", "1.1.0", known, host="h") == ["0.29.3", "1.0.2", "1.1.0"]


@given(
    st.integers(0, 5), st.integers(0, 3), st.integers(0, 5), st.integers(0, 3), st.lists(st.integers(0, 3), max_size=6)
)
def test_every_hop_moves_at_most_one_minor(have_minor, have_patch, want_minor, want_patch, extra_patches):
    known = [f"0.{minor}.{patch}" for minor in range(6) for patch in [0, *extra_patches]]
    installed, target = f"0.{have_minor}.{have_patch}", f"0.{want_minor}.{want_patch}"
    if parse_version(target) < parse_version(installed):
        return
    hops = upgrade_path(installed, target, known, host="h")
    previous = parse_version(installed)
    for hop in map(parse_version, hops):
        assert hop > previous and hop[1] - previous[1] <= 1
        previous = hop
    assert not hops or hops[-1] == target
