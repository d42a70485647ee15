#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_keypair
short_description: Keep a WireGuard private key on the node and return its public key
version_added: 0.1.0
description:
  - Generates a WireGuard private key on the managed node (mode 0600, owned by root when run as root)
    unless one exists, and returns only the public key. The private key is never returned or logged.
  - An existing key is never regenerated, and a file at O(path) that does not hold a key is refused rather
    than overwritten. With O(private_key) (for example from Ansible Vault), that key is written instead,
    replacing a different one, or a file that does not hold a key.
  - The key file is written atomically (a temporary 0600 file in the same directory, then renamed).
  - Needs no C(wg) binary and no Python packages on the node (pure-Python X25519 when PyNaCl is missing).
options:
  path:
    description: Where the private key lives.
    type: path
    default: /etc/wireguard/wg0.key
  private_key:
    description:
      - A private key to install (base64, as C(wg genkey) prints). Leave unset to generate one on the node.
    type: str
  state:
    description: C(absent) removes the key file (a directory at O(path) is refused).
    type: str
    choices: [present, absent]
    default: present
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: In check mode a missing key is not created; RV(public_key) is then null.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Make (or read) this node's key
  wgops.fleet.wireguard_keypair:
    path: /etc/wireguard/wg0.key
  register: wg_key

- name: Install a key kept in the vault
  wgops.fleet.wireguard_keypair:
    path: /etc/wireguard/wg0.key
    private_key: "{{ vault_wireguard_private_key }}"
  no_log: true
"""

RETURN = r"""
public_key:
  description: The public key of the private key at O(path); null when absent, or not yet created in check mode.
  returned: always
  type: str
  sample: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
path:
  description: The key file.
  returned: always
  type: str
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._secret_files import write_secret_file
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.keys import (
    InvalidKeyError,
    generate_private_key,
    public_key,
)


def _read_key(module: AnsibleModule, path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        module.fail_json(msg=f"cannot read {path}: {exc}")


def _write_key(module: AnsibleModule, path: str, key: str) -> None:
    """Write the key atomically: a temporary file made 0600 (mkstemp) next to it, then renamed over it.

    Nothing is left behind when writing fails, so no part of a key lingers in a stray file.
    """
    directory = os.path.dirname(path) or "."
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
        write_secret_file(path, (key + "\n").encode("ascii"), root_owned=True)
    except OSError as exc:
        module.fail_json(msg=f"cannot write {path}: {exc}")


def _fix_mode(module: AnsibleModule, path: str) -> bool:
    """0600, and owned by root when running as root (on a controller the key belongs to its user)."""
    info = os.stat(path)
    as_root = os.geteuid() == 0
    if stat.S_IMODE(info.st_mode) == 0o600 and (not as_root or (info.st_uid, info.st_gid) == (0, 0)):
        return False
    if not module.check_mode:
        os.chmod(path, 0o600)
        if as_root:
            os.chown(path, 0, 0)
    return True


def _remove(module: AnsibleModule, path: str) -> None:
    """state=absent: remove the key file (or a symlink in its place), never a directory."""
    if os.path.isdir(path) and not os.path.islink(path):
        module.fail_json(msg=f"{path} is a directory, not a key file; give the path of the key file itself")
    if not module.check_mode:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            module.fail_json(msg=f"cannot remove {path}: {exc}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/wireguard/wg0.key"},
            "private_key": {"type": "str", "no_log": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    wanted = module.params["private_key"]

    if module.params["state"] == "absent":
        exists = os.path.lexists(path)
        if exists:
            _remove(module, path)
        module.exit_json(changed=exists, public_key=None, path=path)

    if wanted is not None:
        try:
            wanted_public = public_key(wanted.strip())
        except InvalidKeyError as exc:
            module.fail_json(msg=f"private_key {exc}")

    content = _read_key(module, path)
    current = None
    current_public = None
    if content is not None:
        try:
            current = content.decode("ascii").strip()
            current_public = public_key(current)
        except UnicodeDecodeError as exc:
            # A given private_key replaces whatever is there (documented); without one, nothing is overwritten.
            if wanted is None:
                module.fail_json(msg=f"cannot read {path}: {exc}")
        except InvalidKeyError as exc:
            if wanted is None:
                module.fail_json(
                    msg=f"{path} does not hold a WireGuard private key ({exc}); move it away to have a new one made"
                )

    if wanted is not None and wanted_public != current_public:
        if not module.check_mode:
            _write_key(module, path, wanted.strip())
        module.exit_json(changed=True, public_key=wanted_public, path=path)
    if content is None:
        if module.check_mode:
            module.exit_json(changed=True, public_key=None, path=path)
        fresh = generate_private_key()
        _write_key(module, path, fresh)
        module.exit_json(changed=True, public_key=public_key(fresh), path=path)
    module.exit_json(changed=_fix_mode(module, path), public_key=current_public, path=path)


if __name__ == "__main__":
    main()
