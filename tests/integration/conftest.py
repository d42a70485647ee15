"""Import paths for the pytest suites under tests/integration (headscale_config).

The collection is imported as ``ansible_collections.wgops.fleet`` through the symlink tests/unit/conftest.py
describes (created here too when missing), and the code the suites share as ``common`` (common/server.py:
the Go binaries' cache, the pinned versions, free loopback ports).
"""

import sys
from pathlib import Path

INTEGRATION_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEGRATION_DIR.parents[1]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS / "ansible_collections" / "wgops" / "fleet"

if not COLLECTION_LINK.exists():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if COLLECTION_LINK.is_symlink():
        COLLECTION_LINK.unlink()
    COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)

# pytest's default import mode ("prepend") puts tests/integration there anyway, as this conftest's directory
for path in (COLLECTIONS, INTEGRATION_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
