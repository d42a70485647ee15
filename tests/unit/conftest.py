"""Make this checkout importable as ``ansible_collections.wgops.fleet`` and set up hypothesis profiles.

The collection is imported through ``.build/collections/ansible_collections/wgops/fleet``, a symlink to
the repository root (what ``make collection`` creates); it is created here when missing so that a bare
``pytest tests/unit`` works from a fresh clone.
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS / "ansible_collections" / "wgops" / "fleet"

if not COLLECTION_LINK.exists():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if COLLECTION_LINK.is_symlink():  # a dangling link from an old checkout location
        COLLECTION_LINK.unlink()
    COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)

if COLLECTION_LINK.resolve() != REPO_ROOT:
    raise RuntimeError(f"{COLLECTION_LINK} points to {COLLECTION_LINK.resolve()}, not to this checkout {REPO_ROOT}")

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# planner_oracle.py (the tests' independent model of the planner rules) sits next to the planner tests
ORACLE_DIR = Path(__file__).resolve().parent / "plugins" / "module_utils"
if str(ORACLE_DIR) not in sys.path:
    sys.path.insert(0, str(ORACLE_DIR))
# module_runner.py (running a module's main() in-process) is shared by the Headscale and Tailscale fakes
MODULE_FIXTURES_DIR = Path(__file__).resolve().parent / "plugins" / "modules" / "fixtures"
if str(MODULE_FIXTURES_DIR) not in sys.path:
    sys.path.insert(0, str(MODULE_FIXTURES_DIR))

# "ci" (the default) is reproducible and writes no example database; "dev" explores more, randomly.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The Headscale fixtures are CLI output recorded by real servers (keys with 1 h expiries among them): read
# them as of their recording time, or they would "expire" an hour later. A version directory's
# `recorded_at` gives it; the versions recorded before the recorder wrote that file were recorded together.
RECORDED_AT = 1795424400.0  # 2026-11-23T09:00:00Z
HEADSCALE_FIXTURES = Path(__file__).resolve().parent / "plugins" / "modules" / "fixtures" / "headscale"


def recorded_at(version: str | None) -> float:
    stamp = HEADSCALE_FIXTURES / str(version) / "recorded_at"
    return float(stamp.read_text()) if version and stamp.exists() else RECORDED_AT


@pytest.fixture(autouse=True)
def _recorded_clock(request, monkeypatch):
    from ansible_collections.wgops.fleet.plugins.module_utils import headscale_cli

    callspec = getattr(request.node, "callspec", None)
    at = recorded_at(callspec.params.get("version") if callspec else None)
    monkeypatch.setattr(headscale_cli, "clock", lambda: at)
