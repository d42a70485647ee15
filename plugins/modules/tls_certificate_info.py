#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tls_certificate_info
short_description: Read the expiry of the certificate a TLS server serves
version_added: 0.2.0
description:
  - Connects to O(host):O(port) from the managed node, completes a TLS handshake with O(server_name) as SNI and
    reads the certificate the server presents, whatever file or ACME cache it comes from; returns when it
    expires and how many days are left.
  - The certificate is not verified (an expired or self-signed one is what this is for). Changes nothing.
  - Needs the C(openssl) CLI on the node to read the certificate's dates.
options:
  host:
    description: The address to connect to.
    type: str
    default: 127.0.0.1
  port:
    description: The TLS port.
    type: int
    required: true
  server_name:
    description: The name sent as SNI (servers with several certificates choose by it).
    type: str
    required: true
  timeout:
    description: Seconds to wait for the connection and the handshake.
    type: int
    default: 10
author:
  - wgops.fleet maintainers (@wgops)
extends_documentation_fragment:
  - wgops.fleet.attributes
  - wgops.fleet.attributes.info_module
"""

EXAMPLES = r"""
- name: Read the certificate Headscale serves
  wgops.fleet.tls_certificate_info:
    port: 443
    server_name: hs.example.net
  register: cert

- name: Fail three weeks before it expires
  ansible.builtin.assert:
    that: cert.days_left >= 21
    fail_msg: "{{ inventory_hostname }}: the certificate expires on {{ cert.not_after }}"
"""

RETURN = r"""
not_after:
  description: When the certificate expires, UTC, ISO 8601.
  returned: always
  type: str
  sample: "2027-12-07T12:00:00Z"
days_left:
  description: Whole days until then (negative once it has expired).
  returned: always
  type: int
  sample: 364
subject:
  description: The certificate's subject, as openssl prints it.
  returned: always
  type: str
  sample: CN=hs.example.net
"""

import socket
import ssl
import time

from ansible.module_utils.basic import AnsibleModule


def served_certificate(host: str, port: int, server_name: str, timeout: int) -> bytes:
    """The DER certificate the server presents (not verified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return der


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "required": True},
            "server_name": {"type": "str", "required": True},
            "timeout": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    p = module.params
    openssl = module.get_bin_path("openssl", required=True)
    try:
        der = served_certificate(p["host"], p["port"], p["server_name"], p["timeout"])
    except (OSError, ssl.SSLError) as exc:
        module.fail_json(msg=f"no TLS certificate from {p['host']}:{p['port']} (SNI {p['server_name']}): {exc}")
    rc, out, err = module.run_command(
        [openssl, "x509", "-inform", "DER", "-noout", "-enddate", "-subject", "-nameopt", "RFC2253"],
        data=der,
        binary_data=True,
    )
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if rc != 0 or "notAfter" not in values:
        module.fail_json(msg=f"openssl could not read the certificate: {(err or out).strip()}")
    expires = int(ssl.cert_time_to_seconds(values["notAfter"].strip()))
    module.exit_json(
        changed=False,
        not_after=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
        days_left=(expires - int(time.time())) // 86400,
        subject=values.get("subject", "").strip(),
    )


if __name__ == "__main__":
    main()
