"""Record the tailscale CLI output the unit tests replay (run by ``run.sh --record-fixtures``).

driver.py has started headscale and two userspace tailscaled (``node``, fresh, and ``peer``, enrolled) and
passes, in the environment: FIXTURES (output directory), TAILSCALE (the CLI), TS_SOCKET (the node's
socket), URL (the headscale server_url), AUTH_KEY (a reusable pre-auth key), TS_VERSION, HS_VERSION,
TMPDIR_IT (the server's temporary directory). This walks the node through the states the modules meet and
writes each command's stdout, stderr and exit code into FIXTURES/<tailscale version>/ with an
index.json and a README.md. Paths are written as TMP, the socket as SOCKET; the key never appears
(it is passed as --auth-key=file:KEYFILE).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TAILSCALE = os.environ["TAILSCALE"]
SOCKET = os.environ["TS_SOCKET"]
URL = os.environ["URL"]
AUTH_KEY = os.environ["AUTH_KEY"]
TMP = os.environ["TMPDIR_IT"]
TS_VERSION = os.environ["TS_VERSION"]
HS_VERSION = os.environ["HS_VERSION"]
OUT = Path(os.environ["FIXTURES"]) / TS_VERSION
KEYFILE = Path(TMP) / "record.key"
BAD_KEYFILE = Path(TMP) / "record-bad.key"
RECORDED_URL = "http://127.0.0.1:8080"  # the server's random port is written as 8080
BAD_KEY = "hskey-auth-wrongwrong-0123456789abcdefghijklmnopqrstuvwxyz0123"


def scrub(text: str) -> str:
    text = text.replace(AUTH_KEY, "AUTH_KEY").replace(SOCKET, "SOCKET").replace(TMP, "TMP")
    return text.replace(URL, RECORDED_URL).replace(URL.split("//", 1)[1], RECORDED_URL.split("//", 1)[1])


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    KEYFILE.write_text(AUTH_KEY + "\n")
    KEYFILE.chmod(0o600)
    BAD_KEYFILE.write_text(BAD_KEY + "\n")
    index: dict[str, dict] = {}

    def record(
        name: str, args: list[str], socket: str | None = SOCKET, timeout: float = 90
    ) -> subprocess.CompletedProcess:
        argv = [TAILSCALE] + ([f"--socket={socket}"] if socket else []) + args
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
        )
        shown = ["tailscale"] + [scrub(arg) for arg in argv[1:]]
        index[name] = {"argv": shown, "rc": proc.returncode}
        (OUT / f"{name}.out").write_text(scrub(proc.stdout))
        if proc.stderr:
            (OUT / f"{name}.err").write_text(scrub(proc.stderr))
        print(f"{name}: rc {proc.returncode}", file=sys.stderr)
        return proc

    up_args = ["up", "--reset", f"--login-server={URL}", f"--auth-key=file:{KEYFILE}", "--hostname=it-node"]
    settings = ["--advertise-routes=10.1.0.0/16", "--accept-routes=false", "--accept-dns=false", "--ssh=false"]

    record("version", ["version", "--json"])
    record("status_not_running", ["status", "--json"], socket=f"{TMP}/no-such.sock")
    record("prefs_not_running", ["debug", "prefs"], socket=f"{TMP}/no-such.sock")
    record("status_fresh", ["status", "--json"])
    record("prefs_fresh", ["debug", "prefs"])
    bad = [*up_args[:3], f"--auth-key=file:{BAD_KEYFILE}", *up_args[4:], *settings, "--timeout=15s"]
    record("up_bad_key", bad)
    record("status_after_bad_key", ["status", "--json"])
    record("up_enroll", [*up_args, *settings, "--timeout=30s"])
    record("status_running", ["status", "--json"])
    record("prefs_running", ["debug", "prefs"])
    record("up_without_flags_while_running", ["up", "--timeout=5s"])
    record("set_accept_routes", ["set", "--accept-routes=true", "--advertise-routes=10.1.0.0/16,192.168.7.0/24"])
    record("prefs_after_set", ["debug", "prefs"])
    record("set_exit_node", ["set", "--accept-dns=true", "--hostname=it-node-renamed", "--advertise-exit-node=true"])
    record("status_after_exit_node", ["status", "--json"])
    record("prefs_exit_node", ["debug", "prefs"])
    record("set_nothing", ["set"])
    record("set_bad_route", ["set", "--advertise-routes=10.1.0.1/16"])
    record("down", ["down"])
    record("status_stopped", ["status", "--json"])
    record("prefs_stopped", ["debug", "prefs"])
    record("up_bare", ["up"])
    record("status_restarted", ["status", "--json"])
    record("logout", ["logout"])
    record("status_logged_out", ["status", "--json"])
    record("prefs_logged_out", ["debug", "prefs"])
    record("logout_again", ["logout"])
    KEYFILE.unlink()
    BAD_KEYFILE.unlink()

    (OUT / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    rows = "\n".join(f"| `{name}` | `{' '.join(entry['argv'])}` | {entry['rc']} |" for name, entry in index.items())
    (OUT / "README.md").write_text(
        f"# tailscale {TS_VERSION}: recorded CLI output\n\n"
        f"Written by `tests/integration/tailscale_modules/run.sh --record-fixtures` (record_fixtures.py) from the\n"
        f"binaries built by tests/testbed/go-binaries.sh: a userspace tailscaled (`--tun=userspace-networking`,\n"
        f"state in a temporary directory, `SOCKET` its socket) against headscale {HS_VERSION} on\n"
        f"`http://127.0.0.1:PORT` (written as port 8080), with a second node `it-peer` enrolled, so the node\n"
        f"has a peer. `TMP` is the temporary directory; `TMP/record.key` held a reusable pre-auth key (the key\n"
        f"itself appears nowhere), `TMP/record-bad.key` a made-up one. Each command's stdout is `<name>.out`,\n"
        f"its stderr (if any) `<name>.err`;\n"
        f"the commands ran in this order, and `index.json` holds the same list as data.\n\n"
        f"| file | command | exit code |\n| --- | --- | --- |\n{rows}\n"
    )
    print(f"recorded {len(index)} commands into {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
