#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_qrcode
short_description: Draw a WireGuard client configuration as a QR code PNG
version_added: 0.1.0
description:
  - Reads a client configuration (as written for unmanaged peers by the P(wgops.fleet.wireguard#role) role)
    and writes it as a QR code image that the WireGuard mobile apps can scan.
  - The image encodes the client's private key, so it is written with mode 0600, and nothing of the
    configuration is returned.
  - Runs where the file is, normally the controller. Needs the C(segno) Python package there.
requirements:
  - segno
options:
  src:
    description: The client configuration file.
    type: path
    required: true
  dest:
    description: The PNG to write. Rewritten only when the picture changes.
    type: path
    required: true
  scale:
    description: Pixels per QR module.
    type: int
    default: 4
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: QR code for a phone
  wgops.fleet.wireguard_qrcode:
    src: "{{ inventory_dir }}/.wireguard_clients/phone-alice.conf"
    dest: "{{ inventory_dir }}/.wireguard_clients/phone-alice.png"
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: The PNG written.
  returned: always
  type: str
"""

import io
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import segno

    SEGNO_IMPORT_ERROR = None
except ImportError:
    segno = None  # type: ignore[assignment]
    SEGNO_IMPORT_ERROR = traceback.format_exc()


def render_png(text: str, scale: int) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "scale": {"type": "int", "default": 4},
        },
        supports_check_mode=True,
    )
    if segno is None:
        module.fail_json(msg=missing_required_lib("segno"), exception=SEGNO_IMPORT_ERROR)
    src, dest = module.params["src"], module.params["dest"]
    try:
        with open(src, encoding="utf-8") as handle:
            picture = render_png(handle.read(), module.params["scale"])
    except OSError as exc:
        module.fail_json(msg=f"cannot read {src}: {exc}")
    try:
        with open(dest, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    changed = current != picture
    if changed and not module.check_mode:
        fd = os.open(f"{dest}.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(picture)
        os.replace(f"{dest}.tmp", dest)
    module.exit_json(changed=changed, dest=dest)


if __name__ == "__main__":
    main()
