#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_info
short_description: Read a host's WireGuard interfaces and peers, without their keys
version_added: 0.1.0
description:
  - Reads the WireGuard interfaces of the managed node as C(wg show) and C(ip -j addr show) report them, live
    (not from the configuration files), each interface's public key, listen port, fwmark, addresses, MTU and
    link state, and its peers with endpoints, AllowedIPs, latest handshakes and their age, transfer counters
    and keepalive.
  - Never returns a private or preshared key. It reads only the secret-free C(wg show all FIELD) tables
    (never C(private-key), C(dump) or C(showconf)); C(preshared-keys) is reduced to whether a peer has one
    while it is parsed, so RV(interfaces[].peers[].preshared_key) is a boolean. The result is safe to register
    and print at any verbosity.
  - Changes nothing. Needs C(wg) (wireguard-tools) and C(ip) (iproute2) on the node, and root (C(become)) to
    read the interfaces.
options:
  interfaces:
    description:
      - The interfaces to read, by name. Empty (the default) reads every WireGuard interface on the node.
      - A name that is not a WireGuard interface there fails the module, naming it, unless O(missing_ok) is set;
        then it is listed in RV(missing).
    type: list
    elements: str
    default: []
  binary:
    description:
      - The C(wg) CLI, a path or a name looked up on E(PATH) and in C(/usr/local/bin), C(/usr/bin),
        C(/usr/local/sbin) and C(/usr/sbin).
    type: str
    default: wg
  missing_ok:
    description:
      - When C(wg) is not installed, return RV(installed) false and no interfaces instead of failing; when an
        interface of O(interfaces) does not exist, list it in RV(missing) instead of failing.
      - For reports over hosts that may not be converged yet, or whose tunnel may be down.
    type: bool
    default: false
author:
  - wgops.fleet maintainers (@wgops)
extends_documentation_fragment:
  - wgops.fleet.attributes
  - wgops.fleet.attributes.info_module
seealso:
  - module: wgops.fleet.wireguard_keypair
  - name: wg(8)
    description: The C(wg show) tables this module reads.
    link: https://git.zx2c4.com/wireguard-tools/about/src/man/wg.8
"""

EXAMPLES = r"""
- name: Read every WireGuard interface of the host
  wgops.fleet.wireguard_info:
  register: wg

- name: Peers that never completed a handshake on wg0
  ansible.builtin.debug:
    msg: "{{ (wg.interfaces | selectattr('name', '==', 'wg0') | first).peers | rejectattr('latest_handshake') | map(attribute='public_key') | list }}"

- name: Read wg0 where the tunnel may be down or WireGuard not installed yet
  wgops.fleet.wireguard_info:
    interfaces: [wg0]
    missing_ok: true
  register: wg0

- name: Report it
  ansible.builtin.debug:
    msg: "{{ 'wg0 is not up' if wg0.missing or not wg0.interfaces[0].up else wg0.interfaces[0].peers | length ~ ' peers' }}"
"""

RETURN = r"""
installed:
  description: Whether C(wg) was found (false only with O(missing_ok)).
  returned: always
  type: bool
missing:
  description: The names of O(interfaces) that are not WireGuard interfaces on the host (only with O(missing_ok)).
  returned: always
  type: list
  elements: str
  sample: [wg1]
