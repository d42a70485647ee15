#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tailscale_info
short_description: Read a node's Tailscale state, settings and peers
version_added: 0.1.0
description:
  - Reads C(tailscale status --json) and C(tailscale debug prefs) on the managed node and returns whether it is
    logged in, to which control server, its node ID and addresses, its settings and its peers.
  - Changes nothing. Needs the C(tailscale) CLI and a running C(tailscaled) on the node.
options:
  socket:
    description:
      - The tailscaled socket (C(tailscale --socket)). Leave unset for the default one.
    type: path
  binary:
    description:
      - The C(tailscale) CLI, a path or a name looked up on E(PATH) and in C(/usr/local/bin), C(/usr/bin), C(/usr/sbin).
    type: str
    default: tailscale
  missing_ok:
    description:
      - When the CLI is missing or tailscaled does not answer, return RV(installed)/RV(running) false instead of failing.
    type: bool
    default: false
  login_server:
    description:
      - A control server URL to compare RV(control_url) with, the way C(tailscale up) does (scheme and host
        lowercased, default ports and trailing slashes dropped; Tailscale's own synonyms are one server).
      - The answer is RV(on_login_server).
    type: str
    version_added: 0.2.0
author:
  - wgops.fleet maintainers (@wgops)
extends_documentation_fragment:
  - wgops.fleet.attributes
  - wgops.fleet.attributes.info_module
seealso:
  - module: wgops.fleet.tailscale_up
"""

EXAMPLES = r"""
- name: Read the node's Tailscale state
  wgops.fleet.tailscale_info:
  register: ts

- name: Show its Headscale node ID
  ansible.builtin.debug:
    msg: "{{ ts.node_id }} {{ ts.tailscale_ips }}"
  when: ts.logged_in

- name: Tolerate nodes without Tailscale
  wgops.fleet.tailscale_info:
    missing_ok: true
  register: ts
"""

RETURN = r"""
installed:
  description: Whether the C(tailscale) CLI was found.
  returned: always
  type: bool
running:
  description: Whether tailscaled answered.
  returned: always
  type: bool
version:
  description: The tailscaled version.
  returned: when running
  type: str
  sample: 1.104.5-t...
backend_state:
  description: C(NoState), C(NeedsLogin), C(NeedsMachineAuth), C(Stopped), C(Starting) or C(Running).
  returned: when running
  type: str
  sample: Running
logged_in:
  description:
    - Whether the node holds a login (C(Running), C(Starting), or C(Stopped) by C(tailscale down) after a login).
    - False for C(NeedsLogin)/C(NoState) and after C(tailscale logout).
  returned: when running
  type: bool
control_url:
  description: The control server of the node (normalised; null when never set, which means Tailscale's own).
  returned: when running
  type: str
  sample: https://headscale.example.com
on_login_server:
  description:
    - Whether the node is logged in to O(login_server) (false when it is logged out or on another server).
  returned: when running and O(login_server) is given
  type: bool
  sample: true
node_id:
  description: The node's stable ID (C(Self.ID)); with Headscale the node's numeric ID as a string. Null when not enrolled.
  returned: when running
  type: str
  sample: "7"
tailscale_ips:
  description: The node's Tailscale addresses.
  returned: when running
  type: list
  elements: str
  sample: [100.64.0.7, fd7a:115c:a1e0::7]
hostname:
  description: The node's host name as the control server knows it (C(Self.HostName)).
  returned: when running
  type: str
dns_name:
  description: The node's MagicDNS name (with a trailing dot).
  returned: when running
  type: str
online:
  description: Whether the node is connected to the control server.
  returned: when running
  type: bool
tailnet:
  description: C(CurrentTailnet) as name, magic_dns_suffix, magic_dns_enabled; null when not logged in.
  returned: when running
  type: dict
prefs:
  description:
    - The node's settings from C(tailscale debug prefs), normalised (routes canonical and sorted, the exit node
      routes C(0.0.0.0/0) and C(::/0) reported as advertise_exit_node and left out of advertise_routes).
    - Keys control_url, want_running, logged_out, accept_routes, accept_dns, ssh, hostname (empty means the OS
      host name), advertise_routes, advertise_exit_node, advertise_tags, netfilter_mode (on, nodivert, off),
      shields_up, exit_node_id, exit_node_ip, exit_node (the address of the exit node in use, empty for none),
      exit_node_allow_lan_access, snat_subnet_routes, stateful_filtering, operator (empty for none).
  returned: when running
  type: dict
peers:
  description:
    - The peers, sorted by hostname, each with id, hostname, dns_name, os, tailscale_ips, online, active, tags,
      primary_routes, exit_node, exit_node_option, relay (DERP region) and cur_addr (direct address, null when relayed).
  returned: when running
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._tailscale.cli import (
    TailscaleCLI,
    TailscaledNotRunning,
    TailscaleError,
    find_binary,
    is_logged_in,
    normalize_prefs,
    peers,
    same_control_url,
    self_summary,
    tailnet_summary,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path"},
            "binary": {"type": "str", "default": "tailscale"},
            "missing_ok": {"type": "bool", "default": False},
            "login_server": {"type": "str"},
        },
        supports_check_mode=True,
    )
    missing_ok = module.params["missing_ok"]
    binary = find_binary(module.params["binary"], module.get_bin_path)
    if binary is None:
        if missing_ok:
            module.exit_json(changed=False, installed=False, running=False)
        module.fail_json(
            msg=f"the tailscale CLI ({module.params['binary']}) is not installed; install Tailscale first",
            installed=False,
            running=False,
        )
    cli = TailscaleCLI(binary, module.params["socket"], timeout=30, module=module)
    try:
        status, prefs_raw = cli.read()
    except TailscaledNotRunning as exc:
        if missing_ok:
            module.exit_json(changed=False, installed=True, running=False, msg=str(exc))
        module.fail_json(msg=str(exc), installed=True, running=False)
    except TailscaleError as exc:
        module.fail_json(msg=str(exc), installed=True)

    prefs = normalize_prefs(prefs_raw, status)
    logged_in = is_logged_in(status, prefs_raw)
    extra = {}
    if module.params["login_server"] is not None:
        extra["on_login_server"] = logged_in and same_control_url(prefs["control_url"], module.params["login_server"])
    module.exit_json(
        changed=False,
        installed=True,
        running=True,
        version=status.get("Version") or None,
        backend_state=status.get("BackendState") or None,
        logged_in=logged_in,
        control_url=prefs["control_url"],
        tailnet=tailnet_summary(status),
        prefs=prefs,
        peers=peers(status),
        **self_summary(status),
        **extra,
    )


if __name__ == "__main__":
    main()
