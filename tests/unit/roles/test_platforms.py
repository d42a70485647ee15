"""Every role's meta/main.yml names as platforms exactly what the test bed runs: the Debian releases of the
images tests/testbed/setup.sh builds. docs/support.md says what is claimed beyond that, and why."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent for p in (ROOT / "roles").glob("*/meta/main.yml"))


def releases_in_scenarios() -> set[str]:
    """The image tags scenarios use (image: bookworm / trixie in molecule/*/molecule.yml)."""
    tags = set()
    for path in (ROOT / "molecule").glob("*/molecule.yml"):
        tags |= set(re.findall(r"^\s+image: (\w+)\s*$", path.read_text(encoding="utf-8"), flags=re.M))
    return tags


def test_the_scenarios_run_both_debian_releases():
    assert releases_in_scenarios() == {"bookworm", "trixie"}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_platforms_are_only_what_is_tested(role):
    meta = yaml.safe_load((role / "meta" / "main.yml").read_text(encoding="utf-8"))
    platforms = meta["galaxy_info"]["platforms"]
    assert platforms == [{"name": "Debian", "versions": sorted(releases_in_scenarios())}], platforms
