"""Runs ansible-playbook with its whole output in a file (0600), and prints one JSON line: rc, the
changed count per host from the recap (default or json callback), the log's path, and on failure the
failed tasks (the shared digest). Scenario `secrets` scans the logs afterwards.

  run_logged.py LOG CALLBACK -- ansible-playbook ARGS...      (CALLBACK: default | json)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "testbed"))
from failed_tasks import failed_tasks

RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def changed_hosts(text: str, callback: str) -> dict:
    if callback == "json":
        # The document starts on a line of its own after any -vvv lines; other callbacks (profile_tasks)
        # may print after it.
        start = 0 if text.startswith("{\n") else text.rfind("\n{\n")
        if start < 0:
            raise ValueError("no json callback document in the output")
        stats = json.JSONDecoder().raw_decode(text[start:].lstrip())[0]["stats"]
        return {host: s.get("changed", 0) for host, s in stats.items()}
    recap = {m.group(1): int(m.group(2)) for m in RECAP.finditer(text)}
    if not recap:
        raise ValueError("no PLAY RECAP in the output")
    return recap


def main() -> int:
    log, callback, sep, *command = sys.argv[1:]
    if sep != "--" or callback not in ("default", "json"):
        print(__doc__, file=sys.stderr)
        return 2
    stdout = "ansible.posix.json" if callback == "json" else "default"
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=stdout, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if callback == "json":
        env["ANSIBLE_JSON_INDENT"] = "4"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        rc = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, check=False).returncode
    text = Path(log).read_text(errors="replace")
    try:
        changed = changed_hosts(text, callback)
    except (ValueError, KeyError):
        changed = None  # the recap could not be read: the caller fails
    result = {"rc": rc, "changed": changed, "log": log, "bytes": len(text)}
    if rc != 0 or changed is None:
        result["failed"] = failed_tasks(text)[-20:] if callback == "default" else text.splitlines()[-60:]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
