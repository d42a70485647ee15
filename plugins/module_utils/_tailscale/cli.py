# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive the ``tailscale`` CLI on a node and compare its preferences with the wanted ones.

The node modules (tailscale_info, tailscale_up) read the node with ``tailscale status --json``
(``ipnstate.Status``) and ``tailscale debug prefs`` (``ipn.Prefs`` as JSON, private keys stripped by
tailscaled), and change it with ``tailscale up`` (only to enrol: it needs an auth key),
``tailscale set`` (everything else: no key, no re-authentication, only the flags that differ) and
``tailscale logout``. Field and flag names are those of tailscale.com v1.94 (cmd/tailscale/cli/{up,set,
status,debug}.go, ipn/prefs.go, ipn/ipnstate/ipnstate.go); they are unchanged since well before 1.60.

The prefs fields used (``tailscale debug prefs``):

* ``ControlURL`` (empty: never set, the Tailscale default), ``WantRunning``, ``LoggedOut``
* ``RouteAll`` (``--accept-routes``), ``CorpDNS`` (``--accept-dns``), ``RunSSH`` (``--ssh``),
  ``ShieldsUp`` (``--shields-up``), ``Hostname`` (``--hostname``; empty: the OS hostname)
* ``AdvertiseRoutes`` (``--advertise-routes``; ``0.0.0.0/0`` plus ``::/0`` in it is
  ``--advertise-exit-node``), ``AdvertiseTags`` (``--advertise-tags``)
* ``NetfilterMode`` (an integer: 0 off, 1 nodivert, 2 on; ``--netfilter-mode``, Linux only)
* ``ExitNodeID`` / ``ExitNodeIP`` (the exit node this node uses; reported, not managed)
* ``AutoUpdate.Apply`` (``--auto-update``; an opt.Bool: null is off), ``RelayServerPort`` (``--relay-server-port``;
  absent: no peer relay server; 1.86 and newer)
* ``Config`` (``persist.Persist``): ``UserProfile.LoginName`` and ``NodeID`` tell a stopped node that
  has logged in from one that never did.

