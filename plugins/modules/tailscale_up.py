#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tailscale_up
short_description: Enrol a node with a Tailscale control server once, then keep its settings with tailscale set
version_added: 0.1.0
description:
  - Brings the Tailscale client on the managed node to the wanted control server and settings without
    re-authenticating it on every run.
  - A node that is not logged in (never enrolled, logged out, or its node key expired) is enrolled with
    C(tailscale up --reset --login-server ... --auth-key ...) and the wanted settings. Only this needs O(auth_key).
  - A node logged in to O(login_server) is left logged in. Settings that differ are changed with one
    C(tailscale set) naming only those flags (no key, no re-authentication, no
    "requires mentioning all non-default flags" error). A node stopped with C(tailscale down) is started
    again with a bare C(tailscale up), which needs no key either.
  - A node logged in to another control server is refused unless O(allow_server_change) is set.
  - The key is handed to the CLI as C(--auth-key=file:PATH) (a 0600 file in the module's temporary directory,
    removed afterwards), so it is not on the command line; it is also removed from every message the module returns.
options:
  login_server:
    description:
      - The control server URL (C(tailscale up --login-server)), for example a Headscale C(server_url).
      - Compared without a trailing slash and default port, so C(https://hs.example.com/) and
        C(https://hs.example.com:443) are the same server.
    type: str
    required: true
  auth_key:
    description:
      - A pre-auth key, needed only when the node has to be enrolled (see RV(needs_auth)). Leave it unset on runs
        where the node is expected to be enrolled already.
    type: str
  hostname:
    description:
      - The host name the node registers with (C(--hostname)). Unset keeps what the node has (the OS host name on
        enrolment).
    type: str
  advertise_tags:
    description:
      - ACL tags to request when enrolling (C(--advertise-tags)), each C(tag:NAME); a bare C(NAME) gets the C(tag:) prefix.
      - C(tailscale set) cannot change tags. When the node is enrolled and requests other tags, the module warns and
        changes nothing; set the tags server side with M(wgops.fleet.headscale_node) (or enrol with a tagged
        pre-auth key). Unset does not compare tags.
    type: list
    elements: str
  advertise_routes:
    description:
      - Subnet routes to offer (C(--advertise-routes)), as CIDRs. They are compared in canonical form (sorted, host
        bits cleared). An empty list offers none. Use O(advertise_exit_node) for C(0.0.0.0/0) and C(::/0).
      - Unset does not manage the routes once the node is enrolled.
      - Routes still have to be approved on the server (M(wgops.fleet.headscale_node)).
    type: list
    elements: str
  advertise_exit_node:
    description: Offer this node as an exit node (C(--advertise-exit-node)).
    type: bool
    default: false
  accept_routes:
    description: Use the subnet routes other nodes offer (C(--accept-routes)).
    type: bool
    default: false
  accept_dns:
    description: Use the DNS settings of the control server (C(--accept-dns), MagicDNS).
    type: bool
    default: true
  ssh:
    description:
      - Run Tailscale SSH (C(--ssh)).
      - Changing it while Ansible connects over Tailscale would cut the connection; the CLI then refuses and the
        module fails (nothing changed).
    type: bool
    default: false
  netfilter_mode:
    description: The netfilter mode on Linux (C(--netfilter-mode)). Unset leaves it (C(on) on enrolment).
    type: str
    choices: ["on", nodivert, "off"]
  shields_up:
    description: Refuse incoming connections (C(--shields-up)). Unset leaves it (off on enrolment).
    type: bool
  exit_node:
    description:
      - Send internet traffic through this exit node (C(--exit-node)), named by its tailnet address, its host name
        or its MagicDNS base name (a name is resolved to the peer's address first); empty stops using one. Unset
        leaves it.
      - A name no peer of the tailnet has fails the module, naming it. On enrolment it is set right after
        C(tailscale up), once the node knows its peers.
    type: str
    version_added: 0.2.0
  exit_node_allow_lan_access:
    description: While using an exit node, reach the local networks directly (C(--exit-node-allow-lan-access)). Unset leaves it.
    type: bool
    version_added: 0.2.0
  snat_subnet_routes:
    description:
      - Masquerade traffic this node routes into its advertised subnets to its own address (C(--snat-subnet-routes),
        on by default). Off lets the subnets see the tailnet sources (site-to-site), which then need a route back.
        Unset leaves it.
    type: bool
    version_added: 0.2.0
  stateful_filtering:
    description: Apply stateful filtering to forwarded packets (C(--stateful-filtering), off by default). Unset leaves it.
    type: bool
    version_added: 0.2.0
  operator:
    description: The local user allowed to operate tailscaled without root (C(--operator)); empty for none. Unset leaves it.
    type: str
    version_added: 0.2.0
  auto_update:
    description:
      - Let tailscaled update itself (C(--auto-update)). Unset leaves it (off on enrolment).
      - Only installs Tailscale can update (its package repository) support it; others refuse it and the module
        fails with the CLI's message.
    type: bool
    version_added: 0.2.0
  relay_server_port:
    description:
      - Serve as a peer relay on this UDP port (C(--relay-server-port), Tailscale 1.86 and newer; V(0) picks a free
        port); empty for none. Unset leaves it. Peers use it only when the policy grants them C(tailscale.com/cap/relay)
        to this node.
    type: str
    version_added: 0.2.0
  allow_server_change:
    description:
      - When the node is logged in to another control server, log it out (C(tailscale logout), which removes the
        node there) and enrol it with O(login_server) (C(tailscale up --force-reauth)). Needs O(auth_key).
      - Without it such a node is refused, with a message naming both servers.
    type: bool
    default: false
  timeout:
    description:
      - Seconds C(tailscale up) waits for the node to reach the Running state (C(--timeout)).
    type: int
    default: 60
  state:
    description:
      - C(present) enrols (if needed), starts and configures the node.
      - C(absent) logs the node out (C(tailscale logout)); changed only if it was logged in.
    type: str
    choices: [present, absent]
    default: present
  socket:
    description: The tailscaled socket (C(tailscale --socket)). Leave unset for the default one.
    type: path
  binary:
    description:
      - The C(tailscale) CLI, a path or a name looked up on E(PATH) and in C(/usr/local/bin), C(/usr/bin), C(/usr/sbin).
    type: str
    default: tailscale
notes:
  - Needs a running C(tailscaled). Settings not listed here (auto-update, ...) are reset to their defaults on
    enrolment (C(tailscale up --reset)) and left alone afterwards.
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reports what would change without running C(tailscale up), C(set) or C(logout); does not need O(auth_key).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The normalised settings (RV(prefs)) and whether the node is logged in, before and after.
seealso:
  - module: wgops.fleet.tailscale_info
  - module: wgops.fleet.headscale_preauthkey
  - module: wgops.fleet.headscale_node
"""

EXAMPLES = r"""
- name: Is the node enrolled already?
  wgops.fleet.tailscale_info:
    missing_ok: true
  register: ts

- name: Mint a short-lived pre-auth key on the Headscale server, only for nodes that must enrol
  wgops.fleet.headscale_preauthkey:
    user: infra
    expiration: 1h
  delegate_to: "{{ groups['headscale'][0] }}"
  register: key
  when: not ts.logged_in | default(false) or ts.control_url != 'https://hs.example.com'
  no_log: true

- name: Enrol the node once, converge its settings with tailscale set on later runs
  wgops.fleet.tailscale_up:
    login_server: https://hs.example.com
    auth_key: "{{ key.key | default(omit) }}"
    hostname: "{{ inventory_hostname_short }}"
    advertise_routes: [10.20.0.0/16]
    accept_routes: true
    accept_dns: true
  register: ts_up

- name: Move a node to a new control server (logs it out of the old one)
  wgops.fleet.tailscale_up:
    login_server: https://hs-new.example.com
    auth_key: "{{ vault_new_server_key }}"
    allow_server_change: true

- name: Log the node out
  wgops.fleet.tailscale_up:
    login_server: https://hs.example.com
    state: absent
"""

RETURN = r"""
needs_auth:
  description: Whether the node had to be (or, in check mode, would have to be) enrolled, which needs O(auth_key).
  returned: always
  type: bool
action:
  description:
    - What the module did or would do, C(enroll), C(change_server), C(set) (settings changed), C(start) (stopped node
      started), C(set_start), C(logout) or C(none).
  returned: always
  type: str
changed_settings:
  description: The settings C(tailscale set) changed (names as in RV(prefs)).
  returned: always
  type: list
  elements: str
logged_in:
  description: Whether the node is logged in after the module ran (in check mode, would be).
  returned: always
  type: bool
node_id:
  description: The node's stable ID (C(Self.ID)), with Headscale its numeric node ID as a string; null when not enrolled.
  returned: always
  type: str
  sample: "7"
tailscale_ips:
  description: The node's Tailscale addresses.
  returned: always
  type: list
  elements: str
hostname:
  description: The host name as the control server knows it.
  returned: always
  type: str
backend_state:
  description: The backend state after the module ran (C(Running), C(NeedsLogin), ...).
  returned: always
  type: str
control_url:
  description: The node's control server (normalised) after the module ran.
  returned: always
  type: str
prefs:
  description:
    - The normalised settings (as M(wgops.fleet.tailscale_info) returns them) after the module ran; in check mode
      the predicted ones.
  returned: always
  type: dict
commands:
  description: The tailscale commands run, the key file path shown as ********.
  returned: always
  type: list
  elements: list
"""

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._tailscale.cli import (
    POST_ENROLL_KEYS,
    REDACTED,
    TailscaleCLI,
    TailscaleError,
    apply_wanted,
    cli_warnings,
    desired_prefs,
    differences,
    enrolled_prefs,
    find_binary,
    is_logged_in,
    normalize_prefs,
    normalize_url,
    offers_exit_node,
    resolve_exit_node,
    same_control_url,
    self_summary,
    set_arguments,
    tags_differ,
    up_arguments,
)

RECOVERY_WAIT = 10  # seconds a failed enrolment may take to reach Running anyway before `up` is run again
EXIT_NODE_WAIT = 30  # seconds a wanted exit node may take to appear among the node's peers
SETTING_OPTIONS = (
    "accept_routes",
    "accept_dns",
    "ssh",
    "hostname",
    "advertise_routes",
    "advertise_exit_node",
    "advertise_tags",
    "netfilter_mode",
    "shields_up",
    "exit_node",
    "exit_node_allow_lan_access",
    "snat_subnet_routes",
    "stateful_filtering",
    "operator",
    "auto_update",
    "relay_server_port",
)


class Runner:
    """The module's state: the CLI, what was read, the warnings, and how to leave."""

    def __init__(self, module: AnsibleModule, cli: TailscaleCLI) -> None:
        self.module = module
        self.cli = cli
        self.secrets: list[str] = []

    def fail(self, msg: str, **extra: Any) -> NoReturn:
        for secret in self.secrets:
            msg = msg.replace(secret, REDACTED)
        self.module.fail_json(msg=msg, commands=self.cli.commands, **extra)

    def run(self, args: list[str], timeout: float | None = None, recover: Callable[[], bool] | None = None) -> None:
        """Run ``args``; with ``recover``, a "backend error" is first checked with it and then retried once."""
        try:
            try:
                out, err = self.cli.run(args, timeout=timeout)[1:]
            except TailscaleError as exc:
                if recover is None or "backend error:" not in exc.output:
                    raise
                if recover():
                    return
                out, err = self.cli.run(args, timeout=timeout)[1:]
        except TailscaleError as exc:
            msg = str(exc)
            if "aborted, no changes made" in msg:
                msg += (
                    " (the CLI asks for confirmation because this session runs over Tailscale and the change would"
                    " cut it; change it from a connection that does not use Tailscale)"
                )
            self.fail(msg)
        for warning in cli_warnings(out + "\n" + err):
            self.module.warn(f"tailscale {args[0]}: {warning}")

    def read(self) -> tuple[dict, dict]:
        try:
            return self.cli.read()
        except TailscaleError as exc:
            self.fail(str(exc))
        raise AssertionError("unreachable")

    def finish(
        self,
        changed: bool,
        action: str,
        status: dict,
        before: tuple[bool, dict],
        after: tuple[bool, dict],
        **extra,
    ) -> None:
        """Exit with the node read back (in check mode: ``status`` and the predicted (logged_in, prefs) ``after``).

        ``before`` and ``after`` are (logged_in, normalised prefs) pairs.
        """
        module = self.module
        logged_in, prefs = after
        if not module.check_mode and changed:
            status, prefs_raw = self.read()
            logged_in, prefs = is_logged_in(status, prefs_raw), normalize_prefs(prefs_raw, status)
        summary = self_summary(status)
        result = {
            "changed": changed,
            "action": action,
            "logged_in": logged_in,
            "node_id": summary["node_id"],
            "tailscale_ips": summary["tailscale_ips"],
            "hostname": summary["hostname"],
            "backend_state": status.get("BackendState") or None,
            "control_url": prefs["control_url"],
            "prefs": prefs,
            "commands": self.cli.commands,
        }
        result.update(extra)
        if module._diff:
            result["diff"] = {
                "before": dict(before[1], logged_in=before[0]),
                "after": dict(prefs, logged_in=logged_in),
            }
        module.exit_json(**result)


def write_key_file(module: AnsibleModule, key: str) -> str:
    """The key in a 0600 file in the module's temporary directory (handed to the CLI as file:PATH)."""
    fd, path = tempfile.mkstemp(prefix="tskey-", dir=module.tmpdir)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key.strip().encode() + b"\n")
    finally:
        os.close(fd)
    return path


def enroll(runner: Runner, params: dict, wanted: dict, login_server: str, force_reauth: bool) -> None:
    """tailscale [logout +] up --reset ... --auth-key=file:KEYFILE; the key file is removed afterwards."""
    module = runner.module
    path = write_key_file(module, params["auth_key"])
    runner.secrets.append(path)
    runner.cli.secrets.append(path)
    try:
        if force_reauth:
            runner.run(["logout"])
        args = up_arguments(login_server, wanted, f"file:{path}", params["timeout"], force_reauth=force_reauth)
        # After a failed login (a wrong key, say) tailscaled keeps retrying it, and `tailscale up` with a new key
        # can exit at once on that old attempt's "backend error" while its own login goes on and succeeds. So a
        # backend error is checked: the node may reach Running anyway; if not, `up` is run once more.
        runner.run(args, timeout=params["timeout"] + 30, recover=lambda: wait_running(runner, login_server))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def wait_running(runner: Runner, login_server: str) -> bool:
    """Whether the node gets to Running, logged in to ``login_server``, within RECOVERY_WAIT seconds."""
    deadline = time.monotonic() + RECOVERY_WAIT
    while True:
        try:
            status, prefs_raw = runner.cli.read()
        except TailscaleError:
            return False
        prefs = normalize_prefs(prefs_raw)
        if (
            status.get("BackendState") == "Running"
            and is_logged_in(status, prefs_raw)
            and same_control_url(prefs["control_url"], login_server)
        ):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(1)


def use_exit_node(runner: Runner, wanted: dict, status: dict) -> dict:
    """Resolve a wanted exit node named by a peer's name to the peer's address (compared with what is in use).

    The node's view of its peers follows Headscale's with a lag: tags, approvals or a policy changed earlier in
    the same run reach it a moment later. So a name no peer has yet is looked up again for EXIT_NODE_WAIT
    seconds before this fails. Returns the status it resolved against."""
    address = resolve_exit_node(wanted["exit_node"], status)
    deadline = time.monotonic() + EXIT_NODE_WAIT
    while (address is None or not offers_exit_node(address, status)) and time.monotonic() < deadline:
        time.sleep(1)
        status = runner.read()[0]
        address = resolve_exit_node(wanted["exit_node"], status)
    if address is None:
        runner.fail(
            f"exit_node: no peer of this node's tailnet is named {wanted['exit_node']!r} (give its tailnet address,"
            " host name or MagicDNS base name; the node must be allowed to reach it)"
        )
    if not offers_exit_node(address, status):
        runner.fail(
            f"exit_node: the peer {wanted['exit_node']!r} ({address}) offers this node no exit node: its exit routes"
            " must be approved on Headscale and, under an ACL policy, this node needs access to autogroup:internet"
        )
    wanted["exit_node"] = address
    return status


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "login_server": {"type": "str", "required": True},
            "auth_key": {"type": "str", "no_log": True},
            "hostname": {"type": "str"},
            "advertise_tags": {"type": "list", "elements": "str"},
            "advertise_routes": {"type": "list", "elements": "str"},
            "advertise_exit_node": {"type": "bool", "default": False},
            "accept_routes": {"type": "bool", "default": False},
            "accept_dns": {"type": "bool", "default": True},
            "ssh": {"type": "bool", "default": False},
            "netfilter_mode": {"type": "str", "choices": ["on", "nodivert", "off"]},
            "shields_up": {"type": "bool"},
            "exit_node": {"type": "str"},
            "exit_node_allow_lan_access": {"type": "bool"},
            "snat_subnet_routes": {"type": "bool"},
            "stateful_filtering": {"type": "bool"},
            "operator": {"type": "str"},
            "auto_update": {"type": "bool"},
            "relay_server_port": {"type": "str"},
            "allow_server_change": {"type": "bool", "default": False},
            "timeout": {"type": "int", "default": 60},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "socket": {"type": "path"},
            "binary": {"type": "str", "default": "tailscale"},
        },
        supports_check_mode=True,
    )
    params = module.params
    state = params["state"]
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds")
    login_server = normalize_url(params["login_server"])
    if not login_server or not login_server.startswith(("http://", "https://")):
        module.fail_json(msg=f"login_server must be an http:// or https:// URL, not {params['login_server']!r}")

    binary = find_binary(params["binary"], module.get_bin_path)
    if binary is None:
        if state == "absent":
            module.warn(f"the tailscale CLI ({params['binary']}) is not installed: nothing to log out")
            module.exit_json(changed=False, action="none", needs_auth=False, changed_settings=[], commands=[])
        module.fail_json(msg=f"the tailscale CLI ({params['binary']}) is not installed; install Tailscale first")

    cli = TailscaleCLI(
        binary, params["socket"], secrets=[params["auth_key"]], timeout=params["timeout"] + 30, module=module
    )
    runner = Runner(module, cli)
    if params["auth_key"]:
        runner.secrets.append(params["auth_key"])
    try:
        wanted = desired_prefs(**{key: params[key] for key in SETTING_OPTIONS})
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    status, prefs_raw = runner.read()
    current = normalize_prefs(prefs_raw, status)
    logged_in = is_logged_in(status, prefs_raw)

    if state == "absent":
        if not logged_in:
            runner.finish(
                False, "none", status, (False, current), (False, current), needs_auth=False, changed_settings=[]
            )
        if not module.check_mode:
            runner.run(["logout"])
        after = dict(current, logged_out=True, want_running=False)
        runner.finish(True, "logout", status, (True, current), (False, after), needs_auth=False, changed_settings=[])

    other_server = logged_in and not same_control_url(current["control_url"], login_server)
    if other_server and not params["allow_server_change"]:
        runner.fail(
            f"this node is logged in to {current['control_url'] or 'the Tailscale default control server'}, not to"
            f" login_server {login_server}; set tailscale_allow_server_change: true (module option allow_server_change)"
            " to log it out there and enrol it with login_server (needs an auth_key)",
            needs_auth=True,
        )

    if not logged_in or other_server:
        action = "change_server" if other_server else "enroll"
        after = enrolled_prefs(login_server, wanted)
        if not module.check_mode:
            if not params["auth_key"]:
                runner.fail(
                    f"this node is not logged in to {login_server} (backend state"
                    f" {status.get('BackendState') or 'unknown'}) and must be enrolled: auth_key is required"
                    " (a pre-auth key, for example from wgops.fleet.headscale_preauthkey)",
                    needs_auth=True,
                )
            enroll(runner, params, wanted, login_server, force_reauth=other_server)
            if wanted.get("exit_node"):
                # Only now does the node know its peers, and so the exit node.
                status, prefs_raw = runner.read()
                status = use_exit_node(runner, wanted, status)
                runner.run(set_arguments(wanted, ["exit_node"]))
            reset = enrolled_prefs(login_server, {})  # what `tailscale up --reset` leaves them at
            later = [key for key in POST_ENROLL_KEYS if key in wanted and wanted[key] != reset[key]]
            if later:
                runner.run(set_arguments(wanted, later))
        elif wanted.get("exit_node"):
            after["exit_node"] = wanted["exit_node"]
        runner.finish(True, action, status, (logged_in, current), (True, after), needs_auth=True, changed_settings=[])

    if wanted.get("exit_node"):
        status = use_exit_node(runner, wanted, status)

    # Logged in to the wanted server: converge with `tailscale set`, start a stopped node with a bare `up`.
    keys = differences(current, wanted)
    start = not current["want_running"]
    if tags_differ(current, wanted):
        module.warn(
            f"the node requests tags {current['advertise_tags']}, advertise_tags wants {wanted['advertise_tags']}:"
            " tailscale set cannot change tags and this module does not re-authenticate for them; set the node's"
            " tags on the server with wgops.fleet.headscale_node (tags: ...)"
        )
    after = apply_wanted(current, wanted, keys)
    if start:
        after["want_running"] = True
    if not module.check_mode:
        if keys:
            runner.run(set_arguments(wanted, keys))
        if start:
            runner.run(["up"], timeout=params["timeout"])
    action = "set_start" if keys and start else "set" if keys else "start" if start else "none"
    changed = bool(keys) or start
    runner.finish(changed, action, status, (True, current), (True, after), needs_auth=False, changed_settings=keys)


if __name__ == "__main__":
    main()
