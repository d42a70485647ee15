"""Make this checkout importable as ``ansible_collections.wgops.fleet`` (as tests/unit/conftest.py does) for the
integration tests that run the built config through the real Headscale binaries."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS / "ansible_collections" / "wgops" / "fleet"

if not COLLECTION_LINK.exists():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if COLLECTION_LINK.is_symlink():
        COLLECTION_LINK.unlink()
    COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
