# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive the ``headscale`` CLI on the Headscale host and parse what it prints.

The modules of this collection run on the Headscale server itself and talk to the running server
through its CLI (which connects over the server's unix socket). Everything version specific lives
here, so the modules stay thin. Supported: Headscale 0.26 and newer. What differs between versions
(all read from the CLI sources, cmd/headscale/cli/*.go, of each release):

* ``headscale version -o json`` prints a JSON object from 0.27 on; 0.26 only knows ``headscale version``
  (a bare version string, no ``-o`` flag).
* Pre-auth keys: 0.26 and 0.27 list them per user (``--user ID`` required), expire them by the full
  secret (``expire --user ID KEY``) and cannot delete them. 0.28 lists all keys, expires and deletes
  them by ``--id``, makes ``--user`` optional (tag-only keys) and shows the secret only at creation
  (lists show ``hskey-auth-<prefix>-***``).
* API keys: 0.26 and 0.27 use a 7 character prefix (``prefix.secret``); 0.28 adds ``--id`` to expire and
  delete and lists the new keys as ``hskey-api-<prefix>-***``.
* Node tags: up to 0.27 a node carries ``forced_tags`` (what ``nodes tag`` sets), ``valid_tags`` and
  ``invalid_tags``; 0.28 has a single ``tags`` list, refuses to remove all tags of a node and only
  accepts tags that the policy's ``tagOwners`` define.
* ``policy check``: up to 0.28 it parses the file offline and the CLI does not register the global
  flags (``-c``, ``-o``) for it; 0.29 sends the policy to the running server, which also resolves users
  and runs the policy's ``tests``.
* ``-o json`` serialises the gRPC messages with Go's encoding/json: false booleans, zero numbers, empty
  strings and empty lists are left out, an empty top-level list prints ``null`` and timestamps are
  ``{"seconds": N, "nanos": N}`` objects.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import shlex
from collections.abc import Iterator
from typing import Any

# The CLI hides its log with -o json but re-enables it when it loads the CLI configuration, and with
# log.format json it writes the log to stdout, mixed with the JSON. These variables override the server
# configuration for the CLI process only (viper reads HEADSCALE_* variables): the log goes to stderr as
# text and no update check goes out to GitHub.
CLI_ENVIRONMENT = {
    "HEADSCALE_LOG_FORMAT": "text",
    "HEADSCALE_DISABLE_CHECK_UPDATES": "true",
}

MIN_VERSION = (0, 26, 0)
GO_ZERO_TIME_SECONDS = -62135596800  # time.Time{} as a protobuf timestamp
_UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, managed nodes may run 3.9
REGISTER_METHODS = {0: "unspecified", 1: "authkey", 2: "cli", 3: "oidc"}
SEARCH_DIRS = ["/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin"]
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_DURATION_RE = re.compile(r"^(?:\d+(?:ms|y|w|d|h|m|s))+$")


class HeadscaleError(Exception):
    """A failed ``headscale`` command; ``str()`` is a message naming the command and what it said."""

    def __init__(self, message: str, command: list[str] | None = None, rc: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.command = command or []
        self.rc = rc
        self.stderr = stderr

    def __str__(self) -> str:
        return self.message


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``X.Y.Z`` in ``text`` (``headscale version`` output of any release), or None."""
    match = _VERSION_RE.search(text or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def version_string(version: tuple[int, int, int] | None) -> str | None:
    return None if version is None else "{}.{}.{}".format(*version)


def valid_duration(value: str) -> bool:
    """Whether ``value`` is a duration the CLI accepts for ``--expiration`` (Prometheus style: 90d, 1h30m)."""
    return bool(_DURATION_RE.match(value or ""))


def parse_json_output(text: str) -> Any:
    """Parse the JSON a ``headscale ... -o json`` command printed.

    Tolerates log lines around the document (a server configured with ``log.format: json`` makes the CLI
    log to stdout): zerolog lines (``{"level": ...}``) are skipped and the first JSON value is taken.
    An empty output is None, as is ``null`` (what the CLI prints for an empty list).
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped[0] not in '[{"nt0123456789-':
            continue
        if _is_log_line(stripped):
            continue
        rest = "\n".join([stripped, *lines[index + 1 :]])
        try:
            value, end = decoder.raw_decode(rest)
        except ValueError:
            continue
        if rest[end:].split("\n", 1)[0].strip():
            continue  # a line that merely starts like JSON ("2025-01-01T00:00:00Z INF ...")
        return value
    raise ValueError(f"no JSON document in the output: {text[:200]!r}")


def _is_log_line(line: str) -> bool:
    if not line.startswith('{"level"'):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def as_list(value: Any) -> list[Any]:
    """A JSON list field: absent and ``null`` both mean empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def timestamp(value: Any) -> str | None:
    """A protobuf timestamp as printed by ``-o json`` (``{"seconds": N, "nanos": N}``) as RFC 3339 UTC.

    None for an absent timestamp and for Go's zero time (what Headscale stores for "never").
    Strings (protojson style) pass through.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        seconds = int(value.get("seconds") or 0)
        nanos = int(value.get("nanos") or 0)
        if seconds <= GO_ZERO_TIME_SECONDS:
            return None
        moment = datetime.datetime.fromtimestamp(seconds, tz=_UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if nanos:
            text += f".{nanos:09d}".rstrip("0")
        return text + "Z"
    return None


def timestamp_seconds(value: Any) -> float | None:
    """Seconds since the epoch of a ``-o json`` timestamp, None when absent or Go's zero time."""
    if isinstance(value, dict):
        seconds = int(value.get("seconds") or 0)
        if seconds <= GO_ZERO_TIME_SECONDS:
            return None
        return seconds + int(value.get("nanos") or 0) / 1e9
    if isinstance(value, str) and value:
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def clock() -> float:
    """Seconds since the epoch, now (tests replace this to read recorded output at its recording time)."""
    return datetime.datetime.now(tz=_UTC).timestamp()


def is_past(value: Any, now: float | None = None) -> bool:
    """Whether a ``-o json`` timestamp lies in the past (an expiry that has passed)."""
    seconds = timestamp_seconds(value)
    if seconds is None:
        return False
    if now is None:
        now = clock()
    return seconds <= now


# ---------------------------------------------------------------------------------------------------
# Normalised records


def normalize_user(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "id": int(raw.get("id") or 0),
        "name": raw.get("name") or "",
        "display_name": raw.get("display_name") or "",
        "email": raw.get("email") or "",
        "provider": raw.get("provider") or "",
        "provider_id": raw.get("provider_id") or "",
        "profile_pic_url": raw.get("profile_pic_url") or "",
        "created_at": timestamp(raw.get("created_at")),
    }


def canonical_prefix(route: str) -> str:
    """``10.0.0.1/24`` -> ``10.0.0.0/24`` (raises ValueError for what is no IP prefix)."""
    return str(ipaddress.ip_network(str(route).strip(), strict=False))


def sort_prefixes(routes: list[str]) -> list[str]:
    def key(route: str) -> tuple[int, int, int, str]:
        try:
            network = ipaddress.ip_network(route, strict=False)
        except ValueError:
            return (9, 0, 0, route)
        return (network.version, int(network.network_address), network.prefixlen, route)

    return sorted(set(routes), key=key)


def expand_exit_routes(routes: list[str]) -> list[str]:
    """Headscale approves an exit node with both default routes: approving one approves the other too."""
    result = set(routes)
    if "0.0.0.0/0" in result or "::/0" in result:
        result.update(("0.0.0.0/0", "::/0"))
    return sort_prefixes(list(result))


def normalize_node(raw: dict[str, Any] | None, version: tuple[int, int, int] | None = None) -> dict[str, Any] | None:
    """One node of ``headscale nodes list -o json`` with the same keys for every version.

    ``tags`` are the node's effective tags; ``forced_tags`` the set that ``headscale nodes tag`` manages
    (up to 0.27 the forced tags, from 0.28 the node's tags).
    """
    if not raw:
        return None
    if "forced_tags" in raw or "valid_tags" in raw or "invalid_tags" in raw or (version and version < (0, 28, 0)):
        forced = sorted(set(as_list(raw.get("forced_tags"))))
        effective = sorted(set(forced) | set(as_list(raw.get("valid_tags"))))
        invalid = sorted(set(as_list(raw.get("invalid_tags"))))
    else:
        effective = sorted(set(as_list(raw.get("tags"))))
        forced = list(effective)
        invalid = []
    user = raw.get("user") or None
    pre_auth_key = raw.get("pre_auth_key") or {}
    method = raw.get("register_method") or 0
    return {
        "id": int(raw.get("id") or 0),
        "name": raw.get("name") or "",
        "given_name": raw.get("given_name") or "",
        "user": (user or {}).get("name") if user else None,
        "user_id": int((user or {}).get("id") or 0) if user else None,
        "ip_addresses": list(as_list(raw.get("ip_addresses"))),
        "online": bool(raw.get("online", False)),
        "available_routes": sort_prefixes(as_list(raw.get("available_routes"))),
        "approved_routes": sort_prefixes(as_list(raw.get("approved_routes"))),
        "subnet_routes": sort_prefixes(as_list(raw.get("subnet_routes"))),
        "tags": effective,
        "forced_tags": forced,
        "invalid_tags": invalid,
        "last_seen": timestamp(raw.get("last_seen")),
        "expiry": timestamp(raw.get("expiry")),
        "expired": is_past(raw.get("expiry")),
        "created_at": timestamp(raw.get("created_at")),
        "node_key": raw.get("node_key") or "",
        "machine_key": raw.get("machine_key") or "",
        "ephemeral": bool(pre_auth_key.get("ephemeral", False)),
        "register_method": REGISTER_METHODS.get(method, str(method)) if isinstance(method, int) else str(method),
    }


# Keys of Headscale 0.28 and newer: hskey-auth-<prefix>-<secret> and hskey-api-<prefix>-<secret>, the prefix
# being 12 URL-safe base64 characters, which may include "-" (so split by length, not by "-").
NEW_KEY_PREFIX_LENGTH = 12
PREAUTHKEY_MARK = "hskey-auth-"
APIKEY_MARK = "hskey-api-"


def preauthkey_prefix(key: str) -> str:
    """The part of a pre-auth key that names it without revealing it.

    ``hskey-auth-<prefix>-<secret>`` (0.28+, as created or as listed with ``-***``) gives
    ``hskey-auth-<prefix>``; an old style key (hex, up to 0.27, listed in full) gives its first 8 characters.
    """
    key = key or ""
    if key.startswith(PREAUTHKEY_MARK):
        return key[: len(PREAUTHKEY_MARK) + NEW_KEY_PREFIX_LENGTH]
    return key[:8]


def preauthkey_matches(listed_key: str, wanted: str) -> bool:
    """Whether ``wanted`` (a full key, a prefix of one, or the ``hskey-auth-<prefix>`` form) names ``listed_key``.

    ``listed_key`` is what ``preauthkeys list`` shows: the full key up to 0.27, ``hskey-auth-<prefix>-***``
    from 0.28 (then ``wanted`` may also be the bare ``<prefix>`` or a start of it).
    """
    if not wanted or not listed_key:
        return False
    if listed_key.startswith(PREAUTHKEY_MARK):
        name = preauthkey_prefix(listed_key)
        if not wanted.startswith(PREAUTHKEY_MARK):
            wanted = PREAUTHKEY_MARK + wanted
        if wanted == PREAUTHKEY_MARK:
            return False
        # a start of the name, or the name itself followed by (a part of) the secret
        return name.startswith(wanted) or wanted.startswith(name)
    return listed_key.startswith(wanted)


def normalize_preauthkey(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """A pre-auth key without its secret: ``key_prefix`` names it (see preauthkey_prefix)."""
    if not raw:
        return None
    user = raw.get("user") or None
    return {
        "id": int(raw.get("id") or 0),
        "key_prefix": preauthkey_prefix(raw.get("key") or ""),
        "user": user.get("name") if user else None,
        "user_id": int(user.get("id") or 0) if user else None,
        "reusable": bool(raw.get("reusable", False)),
        "ephemeral": bool(raw.get("ephemeral", False)),
        "used": bool(raw.get("used", False)),
        "expiration": timestamp(raw.get("expiration")),
        "expired": is_past(raw.get("expiration")),
        "created_at": timestamp(raw.get("created_at")),
        "tags": sorted(as_list(raw.get("acl_tags"))),
    }


def apikey_prefix(value: str) -> str:
    """The database prefix of an API key in any of its forms.

    ``hskey-api-<12>-<secret>``, ``hskey-api-<12>-***``, ``hskey-api-<12>`` -> ``<12>`` (0.28+);
    ``<7>.<secret>`` (the full key up to 0.27) and ``<7>***`` (0.28+ listing an old key) -> ``<7>``.
    """
    value = (value or "").strip()
    if value.startswith(APIKEY_MARK):
        return value[len(APIKEY_MARK) : len(APIKEY_MARK) + NEW_KEY_PREFIX_LENGTH]
    if value.endswith("***"):
        value = value[:-3]
    return value.split(".", 1)[0]


def normalize_apikey(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    prefix = apikey_prefix(raw.get("prefix") or "")
    return {
        "id": int(raw.get("id") or 0),
        "prefix": prefix,
        "display_prefix": raw.get("prefix") or "",
        "expiration": timestamp(raw.get("expiration")),
        "expired": is_past(raw.get("expiration")),
        "created_at": timestamp(raw.get("created_at")),
        "last_seen": timestamp(raw.get("last_seen")),
    }


# ---------------------------------------------------------------------------------------------------
# Lookups


def find_user(users: list[dict[str, Any]], name: str | None = None, user_id: int | None = None) -> dict | None:
    """The user (normalised or raw) called ``name`` or with ``user_id``; None when there is none.

    Raises HeadscaleError when several users carry the name (OIDC users can share one): give the ID then.
    """
    if user_id is not None:
        for user in users:
            if int(user.get("id") or 0) == int(user_id):
                return user
        return None
    matches = [user for user in users if (user.get("name") or "") == name]
    if len(matches) > 1:
        ids = ", ".join(str(user.get("id")) for user in matches)
        raise HeadscaleError(f"several Headscale users are called {name!r} (IDs {ids}); name one by its ID")
    return matches[0] if matches else None


def node_key_matches(node_key: str, wanted: str) -> bool:
    def bare(value: str) -> str:
        return value.split(":", 1)[1] if value.startswith("nodekey:") else value

    return bool(node_key) and bare(node_key) == bare(wanted)


def find_node(
    nodes: list[dict[str, Any]],
    node_id: int | None = None,
    name: str | None = None,
    node_key: str | None = None,
) -> dict[str, Any] | None:
    """The normalised node with ``node_id``, ``name`` (given name first, then host name) or ``node_key``.

    Raises HeadscaleError when a name or key matches several nodes.
    """
    if node_id is not None:
        return next((node for node in nodes if node["id"] == int(node_id)), None)
    if node_key:
        matches = [node for node in nodes if node_key_matches(node.get("node_key") or "", node_key)]
        what = f"node key {node_key!r}"
    else:
        matches = [node for node in nodes if node.get("given_name") == name]
        if not matches:
            matches = [node for node in nodes if node.get("name") == name]
        what = f"name {name!r}"
    if len(matches) > 1:
        found = ", ".join(f"{node['id']} ({node.get('given_name')})" for node in matches)
        raise HeadscaleError(f"several Headscale nodes match {what}: {found}; name the node by its id")
    return matches[0] if matches else None


# ---------------------------------------------------------------------------------------------------
# HuJSON (the policy format): JSON with comments and trailing commas


def hujson_to_json(text: str) -> str:
    """Standard JSON from HuJSON: drops ``//`` and ``/* */`` comments and trailing commas outside strings."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"':
                    break
                j += 1
            out.append(text[i : j + 1])
            i = j + 1
            continue
        if char == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if char == "/" and i + 1 < n and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            out.append(" ")
            i = end + 2
            continue
        if char == ",":
            j = i + 1
            # look past whitespace and comments for a closing bracket
            while j < n:
                if text[j] in " \t\r\n":
                    j += 1
                elif text.startswith("//", j):
                    end = text.find("\n", j)
                    j = n if end < 0 else end
                elif text.startswith("/*", j):
                    end = text.find("*/", j + 2)
                    j = n if end < 0 else end + 2
                else:
                    break
            if j < n and text[j] in "]}":
                i += 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_hujson(text: str) -> Any:
    """The value of a HuJSON (or JSON) document; raises ValueError when it is neither."""
    return json.loads(hujson_to_json(text))


# ---------------------------------------------------------------------------------------------------
# The CLI


class HeadscaleCLI:
    """Runs ``headscale`` commands for an AnsibleModule and parses their ``-o json`` output.

    ``binary`` is a path or a name looked up on PATH and in the usual sbin/bin directories; ``config`` is
    passed as ``-c`` (unset: the CLI's default, ``/etc/headscale/config.yaml`` or ``$HEADSCALE_CONFIG``).
    """

    def __init__(self, module: Any, binary: str | None = None, config: str | None = None) -> None:
        self.module = module
        self.config = config
        self.binary = self._locate(binary or "headscale")
        self._version: tuple[int, int, int] | None = None
        self.version_exact = True  # false when a development build's version was told by its commands

    def _locate(self, binary: str) -> str:
        if "/" in binary:
            path = binary
        else:
            path = self.module.get_bin_path(binary, required=False, opt_dirs=SEARCH_DIRS)
        if not path:
            raise HeadscaleError(
                f"cannot find the headscale binary {binary!r} on PATH or in {', '.join(SEARCH_DIRS)}; "
                "set the binary option to its path"
            )
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise HeadscaleError(f"the headscale binary {path} does not exist or is not executable")
        return path

    # -- running -----------------------------------------------------------------------------------

    def command(self, args: list[str], json_output: bool = True, global_flags: bool = True) -> list[str]:
        """The argv for ``headscale ARGS``: ``-c CONFIG`` unless ``global_flags`` is false (commands that do
        not register the global flags), ``-o json`` when ``json_output``."""
        cmd = [self.binary]
        if global_flags and self.config:
            cmd += ["-c", self.config]
        cmd += [str(arg) for arg in args]
        if json_output:
            cmd += ["-o", "json"]
        return cmd

    def run_raw(
        self, args: list[str], json_output: bool = True, global_flags: bool = True
    ) -> tuple[int, str, str, list[str]]:
        cmd = self.command(args, json_output=json_output, global_flags=global_flags)
        rc, out, err = self.module.run_command(cmd, environ_update=dict(CLI_ENVIRONMENT))
        return rc, out or "", err or "", cmd

    def run(
        self,
        args: list[str],
        what: str,
        json_output: bool = True,
        global_flags: bool = True,
        secret_output: bool = False,
        secret_args: tuple[str, ...] = (),
    ) -> Any:
        """Run ``headscale ARGS -o json`` and return the parsed output (text when ``json_output`` is false).

        ``what`` says what was wanted ("create user 'alice'"), for the error message. With ``secret_output``
        (commands that print a new key) stdout never goes into an error message; ``secret_args`` are
        arguments shown as ``********`` in messages.
        """
        rc, out, err, cmd = self.run_raw(args, json_output, global_flags)
        # Before 0.28 every node record carries its pre-auth key in full: node output is secret there.
        secret_output = secret_output or (bool(args) and args[0] == "nodes" and not self.at_least(0, 28))
        shown_cmd = ["********" if arg in secret_args else arg for arg in cmd]
        if rc != 0:
            error = self._error(what, shown_cmd, rc, out, err, secret_output)
            for secret in secret_args:
                error.message = error.message.replace(secret, "********")
            raise error
        if not json_output:
            return out
        try:
            return parse_json_output(out)
        except ValueError as exc:
            shown = "(output hidden: it may hold a secret)" if secret_output else f"{out.strip()[:500]!r}"
            raise HeadscaleError(
                f"cannot {what}: `{self.display(shown_cmd)}` printed no JSON: {shown}", shown_cmd, rc, err
            ) from exc

    def display(self, cmd: list[str]) -> str:
        return shlex.join(cmd)

    def _error(
        self, what: str, cmd: list[str], rc: int, out: str, err: str, secret_output: bool = False
    ) -> HeadscaleError:
        said = cli_error_text(err) or ("" if secret_output else cli_error_text(out))
        if not said:
            said = "it printed nothing"
            hint = self._diagnose()
            if hint:
                said += f"; without -o json it says: {hint}"
        return HeadscaleError(f"cannot {what}: `{self.display(cmd)}` failed (rc={rc}): {said}", cmd, rc, err)

    def _diagnose(self) -> str:
        """Run a read-only command without ``-o json`` to see the log line a silent failure hid."""
        try:
            rc, out, err, _cmd = self.run_raw(["users", "list"], json_output=False)
        except Exception:  # pragma: no cover - best effort only
            return ""
        if rc == 0:
            return ""
        text = cli_error_text(err) or cli_error_text(out)
        return text[-500:]

    # -- version -----------------------------------------------------------------------------------

    @property
    def version(self) -> tuple[int, int, int]:
        """The Headscale version as (major, minor, patch); fails for versions older than 0.26."""
        if self._version is None:
            self._version = self._detect_version()
            if self._version < MIN_VERSION:
                raise HeadscaleError(
                    f"headscale {version_string(self._version)} at {self.binary} is not supported: "
                    f"these modules need Headscale {version_string(MIN_VERSION)} or newer"
                )
        return self._version

    def check_version(self) -> tuple[int, int, int]:
        """Detect the version now (raising HeadscaleError when the CLI is unusable or too old)."""
        return self.version

    @property
    def version_text(self) -> str:
        """The version for messages (``0.28.0``)."""
        return version_string(self.version) or ""

    def _detect_version(self) -> tuple[int, int, int]:
        # 0.27+: `version -o json` prints a JSON object; 0.26 has no -o flag on `version` (rc 1) and
        # prints the bare version string.
        rc, out, _err, _cmd = self.run_raw(["version"], json_output=True, global_flags=False)
        json_version = rc == 0
        data = None
        if json_version:
            try:
                data = parse_json_output(out)
            except ValueError:
                data = None
        if isinstance(data, dict):
            text = str(data.get("version") or "")
        else:
            rc, out, err, cmd = self.run_raw(["version"], json_output=False, global_flags=False)
            if rc != 0:
                raise self._error("read the headscale version", cmd, rc, out, err)
            text = out.strip()
        version = parse_version(text)
        if version is None:
            self.version_exact = False
            version = self._probe_version(json_version)
        return version

    def _probe_version(self, json_version: bool) -> tuple[int, int, int]:
        """For development builds (version "dev"): tell the releases apart by their commands."""
        rc, out, _err, _cmd = self.run_raw(["auth", "--help"], json_output=False, global_flags=False)
        if rc == 0 and "register" in out:
            return (0, 29, 0)
        rc, out, _err, _cmd = self.run_raw(["preauthkeys", "--help"], json_output=False, global_flags=False)
        if rc == 0 and "delete" in out:
            return (0, 28, 0)
        return (0, 27, 0) if json_version else (0, 26, 0)

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        return self.version >= (major, minor, patch)

    # -- users -------------------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        data = self.run(["users", "list"], "list the Headscale users")
        return [user for user in (normalize_user(raw) for raw in as_list(data)) if user]

    def user(self, name: str | None = None, user_id: int | None = None) -> dict[str, Any] | None:
        return find_user(self.users(), name=name, user_id=user_id)

    def user_create(
        self, name: str, display_name: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        """``users create``: the new user as the CLI printed it (normalised), None when it printed none."""
        args = ["users", "create", name]
        if display_name:
            args += ["--display-name", display_name]
        if email:
            args += ["--email", email]
        created = self.run(args, f"create the Headscale user {name!r}")
        return normalize_user(created) if isinstance(created, dict) else None

    def user_destroy(self, user: dict[str, Any]) -> None:
        """``users destroy``; a user who still owns nodes is refused naming them, and the removal is verified."""
        label = f"the Headscale user {user['name']!r} (ID {user['id']})"
        try:
            self.run(["users", "destroy", "--identifier", str(user["id"]), "--force"], f"delete {label}")
        except HeadscaleError as exc:
            if "not empty" in str(exc) or "node(s) found" in str(exc):
                try:
                    owned = [node for node in self.nodes() if node.get("user_id") == user["id"]]
                except HeadscaleError:
                    owned = []
                if owned:
                    names = ", ".join(f"{node['id']} ({node['given_name']})" for node in owned)
                    raise HeadscaleError(f"{exc}; the user still owns the nodes {names}: delete them first") from exc
            raise
        if self.user(user_id=user["id"]) is not None:
            raise HeadscaleError(f"deleted {label} but it is still listed")

    def require_user(self, name: str) -> dict[str, Any]:
        users = self.users()
        user = find_user(users, name=name)
        if user is None:
            known = ", ".join(sorted(u["name"] for u in users)) or "none"
            raise HeadscaleError(f"Headscale has no user {name!r} (users: {known})")
        return user

    # -- nodes -------------------------------------------------------------------------------------

    def nodes(self, user: str | None = None) -> list[dict[str, Any]]:
        args = ["nodes", "list"]
        if user:
            args += ["--user", user]
        data = self.run(args, "list the Headscale nodes")
        version = self.version
        return [node for node in (normalize_node(raw, version) for raw in as_list(data)) if node]

    def node(
        self, node_id: int | None = None, name: str | None = None, node_key: str | None = None
    ) -> dict[str, Any] | None:
        return find_node(self.nodes(), node_id=node_id, name=name, node_key=node_key)

    @property
    def tags_are_sticky(self) -> bool:
        """0.28+: a node has one tag list (what ``nodes tag`` sets is all its tags) and cannot lose every tag."""
        return self.at_least(0, 28)

    def _node_command(self, args: list[str], what: str) -> dict[str, Any]:
        output = self.run(args, what)
        node = normalize_node(output, self.version) if isinstance(output, dict) else None
        if node is None:
            raise HeadscaleError(f"cannot {what}: the headscale CLI printed no node after the change")
        return node

    def node_rename(self, node_id: int, name: str, label: str) -> dict[str, Any]:
        return self._node_command(["nodes", "rename", "-i", str(node_id), name], f"rename {label}")

    def check_node_tags(self, label: str, current: list[str], wanted: list[str]) -> None:
        """Refuse what this version cannot do to a node's tags (0.28+: take away every tag)."""
        if current and not wanted and self.tags_are_sticky:
            raise HeadscaleError(
                f"cannot remove all tags of {label} (tags {', '.join(current)}): Headscale {self.version_text} "
                "keeps a tagged node tagged; re-register it without tags (tailscale up --advertise-tags= "
                "--force-reauth) to make it a user's node again"
            )

    def node_tag(self, node: dict[str, Any], tags: list[str], label: str) -> dict[str, Any]:
        """Set the node's tags (forced tags up to 0.27, its only tags from 0.28)."""
        self.check_node_tags(label, node["forced_tags"], tags)
        node_id = node["id"]
        return self._node_command(
            ["nodes", "tag", "-i", str(node_id), "-t", ",".join(tags)], f"set the tags of {label}"
        )

    def node_approve_routes(self, node_id: int, routes: list[str], label: str) -> dict[str, Any]:
        return self._node_command(
            ["nodes", "approve-routes", "-i", str(node_id), "-r", ",".join(routes)],
            f"approve the routes {', '.join(routes) or '(none)'} of {label}",
        )

    def node_expire(self, node_id: int, label: str) -> dict[str, Any]:
        return self._node_command(["nodes", "expire", "-i", str(node_id)], f"expire {label}")

    def node_delete(self, node_id: int, label: str) -> None:
        self.run(["nodes", "delete", "--identifier", str(node_id), "--force"], f"delete {label}")
        # up to 0.27 the CLI prints success with -o json even when the deletion failed: check
        if self.node(node_id=node_id) is not None:
            raise HeadscaleError(f"deleted {label} but Headscale still lists it")

    # -- pre-auth keys -----------------------------------------------------------------------------

    def preauthkeys_raw(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Pre-auth keys as the CLI lists them (up to 0.27 the full secrets!): per user before 0.28."""
        if self.at_least(0, 28):
            data = self.run(["preauthkeys", "list"], "list the pre-auth keys", secret_output=True)
            keys = [raw for raw in as_list(data) if raw]
            if user_id is not None:
                keys = [raw for raw in keys if int((raw.get("user") or {}).get("id") or 0) == int(user_id)]
            return keys
        user_ids = [user_id] if user_id is not None else [user["id"] for user in self.users()]
        keys = []
        for uid in user_ids:
            data = self.run(
                ["preauthkeys", "list", "--user", str(uid)],
                f"list the pre-auth keys of user ID {uid}",
                secret_output=True,
            )
            for raw in as_list(data):
                if raw:
                    if not raw.get("user"):
                        raw = dict(raw, user={"id": uid})
                    keys.append(raw)
        return keys

    def preauthkeys(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Pre-auth keys without their secrets."""
        users = {user["id"]: user["name"] for user in self.users()} if not self.at_least(0, 28) else {}
        result = []
        for raw in self.preauthkeys_raw(user_id):
            key = normalize_preauthkey(raw)
            if key is None:
                continue
            if key["user"] is None and key["user_id"] in users:
                key["user"] = users[key["user_id"]]
            result.append(key)
        return result

    @property
    def can_delete_preauthkeys(self) -> bool:
        """0.28+ deletes pre-auth keys and expires them by ID; before, they can only be expired by secret."""
        return self.at_least(0, 28)

    def listed_preauthkey_secrets(self, raw_keys: list[dict[str, Any]]) -> list[str]:
        """The full secrets in a ``preauthkeys_raw`` list (up to 0.27; later lists show prefixes only)."""
        return [] if self.at_least(0, 28) else [raw["key"] for raw in raw_keys if raw.get("key")]

    def check_preauthkey_owner(self, user: dict[str, Any] | None, tags: list[str]) -> None:
        """Refuse a key this version cannot mint: every key needs a user before 0.28, one without tags always."""
        if user is None and not self.at_least(0, 28):
            raise HeadscaleError(f"user is required to mint a pre-auth key with Headscale {self.version_text}")
        if user is None and not tags:
            raise HeadscaleError("user is required to mint a pre-auth key without tags")

    def preauthkey_create(
        self,
        user: dict[str, Any] | None,
        tags: list[str],
        expiration: str,
        reusable: bool = False,
        ephemeral: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """Mint a key for ``user`` (a listed user) and/or ``tags``: ``(secret, the key's record without it)``.

        Before 0.28 every key belongs to a user; from 0.28 a tag-only key needs no user.
        """
        self.check_preauthkey_owner(user, tags)
        args = ["preauthkeys", "create"]
        if user is not None:
            args += ["--user", str(user["id"])]
        if reusable:
            args.append("--reusable")
        if ephemeral:
            args.append("--ephemeral")
        args += ["--expiration", expiration]
        if tags:
            args += ["--tags", ",".join(tags)]
        owner = f"user {user['name']!r}" if user else f"tags {', '.join(tags)}"
        created = self.run(args, f"mint a pre-auth key for {owner}", secret_output=True)
        secret = created.get("key") if isinstance(created, dict) else None
        info = normalize_preauthkey(created) if isinstance(created, dict) else None
        if not secret or not isinstance(secret, str) or info is None:
            raise HeadscaleError(f"minted a pre-auth key for {owner} but the CLI printed no key")
        if info["user"] is None and user is not None:
            info["user"], info["user_id"] = user["name"], user["id"]
        return secret, info

    def preauthkey_retire(self, raw: dict[str, Any], delete: bool, label: str) -> None:
        """Delete (0.28+) or expire the listed key ``raw`` (as ``preauthkeys_raw`` lists it: before 0.28 it
        is expired by its full secret, which never shows in a message)."""
        if delete and not self.can_delete_preauthkeys:
            raise HeadscaleError(f"cannot delete the {label}: Headscale {self.version_text} can only expire it")
        if delete:
            self.run(["preauthkeys", "delete", "--id", str(raw["id"])], f"delete the {label}")
        elif self.can_delete_preauthkeys:
            self.run(["preauthkeys", "expire", "--id", str(raw["id"])], f"expire the {label}")
        else:
            user_id = str((raw.get("user") or {}).get("id") or "")
            self.run(
                ["preauthkeys", "expire", "--user", user_id, raw["key"]],
                f"expire the {label}",
                secret_args=(raw["key"],),
            )

    # -- API keys ----------------------------------------------------------------------------------

    def apikeys(self) -> list[dict[str, Any]]:
        data = self.run(["apikeys", "list"], "list the API keys")
        return [key for key in (normalize_apikey(raw) for raw in as_list(data)) if key]

    def apikey_create(self, expiration: str) -> str:
        """A new API key (the secret: only the caller sees it)."""
        created = self.run(["apikeys", "create", "--expiration", expiration], "create an API key", secret_output=True)
        if not isinstance(created, str) or not created:
            raise HeadscaleError("created an API key but the CLI printed no key")
        return created

    def apikey_retire(self, key: dict[str, Any], delete: bool, what: str) -> None:
        """Delete or expire the listed API key ``key``: by ID from 0.28, by prefix before."""
        verb = "delete" if delete else "expire"
        selector = ["--id", str(key["id"])] if self.at_least(0, 28) else ["--prefix", key["prefix"]]
        self.run(["apikeys", verb, *selector], f"{verb} the API key with {what}")

    # -- policy ------------------------------------------------------------------------------------

    def policy_get(self) -> str | None:
        """The policy text the server uses, as stored (HuJSON); None when there is none.

        ``policy get`` ignores ``-o`` and prints the text as it is (passing ``-o json`` still keeps its log
        quiet). In file mode this is the file's content; with an empty ``policy.path`` (no policy, every
        node may reach every other) the server fails to open "" and that is None too.
        """
        rc, out, err, cmd = self.run_raw(["policy", "get"], json_output=True)
        if rc != 0:
            said = cli_error_text(err) or cli_error_text(out)
            if "policy not found" in said or 'reading policy from path ""' in said:
                return None
            raise self._error("read the Headscale policy", cmd, rc, out, err)
        return out.rstrip("\n")

    def policy_check(self, path: str) -> None:
        """Validate a policy file; raises HeadscaleError with the CLI's reason when it is refused.

        Up to 0.28 the check runs offline and the CLI registers no global flags for it (no ``-c``, no ``-o``);
        0.29 asks the running server, which also checks user references and runs the policy's tests.
        """
        online = self.at_least(0, 29)
        args = ["policy", "check", "-f", path]
        rc, out, err, cmd = self.run_raw(args, json_output=False, global_flags=online)
        if rc != 0:
            said = cli_error_text(err) or cli_error_text(out) or "it printed nothing"
            if "unknown command" in said and "check" in said:
                said = f"this headscale ({self.version_text}) has no `policy check` command"
            elif online and ("connecting to" in said or "Could not connect" in said):
                said += f" (Headscale {self.version_text} checks a policy on the running server: start it first)"
            raise HeadscaleError(f"policy refused by `{self.display(cmd)}` (rc={rc}): {said}", cmd, rc, err)

    def policy_set(self, path: str) -> None:
        rc, out, err, cmd = self.run_raw(["policy", "set", "-f", path], json_output=True)
        if rc != 0:
            said = cli_error_text(err) or cli_error_text(out) or "it printed nothing"
            if "update is disabled" in said or "modes other than" in said:
                said += (
                    " (the server runs with policy.mode file: write the file at policy.path and reload "
                    "headscale instead, or set policy.mode: database)"
                )
            raise HeadscaleError(f"cannot set the Headscale policy: `{self.display(cmd)}` (rc={rc}): {said}", cmd, rc)


def cli_error_text(text: str) -> str:
    """What the CLI said on failure: the ``error`` of its JSON error object, else the text's last lines."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        data = parse_json_output(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # zerolog text lines: "2025-01-01T00:00:00Z FTL ... error=..."; keep the last few, they carry the cause
    return " | ".join(lines[-5:])[:1500]


def installed_version(module: Any, binary: str | None = None) -> tuple[tuple[int, int, int] | None, bool]:
    """``(version, exact)`` of the ``headscale`` binary, read without a server or a config: ``version`` is
    None when there is no such binary.

    ``exact`` is false for a development build (``dev``, what ``go install`` makes of 0.26): the version is
    then told by its commands, the minor with patch 0. Versions older than 0.26 are reported, not refused.
    Raises HeadscaleError when the binary is there but not executable or its version cannot be read.
    """
    name = binary or "headscale"
    path = name if "/" in name else module.get_bin_path(name, required=False, opt_dirs=SEARCH_DIRS)
    if not path or not os.path.exists(path):
        return None, True
    cli = HeadscaleCLI(module, binary=path)
    version = cli._detect_version()
    return version, cli.version_exact


def module_cli(module: Any) -> HeadscaleCLI:
    """A HeadscaleCLI from the module's ``binary`` and ``config`` options; fails the module when unusable."""
    try:
        cli = HeadscaleCLI(module, binary=module.params.get("binary"), config=module.params.get("config"))
        cli.check_version()
    except HeadscaleError as exc:
        module.fail_json(msg=str(exc))
    return cli


def module_start(module: Any, **result: Any) -> tuple[HeadscaleCLI, dict[str, Any]]:
    """The skeleton every Headscale module starts with: the CLI (failing the module when it is unusable) and
    the result, ``changed`` false and ``headscale_version`` set, with ``result``'s own keys in between."""
    cli = module_cli(module)
    return cli, {"changed": False, **result, "headscale_version": version_string(cli.version)}


@contextlib.contextmanager
def failing_on_error(module: Any, result: dict[str, Any], hide: str | None = None) -> Iterator[None]:
    """Turn a HeadscaleError inside the block into ``fail_json`` with the result so far; ``hide`` (a
    temporary path) is shown as ``<policy>`` in the message."""
    try:
        yield
    except HeadscaleError as exc:
        message = str(exc).replace(hide, "<policy>") if hide else str(exc)
        module.fail_json(msg=message, **result)


COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "binary": {"type": "str", "default": "headscale"},
    "config": {"type": "path"},
}
