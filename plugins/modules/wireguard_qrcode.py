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
  - The image encodes the client's private key, so it is written with mode 0600 (a temporary file in the
    directory of O(dest), renamed over it), an existing picture is made 0600 too, and nothing of the
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
    description:
      - The PNG to write. Rewritten only when the picture changes; its mode is made 0600 in any case.
      - Its directory must exist.
    type: path
    required: true
  scale:
    description: Pixels per QR module, 1 or more.
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
import stat
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.wgops.fleet.plugins.module_utils._secret_files import write_secret_file

try:
    import segno

    SEGNO_IMPORT_ERROR = None
except ImportError:
    segno = None  # type: ignore[assignment]
    SEGNO_IMPORT_ERROR = traceback.format_exc()

# The most a QR code holds in byte mode: version 40 at error correction level M (ISO/IEC 18004, table 7).
MAX_BYTES = 2331
MODE = 0o600


def render_png(text: str, scale: int) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def _write(module: AnsibleModule, dest: str, picture: bytes) -> None:
    """A temporary file made 0600 by mkstemp (O_EXCL, a fresh name) next to DEST, then renamed over it."""
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg=f"cannot write {dest}: the directory {directory} does not exist; create it first")
    try:
        write_secret_file(dest, picture)
    except OSError as exc:
        module.fail_json(msg=f"cannot write {dest}: {exc}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "scale": {"type": "int", "default": 4},
        },
        supports_check_mode=True,
    )
    if module.params["scale"] < 1:
        module.fail_json(msg=f"scale must be 1 or more (pixels per QR module), not {module.params['scale']}")
    if segno is None:
        module.fail_json(msg=missing_required_lib("segno"), exception=SEGNO_IMPORT_ERROR)
    src, dest = module.params["src"], module.params["dest"]
    try:
        with open(src, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        module.fail_json(msg=f"cannot read {src}: {exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # the message says where, never what (the file holds a private key)
        module.fail_json(msg=f"cannot read {src}: not UTF-8 text (an invalid byte at offset {exc.start})")
    try:
        picture = render_png(text, module.params["scale"])
    except segno.DataOverflowError:
        module.fail_json(
            msg=f"{src} is too large for a QR code: {len(data)} bytes, where a QR code holds at most {MAX_BYTES} "
            "(version 40, error correction level M); shorten the configuration"
        )
    try:
        with open(dest, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        module.fail_json(msg=f"cannot read {dest}: {exc}")
    if current != picture:
        if not module.check_mode:
            _write(module, dest, picture)
        module.exit_json(changed=True, dest=dest)
    # The same picture: still the private key's, so never readable by others.
    changed = stat.S_IMODE(os.stat(dest).st_mode) != MODE
    if changed and not module.check_mode:
        try:
            os.chmod(dest, MODE)
        except OSError as exc:
            module.fail_json(msg=f"cannot make {dest} mode 0600: {exc}")
    module.exit_json(changed=changed, dest=dest)


if __name__ == "__main__":
    main()
