"""The CI log digest: failures that were not ignored, each under its task header."""

from __future__ import annotations

from failed_tasks import failed_tasks  # tests/testbed/failed_tasks.py (conftest.py)

LOG = """\
TASK [probe] ***
fatal: [h1]: FAILED! => {"msg": "expected"}
...ignoring

TASK [loop ignored] ***
failed: [h1] (item=a) => {"msg": "expected a"}
failed: [h1] (item=b) => {"msg": "expected b"}
...ignoring

TASK [converge] ***
ok: [h1]
fatal: [h2]: FAILED! =>
    changed: false
    msg: real failure

TASK [loop] ***
failed: [h3] (item=a) => {"msg": "one"}
failed: [h3] (item=b) => {"msg": "two"}

PLAY RECAP ***
h2 : ok=1 failed=1
"""


def test_ignored_failures_are_left_out_and_real_ones_kept_under_their_task() -> None:
    digest = failed_tasks(LOG)
    assert "expected" not in "\n".join(digest)
    assert digest[:4] == [
        "TASK [converge] ***",
        "fatal: [h2]: FAILED! =>",
        "    changed: false",
        "    msg: real failure",
    ]
    assert digest.count("TASK [loop] ***") == 2
    assert digest.count('failed: [h3] (item=a) => {"msg": "one"}') == 1  # each failure once, not inside the one before
    assert not any(line.startswith("h2 :") for line in digest)


def test_lines_bounds_each_failure() -> None:
    digest = failed_tasks(LOG, lines=1)
    assert digest[:2] == ["TASK [converge] ***", "fatal: [h2]: FAILED! =>"]
    assert "    msg: real failure" not in digest


def test_a_clean_log_gives_nothing() -> None:
    assert failed_tasks("TASK [a] ***\nok: [h1]\n\nPLAY RECAP ***\n") == []
