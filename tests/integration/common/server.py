"""A throwaway Headscale server and userspace tailscaled clients on loopback, for the integration suites.

headscale_modules/driver.py (every pinned Headscale version, with its record_fixtures.py) and
tailscale_modules/driver.py (the newest version, two clients) start their servers with this:

- ``Server``: ``headscale serve`` on 127.0.0.1 (free ports; sqlite, unix socket and logs in a temporary
  directory; a DERP map that only names a loopback placeholder: Headscale refuses an empty DERP map and
  the embedded DERP server stays off), waited for until its CLI answers; ``cli()`` runs the headscale CLI
  against it;
- ``Server.start_client(name)``: a ``tailscaled --tun=userspace-networking`` in ``<dir>/<name>/``
  (state, socket, log), waited for until ``tailscale debug prefs`` answers.

Nothing leaves loopback: update checks and Tailscale log uploads are off, and HTTP(S) proxies point at a
closed loopback port (Go never proxies loopback destinations, so only what would leave the machine goes
there). ``close()`` stops every process started here (its own process group, by its id) and removes the
directory unless kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"
COLLECTIONS = REPO / ".build" / "collections"
GO_BINARIES = REPO / "tests" / "testbed" / "go-binaries.sh"
# where go-binaries.sh builds (tests/integration/run.sh passes it as WGOPS_GO_CACHE)
CACHE = Path(
    os.environ.get("WGOPS_GO_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wgops" / "go"
)

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
  mode: {policy_mode}
  path: ""
dns:
  magic_dns: true
  base_domain: {base_domain}
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


def pinned_versions() -> tuple[list[str], str]:
    """The Headscale versions (oldest first) and the Tailscale version go-binaries.sh pins."""
    out = subprocess.run([str(GO_BINARIES), "--versions"], check=True, capture_output=True, text=True).stdout
    headscale = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("headscale=")]
    tailscale = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("tailscale="))
    return headscale, tailscale


def headscale_binary(version: str) -> Path:
    return CACHE / "headscale" / version / "headscale"


def tailscale_binaries(version: str) -> Path:
    """The directory with the ``tailscale`` and ``tailscaled`` binaries of ``version``."""
    return CACHE / "tailscale" / version


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free at the moment (all bound at once, then released)."""
    sockets, ports = [], []
    for _index in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def free_port() -> int:
    return free_ports(1)[0]


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process started here (in its own process group) by its id: SIGTERM, SIGKILL after 10 s."""
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


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Tailscaled:
    """A userspace ``tailscaled`` with its state, socket and log in ``directory`` (started by Server)."""

    def __init__(self, name: str, directory: Path, tailscale: Path) -> None:
        self.name = name
        self.dir = directory
        self.tailscale = tailscale  # the CLI
        self.socket = directory / "tailscaled.sock"
        self.log = directory / "tailscaled.log"
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the tailscale CLI against this tailscaled."""
        return subprocess.run(
            [str(self.tailscale), f"--socket={self.socket}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)


class Server:
    """A ``headscale serve`` in a temporary directory, stopped (and the directory removed) on ``close()``.

    ``policy_mode`` and ``base_domain`` are the config's ``policy.mode`` and ``dns.base_domain``.
    """

    def __init__(
        self,
        version: str,
        binary: Path,
        keep: bool = False,
        *,
        policy_mode: str = "database",
        base_domain: str = "hs.test",
        prefix: str | None = None,
    ) -> None:
        self.version = version
        self.binary = binary
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix=prefix or f"wgops-hs-{version}-"))
        self.http_port, metrics_port, grpc_port, derp_port, trap_port = free_ports(5)
        # Anything that would leave the machine over HTTP(S) goes to this closed loopback port instead
        # (Go never proxies loopback destinations, so the loopback control connection is unaffected).
        trap = f"http://127.0.0.1:{trap_port}"
        self.trap = {"HTTP_PROXY": trap, "HTTPS_PROXY": trap, "http_proxy": trap, "https_proxy": trap}
        self.config = self.dir / "config.yaml"
        self.config.write_text(
            CONFIG.format(
                dir=self.dir,
                http_port=self.http_port,
                metrics_port=metrics_port,
                grpc_port=grpc_port,
                policy_mode=policy_mode,
                base_domain=base_domain,
            )
        )
        (self.dir / "derp.yaml").write_text(DERP_MAP.format(port=derp_port))
        self.socket = self.dir / "headscale.sock"
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log = self.dir / "serve.log"
        self.proc: subprocess.Popen | None = None
        self.clients: list[Tailscaled] = []

    def env(self) -> dict[str, str]:
        return dict(os.environ, HEADSCALE_DISABLE_CHECK_UPDATES="true", **self.trap)

    def cli(self, *args: str, json_output: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.binary), "-c", str(self.config), *args]
        if json_output:
            cmd += ["-o", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=60, check=False)

    def start(self) -> None:
        """Start ``headscale serve`` and wait (30 s at most) until its CLI answers over the unix socket."""
        log = open(self.log, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [str(self.binary), "-c", str(self.config), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"headscale {self.version} exited at start:\n{self.log_tail()}")
            if self.socket.exists() and self.cli("users", "list").returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"headscale {self.version} did not come up in 30 s:\n{self.log_tail()}")

    def start_client(self, tailscale_dir: Path, name: str = "tailscale", memory_state: bool = False) -> Tailscaled:
        """Start a userspace ``tailscaled`` in ``<dir>/<name>/`` and wait (20 s at most) until it answers.

        ``tailscale_dir`` holds ``tailscaled`` and the ``tailscale`` CLI; ``memory_state`` keeps the node's
        state in memory (``--state=mem:``) instead of a file in that directory.
        """
        client = Tailscaled(name, self.dir / name, tailscale_dir / "tailscale")
        client.dir.mkdir()
        state = ["--state=mem:"] if memory_state else []
        log = open(client.log, "wb")  # noqa: SIM115 - handed to the child
        client.proc = subprocess.Popen(
            [
                str(tailscale_dir / "tailscaled"),
                "--tun=userspace-networking",
                *state,
                f"--statedir={client.dir}",
                f"--socket={client.socket}",
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
                TS_LOGS_DIR=str(client.dir),
                TS_DISABLE_PORTMAPPER="1",
                TS_PANIC_IF_HIT_MAIN_CONTROL="1",
                TS_NETCHECK_GENERATE_204_URL=f"{self.url}/generate_204",
            ),
            start_new_session=True,
        )
        log.close()
        self.clients.append(client)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if client.proc.poll() is not None:
                raise RuntimeError(f"tailscaled {name} exited at start:\n{client.log_tail()}")
            if client.socket.exists() and client.cli("debug", "prefs").returncode == 0:
                return client
            time.sleep(0.2)
        raise RuntimeError(f"tailscaled {name} did not come up in 20 s:\n{client.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)

    def close(self) -> None:
        """Stop the clients (the newest first) and the server; remove the directory unless ``keep``."""
        for client in reversed(self.clients):
            stop(client.proc)
        stop(self.proc)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
