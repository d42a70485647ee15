"""Integration test of the wgops.fleet Headscale modules against the real Headscale binaries.

For each Headscale version built by tests/testbed/go-binaries.sh this starts ``headscale serve`` on
127.0.0.1 (free ports, sqlite and unix socket in a temporary directory, policy.mode database, a DERP
map that only names a loopback placeholder: Headscale refuses an empty DERP map and the embedded DERP
server stays off), starts a Tailscale client (``tailscaled --tun=userspace-networking``) next to it,
and runs playbook.yml against localhost, which drives every module and checks what it did by reading
the state back with the CLI. Nothing leaves loopback: update checks and Tailscale log uploads are off.

    python driver.py                   # every version, in parallel (run.sh does this)
    driver.py --versions v0.28.0       # one version
    driver.py --record-fixtures        # also record CLI output for the unit tests (see record())

A missing binary is an error (exit 2), never a skip.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VENV_BIN = REPO / ".venv" / "bin"
COLLECTIONS = REPO / ".build" / "collections"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wgops" / "go"
sys.path.insert(0, str(REPO / "tests" / "testbed"))
from failed_tasks import failed_tasks  # noqa: E402 - the shared log digest, next to the runners

FIXTURES = REPO / "tests" / "unit" / "plugins" / "modules" / "fixtures" / "headscale"

CONFIG = """\
server_url: http://127.0.0.1:{http_port}
listen_addr: 127.0.0.1:{http_port}
metrics_listen_addr: 127.0.0.1:{metrics_port}
grpc_listen_addr: 127.0.0.1:{grpc_port}
grpc_allow_insecure: false
noise:
  private_key_path: {dir}/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
derp:
  server:
    enabled: false
  urls: []
  paths:
    - {dir}/derp.yaml
  auto_update_enabled: false
  update_frequency: 24h
disable_check_updates: true
database:
  type: sqlite
  sqlite:
    path: {dir}/db.sqlite
    write_ahead_log: true
log:
  level: info
  format: text
policy:
  mode: database
  path: ""
dns:
  magic_dns: true
  base_domain: hs.test
  override_local_dns: false
  nameservers:
    global: []
    split: {{}}
  search_domains: []
  extra_records: []
unix_socket: {dir}/headscale.sock
unix_socket_permission: "0770"
logtail:
  enabled: false
"""

# Headscale refuses to start with an empty DERP map; this region names a loopback port nothing listens on.
DERP_MAP = """\
regions:
  900:
    regionid: 900
    regioncode: loop
    regionname: Loopback placeholder (no DERP in tests)
    nodes:
      - name: 900a
        regionid: 900
        hostname: 127.0.0.1
        ipv4: 127.0.0.1
        ipv6: none
        stunport: -1
        derpport: {port}
