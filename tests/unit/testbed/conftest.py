"""The tests of tests/testbed's scripts import them by name (``import secret_scan``): that directory goes on
``sys.path`` here, once for every test file of this directory."""

import sys
from pathlib import Path

TESTBED = Path(__file__).resolve().parents[2] / "testbed"

if str(TESTBED) not in sys.path:
    sys.path.insert(0, str(TESTBED))
