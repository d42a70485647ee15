"""Import paths and hypothesis profiles for every unit test.

The collection is imported through ``.build/collections/ansible_collections/wgops/fleet``, a symlink to
the repository root (what ``make collection`` creates); it is created here when missing so that a bare
``pytest tests/unit`` works from a fresh clone. tests/unit itself goes on ``sys.path`` too, for the shared
test support in ``helpers/`` (``from helpers import module_runner``).

Fixtures live next to the tests that share them: tests/unit/plugins/conftest.py (the recorded Headscale
clock), tests/unit/plugins/modules/conftest.py (the fake CLI binaries); tests/unit/testbed/conftest.py makes
tests/testbed's scripts importable.
"""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

UNIT_DIR = Path(__file__).resolve().parent
REPO_ROOT = UNIT_DIR.parents[1]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS / "ansible_collections" / "wgops" / "fleet"

if not COLLECTION_LINK.exists():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if COLLECTION_LINK.is_symlink():  # a dangling link from an old checkout location
        COLLECTION_LINK.unlink()
    COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)

if COLLECTION_LINK.resolve() != REPO_ROOT:
    raise RuntimeError(f"{COLLECTION_LINK} points to {COLLECTION_LINK.resolve()}, not to this checkout {REPO_ROOT}")

# ansible_collections.wgops.fleet (the code under test) and helpers (the test support). pytest's default
# import mode ("prepend") puts tests/unit there anyway, as this conftest's directory; importlib mode does not.
for path in (COLLECTIONS, UNIT_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

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