The pure functions below are unit tested; ``TailscaleCLI`` wraps the commands.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com"
# ipn.IsLoginServerSynonym: both name Tailscale's own control plane
LOGIN_SERVER_SYNONYMS = ("https://login.tailscale.com", "https://controlplane.tailscale.com")
EXIT_ROUTES = ("0.0.0.0/0", "::/0")
NETFILTER_MODES = {0: "off", 1: "nodivert", 2: "on"}  # types/preftype/netfiltermode.go
SEARCH_DIRS = ["/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin"]
# BackendState values (ipn/backend.go) of a node that has no usable login
NOT_LOGGED_IN_STATES = ("", "NoState", "NeedsLogin", "InUseOtherUser")
# The settings `tailscale set` changes, as keys of normalize_prefs() and the flag that sets each.
SET_FLAGS = {
    "accept_routes": "accept-routes",
    "accept_dns": "accept-dns",
    "ssh": "ssh",
    "hostname": "hostname",
    "advertise_routes": "advertise-routes",
    "advertise_exit_node": "advertise-exit-node",
    "netfilter_mode": "netfilter-mode",
    "shields_up": "shields-up",
    "exit_node": "exit-node",
    "exit_node_allow_lan_access": "exit-node-allow-lan-access",
    "snat_subnet_routes": "snat-subnet-routes",
    "stateful_filtering": "stateful-filtering",
    "operator": "operator",
    "auto_update": "auto-update",
    "relay_server_port": "relay-server-port",
}
# Settings `tailscale up` has no flag for: set with `tailscale set` right after enrolling.
POST_ENROLL_KEYS = ("auto_update", "relay_server_port")
# A local user name `--operator` takes (what useradd accepts), or "" for none.
_OPERATOR_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}\$?")
# What the CLI prints when it cannot reach tailscaled (cmd/tailscale/cli/diag.go and the dial errors).
_NOT_RUNNING_RE = re.compile(
    r"failed to connect to local tailscale|doesn't appear to be running|is the tailscale service running"
    r"|connect: no such file or directory|connect: connection refused|dial unix",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
REDACTED = "********"


class TailscaleError(Exception):
    """A failed ``tailscale`` command; ``str()`` names the command and what it printed (keys redacted)."""

    def __init__(self, message: str, command: list[str] | None = None, rc: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.command = command or []
        self.rc = rc
        self.output = output

    def __str__(self) -> str:
        return self.message


class TailscaleNotInstalled(TailscaleError):
    """No ``tailscale`` binary."""


class TailscaledNotRunning(TailscaleError):
    """The CLI could not reach tailscaled over its socket."""


# ---------------------------------------------------------------------------------------------- pure


def normalize_url(url: str | None) -> str | None:
    """A control URL in a comparable form: lower-case scheme and host, no default port, no trailing slash.

    Empty or None gives None (a node whose ControlURL was never set uses DEFAULT_CONTROL_URL).
    """
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return url.rstrip("/")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a number: keep what was written
        netloc = parts.netloc.lower()
    else:
        netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
        if parts.username or parts.password:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def same_control_url(current: str | None, wanted: str | None) -> bool:
    """Whether two control URLs name the same server (after normalize_url; empty is Tailscale's default)."""
    a = normalize_url(current) or DEFAULT_CONTROL_URL
    b = normalize_url(wanted) or DEFAULT_CONTROL_URL
    if a == b:
        return True
    return a in LOGIN_SERVER_SYNONYMS and b in LOGIN_SERVER_SYNONYMS


def canonical_route(route: str) -> str:
    """``route`` as a canonical CIDR (host bits cleared, IPv6 compressed, a bare address as /32 or /128).

    Raises ValueError for anything that is not an IP network.
    """
    text = str(route).strip()
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as exc:
        raise ValueError(f"{route!r} is not an IP address or CIDR prefix") from exc


def _route_key(route: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(route, strict=False)
    return network.version, int(network.network_address), network.prefixlen


def normalize_routes(routes: list[str] | None) -> list[str]:
    """Canonical, de-duplicated, sorted (IPv4 first, by address, then prefix length)."""
    return sorted({canonical_route(route) for route in routes or []}, key=_route_key)


def split_exit_routes(routes: list[str] | None) -> tuple[list[str], bool]:
    """(routes without 0.0.0.0/0 and ::/0, whether both were there: the node advertises an exit node).

    Tailscale's Prefs.AdvertisesExitNode needs both default routes; one of them alone is kept as a route.
    """
    normalized = normalize_routes(routes)
    exit_node = all(route in normalized for route in EXIT_ROUTES)
    if exit_node:
        normalized = [route for route in normalized if route not in EXIT_ROUTES]
    return normalized, exit_node


def normalize_tags(tags: list[str] | None) -> list[str]:
    """Sorted, de-duplicated; a tag without a colon gets the ``tag:`` prefix (as newer tailscale up does itself)."""
    result = set()
    for tag in tags or []:
        tag = str(tag).strip()
        if tag:
            result.add(tag if ":" in tag else f"tag:{tag}")
    return sorted(result)


def netfilter_mode_name(value: Any) -> str | None:
    """Prefs.NetfilterMode (an integer in JSON) as the --netfilter-mode word."""
    if isinstance(value, str):
        return value if value in NETFILTER_MODES.values() else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return NETFILTER_MODES.get(value)


def exit_node_in_use(raw: dict[str, Any], status: dict[str, Any] | None) -> str:
    """The tailnet IPv4 (else IPv6) address of the exit node the prefs select, "" for none.

    ``tailscale set --exit-node`` stores an IP, which tailscaled turns into the node's stable ID once its netmap
    has it; the ID is mapped back to an address through ``status`` (its peers, or ExitNodeStatus).
    """
    if raw.get("ExitNodeIP"):
        return str(raw["ExitNodeIP"])
    node_id = raw.get("ExitNodeID")
    if not node_id:
        return ""
    status = status or {}
    candidates = [
        peer for peer in (status.get("Peer") or {}).values() if isinstance(peer, dict) and peer.get("ID") == node_id
    ]
    exit_status = status.get("ExitNodeStatus") or {}
    if exit_status.get("ID") == node_id:
        candidates.append({"TailscaleIPs": [ip.split("/")[0] for ip in exit_status.get("TailscaleIPs") or []]})
    for peer in candidates:
        ips = _ips(peer.get("TailscaleIPs"))
        for ip in sorted(ips, key=lambda ip: ":" in ip):
            return ip
    return f"id:{node_id}"


def resolve_exit_node(wanted: str, status: dict[str, Any] | None) -> str | None:
    """The address of the peer ``wanted`` names (an address, a host name or a MagicDNS base name), or None."""
    if not wanted:
        return ""
    try:
        return str(ipaddress.ip_address(wanted))
    except ValueError:
        pass
    name = wanted.lower().rstrip(".")
    for peer in ((status or {}).get("Peer") or {}).values():
        if not isinstance(peer, dict):
            continue
        dns_name = (peer.get("DNSName") or "").lower().rstrip(".")
        names = {(peer.get("HostName") or "").lower(), dns_name, dns_name.split(".")[0]} - {""}
        if name in names:
            ips = sorted(_ips(peer.get("TailscaleIPs")), key=lambda ip: ":" in ip)
            return ips[0] if ips else None
    return None


def offers_exit_node(address: str, status: dict[str, Any] | None) -> bool:
    """Whether the peer with tailnet address ``address`` offers this node an exit node (``ExitNodeOption``:
    its exit routes are approved and this node may use them)."""
    for peer in ((status or {}).get("Peer") or {}).values():
        if isinstance(peer, dict) and address in _ips(peer.get("TailscaleIPs")):
            return bool(peer.get("ExitNodeOption"))
    return False


def normalize_prefs(raw: dict[str, Any] | None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    """The managed subset of ``tailscale debug prefs`` with this collection's names (``status`` names the exit node)."""
    raw = raw or {}
    routes, exit_node = split_exit_routes(raw.get("AdvertiseRoutes"))
    return {
        "control_url": normalize_url(raw.get("ControlURL")),
        "want_running": bool(raw.get("WantRunning")),
        "logged_out": bool(raw.get("LoggedOut")),
        "accept_routes": bool(raw.get("RouteAll")),
        "accept_dns": bool(raw.get("CorpDNS")),
        "ssh": bool(raw.get("RunSSH")),
        "hostname": raw.get("Hostname") or "",
        "advertise_routes": routes,
        "advertise_exit_node": exit_node,
        "advertise_tags": normalize_tags(raw.get("AdvertiseTags")),
        "netfilter_mode": netfilter_mode_name(raw.get("NetfilterMode")),
        "shields_up": bool(raw.get("ShieldsUp")),
        "exit_node_id": raw.get("ExitNodeID") or None,
        "exit_node_ip": raw.get("ExitNodeIP") or None,
        "exit_node": exit_node_in_use(raw, status),
        "exit_node_allow_lan_access": bool(raw.get("ExitNodeAllowLANAccess")),
        "snat_subnet_routes": not raw.get("NoSNAT"),
        # an opt.Bool: "true", "false" or absent; absent means no stateful filtering (ipn/prefs.go)
        "stateful_filtering": str(raw.get("NoStatefulFiltering", "")).lower() == "false",
        "operator": raw.get("OperatorUser") or "",
        "auto_update": (raw.get("AutoUpdate") or {}).get("Apply") is True,
        "relay_server_port": "" if raw.get("RelayServerPort") is None else str(raw.get("RelayServerPort")),
    }


def has_login(prefs_raw: dict[str, Any] | None) -> bool:
    """Whether the prefs carry a login (persist.Persist, JSON key ``Config``) that was not logged out."""
    prefs_raw = prefs_raw or {}
    if prefs_raw.get("LoggedOut"):
        return False
    persist = prefs_raw.get("Config") or {}
    profile = persist.get("UserProfile") or {}
    return bool(profile.get("LoginName") or persist.get("NodeID"))


def is_logged_in(status: dict[str, Any] | None, prefs_raw: dict[str, Any] | None) -> bool:
    """Whether the node holds a valid login (running or stopped with ``tailscale down``).

    NeedsLogin/NoState (never enrolled, logged out, node key expired) and LoggedOut prefs are not logged
    in; Stopped is logged in only when the prefs still carry a login; Starting, Running and
    NeedsMachineAuth are.
    """
    state = (status or {}).get("BackendState") or ""
    if (prefs_raw or {}).get("LoggedOut") or state in NOT_LOGGED_IN_STATES:
        return False
    if state == "Stopped":
        return has_login(prefs_raw)
    return True


def _ips(value: Any) -> list[str]:
    return [str(ip) for ip in value or []]


def self_summary(status: dict[str, Any] | None) -> dict[str, Any]:
    """node_id, tailscale_ips, hostname, dns_name, online of ``Self`` (empty values as None/[])."""
    status = status or {}
    me = status.get("Self") or {}
    return {
        "node_id": me.get("ID") or None,
        "tailscale_ips": _ips(status.get("TailscaleIPs") or me.get("TailscaleIPs")),
        "hostname": me.get("HostName") or None,
        "dns_name": me.get("DNSName") or None,
        "online": bool(me.get("Online")),
    }


def tailnet_summary(status: dict[str, Any] | None) -> dict[str, Any] | None:
    tailnet = (status or {}).get("CurrentTailnet")
    if not tailnet:
        return None
    return {
        "name": tailnet.get("Name") or None,
        "magic_dns_suffix": tailnet.get("MagicDNSSuffix") or None,
        "magic_dns_enabled": bool(tailnet.get("MagicDNSEnabled")),
    }


def normalize_peer(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": raw.get("ID") or None,
        "hostname": raw.get("HostName") or None,
        "dns_name": raw.get("DNSName") or None,
        "os": raw.get("OS") or None,
        "tailscale_ips": _ips(raw.get("TailscaleIPs")),
        "online": bool(raw.get("Online")),
        "active": bool(raw.get("Active")),
        "tags": list(raw.get("Tags") or []),
        "primary_routes": list(raw.get("PrimaryRoutes") or []),
        "exit_node": bool(raw.get("ExitNode")),
        "exit_node_option": bool(raw.get("ExitNodeOption")),
        "relay": raw.get("Relay") or None,
        "cur_addr": raw.get("CurAddr") or None,
    }


def peers(status: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The peers of ``status`` (a map keyed by node key) as a list sorted by hostname, then id."""
    raw = (status or {}).get("Peer") or {}
    result = [normalize_peer(peer) for peer in raw.values() if isinstance(peer, dict)]
    return sorted(result, key=lambda peer: (peer["hostname"] or "", peer["id"] or ""))


def desired_prefs(
    accept_routes: bool | None = None,
    accept_dns: bool | None = None,
    ssh: bool | None = None,
    hostname: str | None = None,
    advertise_routes: list[str] | None = None,
    advertise_exit_node: bool | None = None,
    advertise_tags: list[str] | None = None,
    netfilter_mode: str | None = None,
    shields_up: bool | None = None,
    exit_node: str | None = None,
    exit_node_allow_lan_access: bool | None = None,
    snat_subnet_routes: bool | None = None,
    stateful_filtering: bool | None = None,
    operator: str | None = None,
    auto_update: bool | None = None,
    relay_server_port: str | int | None = None,
) -> dict[str, Any]:
    """The wanted settings, normalised like normalize_prefs(); None (not managed) is left out.

    Raises ValueError for a bad route, a default route in advertise_routes, or a bad netfilter mode.
    """
    wanted: dict[str, Any] = {}
    for key, value in (
        ("accept_routes", accept_routes),
        ("accept_dns", accept_dns),
        ("ssh", ssh),
        ("advertise_exit_node", advertise_exit_node),
        ("shields_up", shields_up),
        ("exit_node_allow_lan_access", exit_node_allow_lan_access),
        ("snat_subnet_routes", snat_subnet_routes),
        ("stateful_filtering", stateful_filtering),
        ("auto_update", auto_update),
    ):
        if value is not None:
            wanted[key] = bool(value)
    if hostname is not None:
        wanted["hostname"] = hostname.strip()
    if advertise_routes is not None:
        routes = normalize_routes(advertise_routes)
        defaults = [route for route in routes if route in EXIT_ROUTES]
        if defaults:
            raise ValueError(
                f"advertise_routes holds {', '.join(defaults)}: use advertise_exit_node to offer this node as an exit node"
            )
        wanted["advertise_routes"] = routes
    if advertise_tags is not None:
        tags = normalize_tags(advertise_tags)
        bad = [tag for tag in tags if not tag.startswith("tag:")]
        if bad:
            raise ValueError(f"advertise_tags must start with 'tag:': {', '.join(bad)}")
        wanted["advertise_tags"] = tags
    if netfilter_mode is not None:
        if netfilter_mode not in NETFILTER_MODES.values():
            raise ValueError(f"netfilter_mode must be one of on, nodivert, off, not {netfilter_mode!r}")
        wanted["netfilter_mode"] = netfilter_mode
    if exit_node is not None:
        # an address or a peer's name; the caller resolves a name to an address (resolve_exit_node)
        if exit_node.strip() != exit_node or any(c.isspace() or c in ",=" for c in exit_node):
            raise ValueError(f"exit_node must be a tailnet address or a peer's name, not {exit_node!r}")
        wanted["exit_node"] = exit_node
    if relay_server_port is not None:
        port = str(relay_server_port).strip()
        if port and not (port.isdigit() and 0 <= int(port) <= 65535):
            raise ValueError(
                f"relay_server_port must be a UDP port (0 picks a free one) or empty for no peer relay, not {relay_server_port!r}"
            )
        wanted["relay_server_port"] = str(int(port)) if port else ""
    if operator is not None:
        if operator and not _OPERATOR_RE.fullmatch(operator):
            raise ValueError(f"operator must be a local user name (or empty for none), not {operator!r}")
        wanted["operator"] = operator
    return wanted


def differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The keys of ``wanted`` that ``tailscale set`` can change and whose value differs from ``current``.

    Tags are not among them (``tailscale set`` has no --advertise-tags); see tags_differ().
    """
    return [key for key in SET_FLAGS if key in wanted and current.get(key) != wanted[key]]


def tags_differ(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return "advertise_tags" in wanted and current.get("advertise_tags", []) != wanted["advertise_tags"]


def apply_wanted(current: dict[str, Any], wanted: dict[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    """``current`` with the wanted values of ``keys`` (default: every settable key) applied."""
    after = dict(current)
    for key in differences(current, wanted) if keys is None else keys:
        after[key] = wanted[key]
    return after


def enrolled_prefs(login_server: str, wanted: dict[str, Any]) -> dict[str, Any]:
    """The prefs ``tailscale up --reset`` with the wanted settings leaves (Linux defaults for the rest)."""
    after = normalize_prefs({"ControlURL": login_server, "WantRunning": True, "CorpDNS": True, "NetfilterMode": 2})
    for key, value in wanted.items():
        after[key] = value
    return after


def _flag(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"--{name}={'true' if value else 'false'}"
    if isinstance(value, list):
        return f"--{name}={','.join(value)}"
    return f"--{name}={value}"


def set_arguments(wanted: dict[str, Any], keys: list[str]) -> list[str]:
    """``tailscale set`` arguments that change ``keys`` to their wanted values (in SET_FLAGS order)."""
    return ["set"] + [_flag(SET_FLAGS[key], wanted[key]) for key in SET_FLAGS if key in keys]


def up_arguments(
    login_server: str,
    wanted: dict[str, Any],
    auth_key_arg: str | None,
    timeout: int,
    force_reauth: bool = False,
) -> list[str]:
    """``tailscale up --reset`` with every wanted setting (unmanaged ones go back to their defaults).

    ``tailscale up`` has no --auto-update or --relay-server-port: POST_ENROLL_KEYS are set right after it.

    ``auth_key_arg`` is what --auth-key gets (``file:PATH`` keeps the key off the command line).
    """
    args = ["up", "--reset", f"--login-server={login_server}"]
    if auth_key_arg:
        args.append(f"--auth-key={auth_key_arg}")
    if force_reauth:
        args.append("--force-reauth")
    if wanted.get("hostname"):
        args.append(_flag("hostname", wanted["hostname"]))
    if wanted.get("advertise_tags"):
        args.append(_flag("advertise-tags", wanted["advertise_tags"]))
    if wanted.get("advertise_routes"):
        args.append(_flag("advertise-routes", wanted["advertise_routes"]))
    if wanted.get("advertise_exit_node"):
        args.append("--advertise-exit-node")
    # The exit node is left to a `tailscale set` after the enrolment: before it the node has no peers to pick from.
    for key in (
        "accept_routes",
        "accept_dns",
        "ssh",
        "shields_up",
        "netfilter_mode",
        "exit_node_allow_lan_access",
        "snat_subnet_routes",
        "stateful_filtering",
        "operator",
    ):
        if key in wanted:
            args.append(_flag(SET_FLAGS[key], wanted[key]))
    args.append(f"--timeout={int(timeout)}s")
    return args


def redact(text: Any, secrets: Sequence[str | None]) -> Any:
    """``text`` (a string, or a list of strings) with every secret replaced by ********."""
    if isinstance(text, list):
        return [redact(item, secrets) for item in text]
    if not isinstance(text, str):
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def cli_warnings(output: str) -> list[str]:
    """The ``Warning: ...`` lines the CLI prints (warnf) in ``output``."""
    return [
        line.strip()[len("Warning:") :].strip() for line in output.splitlines() if line.strip().startswith("Warning:")
    ]


def is_not_running(text: str) -> bool:
    return bool(_NOT_RUNNING_RE.search(text or ""))


def parse_json(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise TailscaleError(f"{what} did not print JSON ({exc}): {text.strip()[:300]}") from exc
    if not isinstance(value, dict):
        raise TailscaleError(f"{what} printed {type(value).__name__}, not a JSON object")
    return value


# ---------------------------------------------------------------------------------------------- CLI

Runner = Callable[[list[str], float], "tuple[int, str, str]"]


def module_runner(module: Any) -> Runner:
    """A Runner over the module's run_command, time-limited by coreutils' timeout (rc 124 when it fires, also
    when the kill after it does; 127 when the binary is missing), in the C locale, with standard input from
    /dev/null, so tailscale asks no questions."""

    def run(argv: list[str], timeout: float) -> tuple[int, str, str]:
        # Standard input from /dev/null (never the terminal a non-pipelined connection gives the module), so a
        # question tailscale asks gets no answer at once instead of stopping it until the time limit.
        limited = ["sh", "-c", 'exec "$@" </dev/null', "sh", "timeout", "--kill-after=10", f"{timeout:g}", *argv]
        rc, out, err = module.run_command(
            limited, environ_update={"LC_ALL": "C", "LANG": "C"}, expand_user_and_vars=False
        )
        if rc in (124, 137):  # the time limit, then the kill 10 s after it
            rc, err = 124, f"{err}\n(timed out after {timeout:.0f} s)".strip()
        return rc, out, err

    return run


def find_binary(binary: str | None, get_bin_path: Callable[..., str | None] | None = None) -> str | None:
    """An executable path: ``binary`` when it contains a slash, else looked up on PATH and SEARCH_DIRS."""
    name = binary or "tailscale"
    if "/" in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    if get_bin_path is not None:
        found = get_bin_path(name, opt_dirs=SEARCH_DIRS)
        if found:
            return found
    for directory in os.environ.get("PATH", "").split(os.pathsep) + SEARCH_DIRS:
        path = os.path.join(directory, name)
        if directory and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


class TailscaleCLI:
    """``tailscale [--socket S] ...``; every error it raises has the secrets redacted."""

    def __init__(
        self,
        binary: str,
        socket: str | None = None,
        runner: Runner | None = None,
        secrets: list[str] | None = None,
        timeout: float = 60,
        module: Any = None,
    ) -> None:
        """Commands go through `runner`, or the `module`'s run_command (module_runner)."""
        if runner is None and module is None:
            raise ValueError("TailscaleCLI needs a runner or a module")
        self.binary = binary
        self.socket = socket
        self.runner = runner or module_runner(module)
        self.secrets = [secret for secret in secrets or [] if secret]
        self.timeout = timeout
        self.commands: list[list[str]] = []

    def argv(self, args: list[str]) -> list[str]:
        prefix = [self.binary]
        if self.socket:
            prefix.append(f"--socket={self.socket}")
        return prefix + list(args)

    def display(self, argv: list[str]) -> str:
        return redact(" ".join(argv), self.secrets)

    def run(self, args: list[str], timeout: float | None = None, check: bool = True) -> tuple[int, str, str]:
        argv = self.argv(args)
        self.commands.append(redact(argv, self.secrets))
        rc, out, err = self.runner(argv, self.timeout if timeout is None else timeout)
        out, err = redact(out or "", self.secrets), redact(err or "", self.secrets)
        if check and rc != 0:
            raise self.error(argv, rc, out, err)
        return rc, out, err

    def error(self, argv: list[str], rc: int, out: str, err: str) -> TailscaleError:
        said = "\n".join(part.strip() for part in (err, out) if part and part.strip())
        message = f"`{self.display(argv)}` failed (rc {rc})" + (f": {said}" if said else "")
        if rc == 127 and not os.path.exists(self.binary):
            return TailscaleNotInstalled(f"{self.binary} not found", argv, rc, said)
        if is_not_running(said):
            where = f" on socket {self.socket}" if self.socket else ""
            return TailscaledNotRunning(
                f"tailscaled is not running (or not reachable{where}): {said}", redact(argv, self.secrets), rc, said
            )
        return TailscaleError(message, redact(argv, self.secrets), rc, said)

    def status(self) -> dict[str, Any]:
        out = self.run(["status", "--json"])[1]
        return parse_json(out, "tailscale status --json")

    def prefs(self) -> dict[str, Any]:
        out = self.run(["debug", "prefs"])[1]
        return parse_json(out, "tailscale debug prefs")

    def read(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(status, prefs) of the node."""
        return self.status(), self.prefs()
