"""Print the failures of Ansible runs from their logs: each failed task's header and its first lines.

CI shows only the tail of the output, so the runners (tests/testbed/run-all.sh, the integration
drivers) print this digest last. Failures followed by "...ignoring" are left out.

    python3 tests/testbed/failed_tasks.py [--lines N] LOG...
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

# Lines that end a failure's block: the next task, play or host result (never indented; the fields of
# a result printed as YAML are).
NEXT_RESULT = ("TASK [", "PLAY", "fatal:", "failed:", "ok:", "changed:", "skipping:", "included:")


def failed_tasks(text: str, lines: int = 40) -> list[str]:
    """The TASK header and the first `lines` lines of every failure that was not ignored."""
    out: list[str] = []
    task = ""
    log = text.splitlines()
    for index, line in enumerate(log):
        if line.startswith("TASK ["):
            task = line
        elif line.startswith(("fatal:", "failed:")):
            block = [
                line,
                *itertools.takewhile(lambda rest: not rest.startswith(NEXT_RESULT), log[index + 1 :]),
            ]
            # ignore_errors prints "...ignoring" once, after the task's last result
            rest_of_task = itertools.takewhile(lambda rest: not rest.startswith(("TASK [", "PLAY")), log[index:])
            if not any(rest.strip() == "...ignoring" for rest in rest_of_task):
                out += [task, *block[:lines]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=40, help="lines kept of each failure (default 40)")
    parser.add_argument("logs", nargs="+", type=Path)
    args = parser.parse_args()
    for log in args.logs:
        found = failed_tasks(log.read_text(errors="replace") if log.exists() else "", args.lines)
        print(f"--- failed tasks in {log} ---")
        print("\n".join(found) or "(no failed task in the log: see the lines above it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
