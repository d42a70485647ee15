#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_stale_files
short_description: Find the files a running systemd service reads at start that changed after it started
version_added: 0.2.0
description:
  - Compares the modification time of each file in O(paths) with the start time of the main process of
    O(unit), as systemd records it (C(ExecMainStartTimestamp)), and returns the files written after that.
  - A run cut off after it wrote such a file and before its restart handler ran leaves the service on the
    old settings, while the next run finds every file unchanged. The roles run this before they write
    anything and restart the service for what it returns, so an interrupted run is caught up by the next.
  - Changes nothing. A unit that is not active returns no files (starting it reads them all anyway).
    Files that do not exist are ignored.
options:
  unit:
    description: The systemd unit, for example C(headscale) or C(derper.service).
    type: str
    required: true
  paths:
    description: The files the service reads when it starts (configuration, unit file, keys, binary).
    type: list
    elements: path
    required: true
author:
  - wgops.fleet maintainers (@wgops)
extends_documentation_fragment:
  - wgops.fleet.attributes
  - wgops.fleet.attributes.info_module
notes:
  - Needs systemd 248 or newer (C(systemctl show --timestamp=unix)); Debian 12, Ubuntu 22.04 and EL 9 have it.
  - Times are compared in whole seconds, as C(stat) and systemd report them; a file written in the second the
    service started is not counted.
"""

EXAMPLES = r"""
- name: Find files changed after derper started
  wgops.fleet.service_stale_files:
    unit: derper
    paths: [/etc/systemd/system/derper.service, /usr/local/bin/derper]
  register: stale

- name: Restart derper for them
  ansible.builtin.debug:
    msg: "changed after derper started: {{ stale.newer | join(', ') }}"
  changed_when: true
  notify: restart derper
  when: stale.newer | length > 0
"""

RETURN = r"""
loaded:
  description:
    - Whether systemd knows the unit (its unit file exists). False on a host the role never set up, where
      check mode reports the service it would start instead of asking systemd about it.
  returned: always
  type: bool
active:
  description: Whether the unit is active.
  returned: always
  type: bool
started:
  description: When its main process started, in seconds since the epoch; null when it is not active.
  returned: always
  type: int
newer:
  description: The files of O(paths) modified after that, in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/headscale/config.yaml]
"""

import os

from ansible.module_utils.basic import AnsibleModule


def unit_state(module: AnsibleModule, unit: str) -> tuple[bool, int | None]:
    """(whether systemd knows the unit, its main process start in epoch seconds or None when not active)."""
    argv = [
        "systemctl",
        "show",
        "--timestamp=unix",
        "-p",
        "LoadState",
        "-p",
        "ActiveState",
        "-p",
        "ExecMainStartTimestamp",
        unit,
    ]
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=f"systemctl show {unit} failed: {(err or out).strip()}")
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    loaded = values.get("LoadState") == "loaded"
    if values.get("ActiveState") != "active":
        return loaded, None
    stamp = values.get("ExecMainStartTimestamp", "")
    if not stamp.startswith("@") or not stamp[1:].isdigit():
        module.fail_json(msg=f"systemctl show {unit}: no start time in {stamp!r} (systemd 248 or newer is needed)")
    return loaded, int(stamp[1:])


def stale(paths: list[str], started: int) -> list[str]:
    newer = []
    for path in paths:
        try:
            if int(os.stat(path).st_mtime) > started:
                newer.append(path)
        except FileNotFoundError:
            continue
    return newer


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "unit": {"type": "str", "required": True},
            "paths": {"type": "list", "elements": "path", "required": True},
        },
        supports_check_mode=True,
    )
    loaded, started = unit_state(module, module.params["unit"])
    newer = [] if started is None else stale(module.params["paths"], started)
    module.exit_json(changed=False, loaded=loaded, active=started is not None, started=started, newer=newer)


if __name__ == "__main__":
    main()