"""

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


def pinned_versions() -> tuple[list[str], str]:
    out = subprocess.run(
        [str(REPO / "tests" / "testbed" / "go-binaries.sh"), "--versions"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    headscale = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("headscale=")]
    tailscale = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("tailscale="))
    return headscale, tailscale


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    for _index in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process this driver started (its own process group) by its id."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Server:
    """A ``headscale serve`` in a temporary directory, stopped (and the directory removed) on exit."""

    def __init__(self, version: str, binary: Path, keep: bool = False) -> None:
        self.version = version
        self.binary = binary
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix=f"wgops-hs-{version}-"))
        self.http_port, metrics_port, grpc_port, derp_port, trap_port = free_ports(5)
        # Anything that would leave the machine over HTTP(S) goes to this closed loopback port instead
        # (Go never proxies loopback destinations, so the loopback control connection is unaffected).
        trap = f"http://127.0.0.1:{trap_port}"
        self.trap = {"HTTP_PROXY": trap, "HTTPS_PROXY": trap, "http_proxy": trap, "https_proxy": trap}
        self.config = self.dir / "config.yaml"
        self.config.write_text(
            CONFIG.format(dir=self.dir, http_port=self.http_port, metrics_port=metrics_port, grpc_port=grpc_port)
        )
        (self.dir / "derp.yaml").write_text(DERP_MAP.format(port=derp_port))
        (self.dir / "policy.hujson").write_text(GOOD_POLICY_HUJSON)
        self.socket = self.dir / "headscale.sock"
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.proc: subprocess.Popen | None = None
        self.client: subprocess.Popen | None = None
        self.client_socket = self.dir / "tailscaled.sock"

    def env(self) -> dict[str, str]:
        return dict(os.environ, HEADSCALE_DISABLE_CHECK_UPDATES="true", **self.trap)

    def cli(self, *args: str, json_output: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.binary), "-c", str(self.config), *args]
        if json_output:
            cmd += ["-o", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=60, check=False)

    def start(self) -> None:
        log = open(self.dir / "serve.log", "wb")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [str(self.binary), "-c", str(self.config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"headscale {self.version} exited at start:\n{self.log_tail()}")
            if self.socket.exists() and self.cli("users", "list").returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"headscale {self.version} did not come up in 30 s:\n{self.log_tail()}")

    def start_client(self, tailscaled: Path) -> None:
        state = self.dir / "tailscale"
        state.mkdir()
        log = open(self.dir / "tailscaled.log", "wb")  # noqa: SIM115 - handed to the child
        self.client = subprocess.Popen(
            [
                str(tailscaled),
                "--tun=userspace-networking",
                "--state=mem:",
                f"--statedir={state}",
                f"--socket={self.client_socket}",
                "--port=0",
                "--no-logs-no-support",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(
                os.environ,
                **self.trap,
                # what Tailscale's own integration tests set to stay on localhost (tstest/integration)
                TS_NO_LOGS_NO_SUPPORT="true",
                TS_LOGS_DIR=str(state),
                TS_DISABLE_PORTMAPPER="1",
                TS_PANIC_IF_HIT_MAIN_CONTROL="1",
                TS_NETCHECK_GENERATE_204_URL=f"{self.url}/generate_204",
            ),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.client.poll() is not None:
                raise RuntimeError(f"tailscaled exited at start:\n{self.log_tail('tailscaled.log')}")
            if self.client_socket.exists():
                return
            time.sleep(0.2)
        raise RuntimeError(f"tailscaled did not come up in 20 s:\n{self.log_tail('tailscaled.log')}")

    def log_tail(self, name: str = "serve.log", lines: int = 40) -> str:
        path = self.dir / name
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        stop(self.client)
        stop(self.proc)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def run_playbook(server: Server, tailscale_dir: Path | None, log_path: Path) -> tuple[bool, str]:
    extra = {
        "headscale_binary": str(server.binary),
        "headscale_config": str(server.config),
        "headscale_version": server.version.lstrip("v"),
        "headscale_url": server.url,
        "tailscale_binary": str(tailscale_dir / "tailscale") if tailscale_dir else "",
        "tailscale_socket": str(server.client_socket) if tailscale_dir else "",
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
    binary = CACHE / "headscale" / version / "headscale"
    start = time.monotonic()
    server = Server(version, binary, keep=args.keep)
    try:
        server.start()
        if tailscale_dir:
            server.start_client(tailscale_dir / "tailscaled")
        log_path = Path(args.logs) / f"playbook-{version}.log"
        ok, recap = run_playbook(server, tailscale_dir, log_path)
        took = time.monotonic() - start
        detail = f"{recap or 'no play recap'} ({took:.0f} s, log: {log_path})"
        if not ok:
            detail += "\n--- headscale log (tail) ---\n" + server.log_tail()
            if tailscale_dir:
                detail += "\n--- tailscaled log (tail) ---\n" + server.log_tail("tailscaled.log", 15)
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
    missing = [
        str(CACHE / "headscale" / v / "headscale")
        for v in versions
        if not os.access(CACHE / "headscale" / v / "headscale", os.X_OK)
    ]
    tailscale_dir: Path | None = CACHE / "tailscale" / tailscale_version
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
            record(version, CACHE / "headscale" / version / "headscale", tailscale_dir, Server, FIXTURES)
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
