"""Integration test of wgops.fleet.tailscale_up and wgops.fleet.tailscale_info against real binaries.

  tests/integration/tailscale_modules/run.sh                 # run it
  tests/integration/tailscale_modules/run.sh --keep          # keep the temporary directory (logs, state)
  tests/integration/tailscale_modules/run.sh --wait 900      # wait up to 900 s for binaries still being built
  tests/integration/tailscale_modules/run.sh --record-fixtures  # only record the unit test fixtures
  tests/integration/tailscale_modules/run.sh -vvv            # more ansible-playbook output (in the log)

Starts `headscale serve` (the newest pinned Headscale, sqlite and unix socket in a temporary directory,
listening on 127.0.0.1 only, policy.mode file: tests/integration/common/server.py) and two userspace
`tailscaled` (`node`, the one under test, and `peer`, enrolled with the plain CLI so that `node` has a
peer; each with its own state dir and socket, --port 0), creates a user and a reusable pre-auth key with
the headscale CLI, and runs playbook.yml against localhost (connection local). The playbook checks each
module result against `tailscale status --json`, `tailscale debug prefs` and `headscale nodes list -o json`.
The playbook log (ansible-playbook -v) must not contain the key. KEEP_ON_FAILURE=1 keeps the temporary
directory when the test fails.

Nothing leaves loopback: tailscaled runs with TS_NO_LOGS_NO_SUPPORT=true and --no-logs-no-support,
Headscale has no update check, its DERP map only names a loopback port nothing listens on (Headscale
refuses an empty DERP map; the embedded DERP server stays off), and HTTP(S) proxies point at a closed
loopback port.

Binaries come from tests/testbed/go-binaries.sh (~/.cache/wgops/go/<name>/<version>/, or WGOPS_GO_CACHE);
a missing one is an error (exit 2), never a skip. Every process started here is stopped on exit (by its pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script (python driver.py): the shared server code (tests/integration/common) is importable
# once its directory is on the path
sys.path.insert(0, str(HERE.parent))
from common.server import (  # noqa: E402
    COLLECTIONS,
    REPO,
    VENV_BIN,
    Server,
    headscale_binary,
    pinned_versions,
    tailscale_binaries,
)

FIXTURES = REPO / "tests" / "unit" / "plugins" / "modules" / "fixtures" / "tailscale"
FAILED_TASKS = REPO / "tests" / "testbed" / "failed_tasks.py"


def say(message: str) -> None:
    print(f"[tailscale-it] {message}", file=sys.stderr, flush=True)


@dataclass
class Options:
    keep: bool = False
    wait: int = 0
    record: bool = False
    ansible_args: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> Options:
    options = Options()
    args = iter(argv)
    for arg in args:
        if arg == "--keep":
            options.keep = True
        elif arg == "--wait":
            value = next(args, "")
            if not value.isdigit():
                print(f"--wait needs a number of seconds, not {value!r}", file=sys.stderr)
                sys.exit(2)
            options.wait = int(value)
        elif arg == "--record-fixtures":
            options.record = True
        elif arg.startswith("-v"):
            options.ansible_args.append(arg)
        elif arg in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        else:
            print(f"unknown argument: {arg}", file=sys.stderr)
            sys.exit(2)
    return options


def wait_for(paths: list[Path], wait: int) -> bool:
    """Whether every one of ``paths`` is executable, waiting up to ``wait`` seconds for them."""
    deadline = time.monotonic() + wait
    while True:
        missing = [path for path in paths if not os.access(path, os.X_OK)]
        if not missing:
            return True
        if time.monotonic() >= deadline:
            say("ERROR: missing binaries (build them with tests/testbed/go-binaries.sh, the venv with 'make venv'):")
            for path in missing:
                print(f"[tailscale-it]    {path}", file=sys.stderr)
            return False
        time.sleep(10)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def run(server: Server, tailscale_dir: Path, options: Options, hs_version: str, ts_version: str) -> int:
    say(f"headscale {hs_version} on {server.url}, tailscale {ts_version} (dir {server.dir})")
    try:
        server.start()
        node = server.start_client(tailscale_dir, "node")
        peer = server.start_client(tailscale_dir, "peer")
    except RuntimeError as exc:
        say(f"ERROR: {exc}")
        return 1

    created = server.cli("users", "create", "itest")
    users = json.loads(server.cli("users", "list").stdout or "null") or []
    user_id = next((str(user["id"]) for user in users if user["name"] == "itest"), "")
    if created.returncode or not user_id:
        say(f"ERROR: no user itest: {created.stdout}{created.stderr}")
        return 1
    created = server.cli("preauthkeys", "create", "--user", user_id, "--reusable", "--expiration", "1h")
    auth_key = (json.loads(created.stdout or "null") or {}).get("key") if created.returncode == 0 else None
    if not auth_key:
        say("ERROR: no pre-auth key")
        return 1

    # A second node, enrolled with the plain CLI, so that the node under test has a peer.
    key_file = peer.dir / "key"
    write_private(key_file, auth_key + "\n")
    enrolled = peer.cli(
        "up",
        f"--login-server={server.url}",
        f"--auth-key=file:{key_file}",
        "--hostname=it-peer",
        "--accept-dns=false",
        "--timeout=30s",
        timeout=120,
    )
    key_file.unlink()
    (peer.dir / "up.log").write_text(enrolled.stdout + enrolled.stderr)
    if enrolled.returncode:
        say("ERROR: the peer did not enrol:")
        print(enrolled.stdout + enrolled.stderr, file=sys.stderr)
        return 1

    if options.record:
        env = dict(
            os.environ,
            FIXTURES=str(FIXTURES),
            TAILSCALE=str(node.tailscale),
            TS_SOCKET=str(node.socket),
            URL=server.url,
            AUTH_KEY=auth_key,
            TS_VERSION=ts_version,
            HS_VERSION=hs_version,
            TMPDIR_IT=str(server.dir),
        )
        return subprocess.run([sys.executable, str(HERE / "record_fixtures.py")], env=env, check=False).returncode

    extra = server.dir / "extra-vars.json"  # a file, so the key is not on ansible-playbook's command line
    extra_vars = {
        "tailscale_binary": str(node.tailscale),
        "tailscale_socket": str(node.socket),
        "login_server": server.url,
        "auth_key": auth_key,
        "headscale_binary": str(server.binary),
        "headscale_config": str(server.config),
        "test_dir": str(server.dir),
        "http_port": str(server.http_port),
    }
    write_private(extra, json.dumps(extra_vars, indent=2) + "\n")
    log = server.dir / "playbook.log"
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(server.dir / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(server.dir / "ansible-remote"),
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        ANSIBLE_STDOUT_CALLBACK="default",
        HEADSCALE_DISABLE_CHECK_UPDATES="true",
        HEADSCALE_LOG_FORMAT="text",
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    )
    cmd = [
        str(VENV_BIN / "ansible-playbook"),
        "-v",
        "-i",
        "localhost,",
        "-c",
        "local",
        str(HERE / "playbook.yml"),
        "-e",
        f"@{extra}",
        *options.ansible_args,
    ]
    with open(log, "wb") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False).returncode
    text = log.read_text(errors="replace")
    if rc != 0:
        sys.stderr.write(text)
        say("--- headscale log (tail) ---")
        print(server.log_tail(20), file=sys.stderr)
        say("--- tailscaled log (tail) ---")
        print(node.log_tail(20), file=sys.stderr)
        sys.stderr.flush()
        subprocess.run([sys.executable, str(FAILED_TASKS), str(log)], stdout=sys.stderr, check=False)
        say(f"FAIL (rc {rc})")
        return 1
    if auth_key in text:
        say("FAIL: the pre-auth key appears in the playbook output")
        return 1
    lines = text.splitlines(keepends=True)
    first = next((index for index, line in enumerate(lines) if "PLAY RECAP" in line), len(lines))
    sys.stderr.write("".join(lines[first:]))
    say(f"PASS (headscale {hs_version}, tailscale {ts_version})")
    return 0


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    headscale_versions, ts_version = pinned_versions()
    hs_version = headscale_versions[-1]
    headscale = headscale_binary(hs_version)
    tailscale_dir = tailscale_binaries(ts_version)
    needed = [headscale, tailscale_dir / "tailscale", tailscale_dir / "tailscaled", VENV_BIN / "ansible-playbook"]
    if not wait_for(needed, options.wait):
        return 2
    if not (COLLECTIONS / "ansible_collections" / "wgops" / "fleet").exists():
        say(f"ERROR: {COLLECTIONS}/ansible_collections/wgops/fleet is missing: run 'make collection'")
        return 2

    server = Server(hs_version, headscale, policy_mode="file", base_domain="tailnet.internal", prefix="wgops-ts-it-")
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(130))
    rc = 1
    try:
        rc = run(server, tailscale_dir, options, hs_version, ts_version)
    except KeyboardInterrupt:
        rc = 130
    finally:
        # every process started here is stopped (the newest first); the directory kept if asked to
        server.keep = options.keep or (rc != 0 and bool(os.environ.get("KEEP_ON_FAILURE")))
        server.close()
        if server.keep:
            say(f"kept {server.dir}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
