"""Record what the real headscale CLI prints, as fixtures for the unit tests (``driver.py --record-fixtures``).

For one version: starts a throwaway server (common.server.Server), runs a fixed sequence of commands against it
(and registers a Tailscale client for the node commands) and writes, under
tests/unit/plugins/modules/fixtures/headscale/<version>/:

  <name>.out       stdout of the command, exactly as printed
  <name>.err       stderr, when there was any
  README.md        every command (the temporary paths shown as CONFIG, POLICY, ...) with its exit code
  index.json       the same as data: name -> {"argv": [...], "rc": N}

The keys in these files come from servers that no longer exist.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

BAD_POLICY = '{"acls": [{"action": "bogus", "src": ["*"], "dst": ["*:*"]}]}\n'
GOOD_POLICY = """{
  // test policy
  "tagOwners": {"tag:ci": ["itest@"], "tag:db": ["itest@"],},
  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
}
"""


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


class Recorder:
    def __init__(self, server, out_dir: Path) -> None:
        self.server = server
        self.out_dir = out_dir
        self.index: dict[str, dict] = {}
        self.placeholders = {
            str(server.config): "CONFIG",
            str(server.binary): "headscale",
            str(server.dir): "TMP",
        }

    def shown(self, argv: list[str]) -> list[str]:
        result = []
        for arg in argv:
            for path, name in self.placeholders.items():
                arg = arg.replace(path, name)
            result.append(arg)
        return result

    def run(self, name: str, args: list[str], config: bool = True, json_output: bool = True) -> str:
        argv = [str(self.server.binary)]
        if config:
            argv += ["-c", str(self.server.config)]
        argv += args
        if json_output:
            argv += ["-o", "json"]
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.server.env(), timeout=60, check=False)
        (self.out_dir / f"{name}.out").write_text(proc.stdout)
        if proc.stderr:
            (self.out_dir / f"{name}.err").write_text(proc.stderr)
        self.index[name] = {"argv": self.shown(argv), "rc": proc.returncode}
        return proc.stdout

    def write_index(self, version: str) -> None:
        (self.out_dir / "index.json").write_text(json.dumps(self.index, indent=2) + "\n")
        lines = [
            f"# headscale {version}: recorded CLI output",
            "",
            "Written by `tests/integration/headscale_modules/driver.py --record-fixtures --versions "
            f"{version}` from the binary built by tests/testbed/go-binaries.sh, against a throwaway server "
            "(policy.mode database, restarted with policy.mode file for `policy_get_file_none`; the config is the "
            "one tests/integration/common/server.py writes). `CONFIG` is that config file, "
            "`TMP` its directory. Each command's stdout is `<name>.out`, its stderr (if any) `<name>.err`; "
            "the commands ran in this order, and `index.json` holds the same list as data. `recorded_at` "
            "is when the recording ended (seconds since the epoch), the unit tests' clock for these files.",
            "",
            "| file | command | exit code |",
            "| --- | --- | --- |",
        ]
        for name, entry in self.index.items():
            command = shlex.join(entry["argv"]).replace("|", "\\|")
            lines.append(f"| `{name}` | `{command}` | {entry['rc']} |")
        (self.out_dir / "README.md").write_text("\n".join(lines) + "\n")


def record(version: str, binary: Path, tailscale_dir: Path | None, server_class, fixtures: Path) -> None:
    out_dir = fixtures / version
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    v = _version_tuple(version)
    server = server_class(version, binary)
    try:
        server.start()
        rec = Recorder(server, out_dir)
        rec.run("version", ["version"], config=False)
        version_text = rec.run("version_text", ["version"], config=False, json_output=False)
        if not re.search(r"\d+\.\d+\.\d+", version_text):
            # a development build ("dev", what `go install` makes of 0.26): the CLI tells the release by
            # its commands (headscale_cli.HeadscaleCLI._probe_version)
            rec.run("auth_help", ["auth", "--help"], config=False, json_output=False)
            rec.run("preauthkeys_help", ["preauthkeys", "--help"], config=False, json_output=False)
        rec.run("users_list_empty", ["users", "list"])
        rec.run("nodes_list_empty", ["nodes", "list"])
        rec.run("apikeys_list_empty", ["apikeys", "list"])
        rec.run("policy_get_none", ["policy", "get"])
        rec.run(
            "users_create",
            ["users", "create", "itest", "--display-name", "Integration Test", "--email", "itest@example.test"],
        )
        rec.run("users_create_duplicate", ["users", "create", "itest"])
        rec.run("users_create_plain", ["users", "create", "doomed"])
        users = json.loads(rec.run("users_list", ["users", "list"]))
        uid = str(next(u["id"] for u in users if u["name"] == "itest"))
        doomed = str(next(u["id"] for u in users if u["name"] == "doomed"))
        rec.run("users_destroy", ["users", "destroy", "--identifier", doomed, "--force"])
        per_user = [] if v >= (0, 28) else ["--user", uid]
        rec.run("preauthkeys_list_empty", ["preauthkeys", "list", *per_user])

        (server.dir / "bad.json").write_text(BAD_POLICY)
        (server.dir / "good.hujson").write_text(GOOD_POLICY)
        online = v >= (0, 29)
        rec.run(
            "policy_check_bad",
            ["policy", "check", "-f", str(server.dir / "bad.json")],
            config=online,
            json_output=False,
        )
        rec.run(
            "policy_check_good",
            ["policy", "check", "-f", str(server.dir / "good.hujson")],
            config=online,
            json_output=False,
        )
        rec.run("policy_set_bad", ["policy", "set", "-f", str(server.dir / "bad.json")])
        rec.run("policy_set", ["policy", "set", "-f", str(server.dir / "good.hujson")])
        rec.run("policy_get", ["policy", "get"])

        rec.run(
            "preauthkeys_create_tagged",
            ["preauthkeys", "create", "--user", uid, "--reusable", "--expiration", "2h", "--tags", "tag:ci"],
        )
        plain = json.loads(
            rec.run("preauthkeys_create", ["preauthkeys", "create", "--user", uid, "--expiration", "1h"])
        )
        rec.run("preauthkeys_create_ephemeral", ["preauthkeys", "create", "--user", uid, "--ephemeral"])
        node_key = json.loads(rec.run("preauthkeys_create_node", ["preauthkeys", "create", "--user", uid]))
        if v >= (0, 28):
            rec.run("preauthkeys_create_tags_only", ["preauthkeys", "create", "--tags", "tag:ci"])
            rec.run("preauthkeys_expire", ["preauthkeys", "expire", "--id", str(plain["id"])])
            rec.run("preauthkeys_list", ["preauthkeys", "list"])
            rec.run("preauthkeys_delete", ["preauthkeys", "delete", "--id", str(plain["id"])])
            rec.run("preauthkeys_expire_missing", ["preauthkeys", "expire", "--id", "999"])
        else:
            rec.run("preauthkeys_expire", ["preauthkeys", "expire", "--user", uid, plain["key"]])
            rec.run("preauthkeys_list", ["preauthkeys", "list", "--user", uid])
            rec.run("preauthkeys_expire_missing", ["preauthkeys", "expire", "--user", uid, "0" * 48])

        rec.run("apikeys_create", ["apikeys", "create", "--expiration", "1d"])
        second = json.loads(rec.run("apikeys_create_second", ["apikeys", "create", "--expiration", "90d"]))
        listed = json.loads(rec.run("apikeys_list", ["apikeys", "list"]))
        first = listed[0]
        selector = ["--id", str(first["id"])] if v >= (0, 28) else ["--prefix", first["prefix"]]
        rec.run("apikeys_expire", ["apikeys", "expire", *selector])
        second_prefix = next(k["prefix"] for k in listed if k["prefix"].replace("***", "").rstrip("-") in second)
        rec.run("apikeys_delete", ["apikeys", "delete", "--prefix", second_prefix])
        rec.run("apikeys_list_after", ["apikeys", "list"])

        if tailscale_dir is not None:
            client = server.start_client(tailscale_dir, memory_state=True)
            subprocess.run(
                [
                    str(client.tailscale),
                    f"--socket={client.socket}",
                    "up",
                    f"--login-server={server.url}",
                    f"--auth-key={node_key['key']}",
                    "--hostname=itest-n1",
                    "--advertise-routes=10.99.0.0/24,10.98.0.0/24",
                    "--accept-dns=false",
                    "--timeout=60s",
                ],
                check=True,
                capture_output=True,
                timeout=90,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                nodes = json.loads(server.cli("nodes", "list").stdout) or []
                if nodes and len(nodes[0].get("available_routes") or []) == 2:
                    break
                time.sleep(0.2)
            # let the new client's first updates (netcheck, endpoints) land: a map update racing with a
            # CLI change can write back the node as it was before the change (seen with 0.27)
            time.sleep(3)
            node_id = str(nodes[0]["id"])
            rec.run("nodes_list", ["nodes", "list"])
            rec.run("nodes_list_user", ["nodes", "list", "--user", "itest"])
            rec.run("users_destroy_with_node", ["users", "destroy", "--identifier", uid, "--force"])
            rec.run("nodes_approve_routes", ["nodes", "approve-routes", "-i", node_id, "-r", "10.99.0.0/24"])
            rec.run("nodes_list_approved", ["nodes", "list"])
            rec.run("nodes_list_routes", ["nodes", "list-routes"])
            rec.run("nodes_approve_exit", ["nodes", "approve-routes", "-i", node_id, "-r", "0.0.0.0/0"])
            rec.run("nodes_approve_none", ["nodes", "approve-routes", "-i", node_id, "-r", ""])
            rec.run("nodes_rename", ["nodes", "rename", "-i", node_id, "itest-renamed"])
            rec.run("nodes_rename_invalid", ["nodes", "rename", "-i", node_id, "Not A Name"])
            rec.run("nodes_tag", ["nodes", "tag", "-i", node_id, "-t", "tag:ci,tag:db"])
            rec.run("nodes_list_tagged", ["nodes", "list"])
            rec.run("nodes_tag_undefined", ["nodes", "tag", "-i", node_id, "-t", "tag:nosuchtag"])
            rec.run("nodes_tag_none", ["nodes", "tag", "-i", node_id, "-t", ""])
            rec.run("nodes_expire", ["nodes", "expire", "-i", node_id])
            rec.run("nodes_list_expired", ["nodes", "list"])
            rec.run("nodes_delete", ["nodes", "delete", "--identifier", node_id, "--force"])
            rec.run("nodes_delete_missing", ["nodes", "delete", "--identifier", "999", "--force"])
            rec.run("nodes_list_after_delete", ["nodes", "list"])

        # policy.mode file with no policy file (what the headscale role writes without a policy)
        server.proc.terminate()
        server.proc.wait(timeout=10)
        server.config.write_text(server.config.read_text().replace("mode: database", "mode: file"))
        server.start()
        rec.run("policy_get_file_none", ["policy", "get"])
        rec.write_index(version)
        # the unit tests read these files as of now: keys made minutes ago, the 1 h ones still valid
        (out_dir / "recorded_at").write_text(f"{int(time.time())}\n")
        print(f"recorded {len(rec.index)} commands of headscale {version} into {out_dir}", flush=True)
    finally:
        server.close()
