"""Integration test of the wgops.fleet Headscale modules against the real Headscale binaries.

For each Headscale version built by tests/testbed/go-binaries.sh this starts ``headscale serve`` on
127.0.0.1 (tests/integration/common/server.py: free ports, sqlite and unix socket in a temporary
directory, policy.mode database, a loopback placeholder DERP map), starts a Tailscale client
(``tailscaled --tun=userspace-networking``, state in memory) next to it, and runs playbook.yml against
localhost, which drives every module and checks what it did by reading the state back with the CLI.
Nothing leaves loopback: update checks and Tailscale log uploads are off.

    python driver.py                   # every version, in parallel (run.sh does this)
    driver.py --versions v0.28.0       # one version
    driver.py --record-fixtures        # also record CLI output for the unit tests (see record())

A missing binary is an error (exit 2), never a skip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script (python driver.py): the log digest (tests/testbed) and the shared server code
# (tests/integration/common) are importable once their directories are on the path
for _path in (HERE.parents[1] / "testbed", HERE.parent):
    sys.path.insert(0, str(_path))
from common.server import (  # noqa: E402
    COLLECTIONS,
    REPO,
    VENV_BIN,
    Server,
    Tailscaled,
    headscale_binary,
    pinned_versions,
    tailscale_binaries,
)
from failed_tasks import failed_tasks  # noqa: E402 - the shared log digest, next to the runners

FIXTURES = REPO / "tests" / "unit" / "plugins" / "modules" / "fixtures" / "headscale"

# the playbook's good_policy_hujson, for the check of a policy file
GOOD_POLICY_HUJSON = """\
{
  // everyone may talk to everyone
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"],},],
  /* tags the test nodes get */
  "tagOwners": {"tag:db": ["itest@"], "tag:ci": ["itest@"],},
}
"""

_print_lock = threading.Lock()


def say(*parts: object) -> None:
    with _print_lock:
        print("[headscale-it]", *parts, flush=True)


def run_playbook(server: Server, client: Tailscaled | None, log_path: Path) -> tuple[bool, str]:
    extra = {
        "headscale_binary": str(server.binary),
        "headscale_config": str(server.config),
        "headscale_version": server.version.lstrip("v"),
        "headscale_url": server.url,
        "tailscale_binary": str(client.tailscale) if client else "",
        "tailscale_socket": str(client.socket) if client else "",
        "test_dir": str(server.dir),
    }
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_LOCAL_TEMP=str(server.dir / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(server.dir / "ansible-remote"),
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    )
    cmd = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        str(HERE / "playbook.yml"),
        "-e",
        json.dumps(extra),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(HERE), check=False)
    log_path.write_text(proc.stdout + proc.stderr)
    recap = proc.stdout[proc.stdout.rfind("PLAY RECAP") :] if "PLAY RECAP" in proc.stdout else ""
    host_line = next((line.strip() for line in recap.splitlines() if line.startswith("localhost")), "")
    return proc.returncode == 0, host_line


def test_version(version: str, tailscale_dir: Path | None, args: argparse.Namespace) -> tuple[str, bool, str]:
    start = time.monotonic()
    server = Server(version, headscale_binary(version), keep=args.keep)
    try:
        (server.dir / "policy.hujson").write_text(GOOD_POLICY_HUJSON)
        server.start()
        client = server.start_client(tailscale_dir, memory_state=True) if tailscale_dir else None
        log_path = Path(args.logs) / f"playbook-{version}.log"
        ok, recap = run_playbook(server, client, log_path)
        took = time.monotonic() - start
        detail = f"{recap or 'no play recap'} ({took:.0f} s, log: {log_path})"
        if not ok:
            detail += "\n--- headscale log (tail) ---\n" + server.log_tail()
            if client:
                detail += "\n--- tailscaled log (tail) ---\n" + client.log_tail(15)
            found = failed_tasks(log_path.read_text(errors="replace") if log_path.exists() else "")
            detail += "\n--- failed tasks ---\n" + ("\n".join(found) or "(no failed task in the playbook log)")
        return version, ok, detail
    except Exception as exc:  # a server that does not start is a failure of this version
        return version, False, f"{exc}"
    finally:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", help="comma separated Headscale versions (default: all pinned ones)")
    parser.add_argument("--jobs", type=int, default=3, help="versions tested in parallel (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--logs", default=None, help="directory for the playbook logs (default: a temp dir)")
    parser.add_argument(
        "--skip-nodes",
        action="store_true",
        help="leave out the node tests, which need the tailscale client (reported as skipped)",
    )
    parser.add_argument("--record-fixtures", action="store_true", help="record CLI output into the unit test fixtures")
    args = parser.parse_args()

    pinned, tailscale_version = pinned_versions()
    versions = args.versions.split(",") if args.versions else pinned
    missing = [str(headscale_binary(v)) for v in versions if not os.access(headscale_binary(v), os.X_OK)]
    tailscale_dir: Path | None = tailscale_binaries(tailscale_version)
    if args.skip_nodes:
        say("WARNING: --skip-nodes: the node tests are SKIPPED (no tailscale client)")
        tailscale_dir = None
    else:
        missing += [
            str(tailscale_dir / b) for b in ("tailscale", "tailscaled") if not os.access(tailscale_dir / b, os.X_OK)
        ]
    for tool in ("ansible-playbook",):
        if not os.access(VENV_BIN / tool, os.X_OK):
            missing.append(str(VENV_BIN / tool))
    if missing:
        say("ERROR: missing binaries (build them with tests/testbed/go-binaries.sh, the venv with `make venv`):")
        for path in missing:
            say("  ", path)
        return 2
    if not (COLLECTIONS / "ansible_collections" / "wgops" / "fleet").exists():
        say(f"ERROR: {COLLECTIONS}/ansible_collections/wgops/fleet is missing: run `make collection`")
        return 2

    if args.record_fixtures:
        from record_fixtures import record

        for version in versions:
            record(version, headscale_binary(version), tailscale_dir, Server, FIXTURES)
        return 0

    temporary_logs = not args.logs
    args.logs = args.logs or tempfile.mkdtemp(prefix="wgops-hs-it-logs-")
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    say(f"testing headscale {', '.join(versions)} with tailscale {tailscale_version} (logs in {args.logs})")
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda v: test_version(v, tailscale_dir, args), versions))
    failed = 0
    for version, ok, detail in sorted(results, key=lambda result: result[1], reverse=True):  # failures last
        say(f"{'PASS' if ok else 'FAIL'} headscale {version}: {detail}")
        failed += not ok
    say(f"{len(results) - failed}/{len(results)} versions passed in {time.monotonic() - start:.0f} s")
    if tailscale_dir is None:
        say("WARNING: the node tests were SKIPPED (--skip-nodes)")
    if failed:
        return 1
    if temporary_logs and not args.keep:
        shutil.rmtree(args.logs, ignore_errors=True)  # kept when a version failed, or with --logs/--keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