interfaces:
  description: The interfaces read, in the order of O(interfaces) (all of them sorted by name when it is empty).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The interface name.
      type: str
      sample: wg0
    public_key:
      description: The interface's public key; null when it has no private key set.
      type: str
      sample: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
    listen_port:
      description: The UDP port it listens on (0 when it does not listen).
      type: int
      sample: 51820
    fwmark:
      description: The fwmark on its outgoing packets; null when off.
      type: int
      sample: 51820
    addresses:
      description: Its addresses as C(ip -j addr show) reports them, each with address, prefixlen, family (C(inet) or
        C(inet6)) and scope (C(global), C(link), ...).
      type: list
      elements: dict
      sample: [{address: 10.90.0.1, prefixlen: 24, family: inet, scope: global}]
    mtu:
      description: The link MTU.
      type: int
      sample: 1420
    up:
      description: Whether the link is administratively up (C(UP) among its flags).
      type: bool
    peers:
      description:
        - The peers, sorted by public key. A peer added or removed while the module reads is left out.
      type: list
      elements: dict
      contains:
        public_key:
          description: The peer's public key.
          type: str
        endpoint:
          description: The peer's current endpoint (C(host:port), IPv6 in brackets); null when it has none yet.
          type: str
          sample: 192.0.2.10:51820
        allowed_ips:
          description: The prefixes routed to the peer, as wg prints them.
          type: list
          elements: str
          sample: [10.90.0.2/32, fd90::2/128]
        latest_handshake:
          description: When the latest handshake completed, in seconds since the epoch; null when never.
          type: int
          sample: 1795424390
        handshake_age:
          description: Seconds since the latest handshake by the host's clock; null when never.
          type: int
          sample: 10
        rx_bytes:
          description: Bytes received from the peer.
          type: int
        tx_bytes:
          description: Bytes sent to the peer.
          type: int
        persistent_keepalive:
          description: The keepalive interval in seconds; null when off.
          type: int
          sample: 25
        preshared_key:
          description: Whether the peer has a preshared key (never the key).
          type: bool
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._tailscale.cli import SEARCH_DIRS, find_binary
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.show import (
    FIELDS,
    WireGuardShowError,
    interface_record,
    parse_field,
    parse_interface_names,
    parse_ip_addr,
)


def _run(module: AnsibleModule, argv: list[str]) -> str:
    """stdout of ``argv``; on failure only its stderr is shown (wg prints no key there)."""
    rc, out, err = module.run_command(argv)
    if rc != 0:
        denied = "not permitted" in err or "Permission denied" in err
        hint = "; run it as root (become)" if denied else ""
        module.fail_json(msg=f"{' '.join(argv)} failed (rc {rc}): {err.strip() or 'no message'}{hint}", rc=rc)
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "interfaces": {"type": "list", "elements": "str", "default": []},
            "binary": {"type": "str", "default": "wg"},
            "missing_ok": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    requested = list(dict.fromkeys(module.params["interfaces"]))
    missing_ok = module.params["missing_ok"]
    wg = find_binary(module.params["binary"], module.get_bin_path)  # a path, or a name on PATH and SEARCH_DIRS
    if wg is None:
        if missing_ok:
            module.exit_json(changed=False, installed=False, interfaces=[], missing=requested)
        module.fail_json(
            msg=f"{module.params['binary']} (wireguard-tools) is not installed on this host: install wireguard-tools, "
            "or set missing_ok to report no interfaces",
            installed=False,
        )
    ip = module.get_bin_path("ip", opt_dirs=SEARCH_DIRS)
    if ip is None:
        module.fail_json(msg="ip (iproute2) is not installed on this host: install iproute2", installed=True)

    present = parse_interface_names(_run(module, [wg, "show", "interfaces"]))
    names = [name for name in requested if name in present] if requested else sorted(present)
    fields = {}
    try:
        if names:
            for field in FIELDS:
                fields[field] = parse_field(field, _run(module, [wg, "show", "all", field]))
        now = time.time()
        records = []
        for name in names:
            record = interface_record(name, fields, now)
            rc, out, _err = module.run_command([ip, "-j", "addr", "show", "dev", name])
            link = parse_ip_addr(out, name) if rc == 0 else None
            if record is not None and link is not None:  # else it vanished while being read
                records.append({**record, **link})
    except WireGuardShowError as exc:
        module.fail_json(msg=str(exc), installed=True)
    found = {record["name"] for record in records}
    missing = [name for name in requested if name not in found]
    if missing and not missing_ok:
        module.fail_json(
            msg=f"no WireGuard interface {', '.join(missing)} on this host "
            f"(it has {', '.join(sorted(present)) or 'none'}); set missing_ok to report it in missing instead",
            installed=True,
            missing=missing,
        )
    module.exit_json(changed=False, installed=True, interfaces=records, missing=missing)


if __name__ == "__main__":
    main()
