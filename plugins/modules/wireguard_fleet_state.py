#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_fleet_state
short_description: Validate a WireGuard inventory and record public keys and allocated addresses
version_added: 0.1.0
description:
  - Runs the wgops.fleet planner over the whole WireGuard group (not only the hosts in the play) and
    fails with every problem found, each naming the host and the variable.
  - Records each host's public key and the tunnel addresses the planner allocated in a small JSON state
    file, normally next to the inventory, so later runs (including C(--limit) runs) keep every address
    stable and know every peer's key.
  - The state file holds public data only. Hosts that left the group or are C(absent) are dropped from it.
  - "Meant to run on the controller: C(delegate_to: localhost) with C(run_once: true)."
options:
  path:
    description: Path of the state file (JSON). Created with its directory when missing.
    type: path
    required: true
  inventory:
    description:
      - The planner input, as returned by the P(wgops.fleet.wireguard_inventory#filter) filter.
    type: dict
    required: true
  public_keys:
    description:
      - Public keys just read from hosts of the play, by host name. Keys of other hosts are kept as recorded.
    type: dict
    default: {}
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Computes and returns the new state and its diff without writing it.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

EXAMPLES = r"""
- name: Record keys and addresses for the whole WireGuard group
  wgops.fleet.wireguard_fleet_state:
    path: "{{ inventory_dir }}/.fleet_state/wireguard.json"
    inventory: "{{ groups | wgops.fleet.wireguard_inventory(hostvars) }}"
    public_keys: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['__wireguard_public_key']))) }}"
  delegate_to: localhost
  run_once: true
  register: fleet_state
"""

RETURN = r"""
state:
  description: The fleet state after this run (what was written, or would be in check mode).
  returned: always
  type: dict
  sample: {"version": 1, "hosts": {"node1": {"public_key": "xTIB...=", "addresses": ["10.99.0.1/24"]}}}
warnings_list:
  description: Planner warnings, such as host pairs left out because neither side has an endpoint.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils import fleet_state
from ansible_collections.wgops.fleet.plugins.module_utils.wireguard_inventory import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils.wireguard_plan import build


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "inventory": {"type": "dict", "required": True},
            "public_keys": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        old = fleet_state.load(path)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot read the fleet state {path}: {exc}")

    inventory = module.params["inventory"]
    public_keys = {name: key for name, key in module.params["public_keys"].items() if key}
    # Keys just read from the hosts win over recorded ones, so the planner validates what is real now.
    recorded_hosts = {name: dict(entry) for name, entry in old.get("hosts", {}).items()}
    for name, key in public_keys.items():
        recorded_hosts.setdefault(name, {})["public_key"] = key
    try:
        planner, warnings = build(inventory, {"hosts": recorded_hosts})
    except PlanError as exc:
        module.fail_json(msg=str(exc), problems=[str(p) for p in exc.problems])

    keys = {name: spec.public_key for name, spec in planner.hosts.items()}
    new = fleet_state.merge(planner.names, planner.network.allocations, keys)
    before, after = fleet_state.render(old), fleet_state.render(new)
    changed = before != after
    if changed and not module.check_mode:
        try:
            fleet_state.write_atomic(path, after)
        except OSError as exc:
            module.fail_json(msg=f"cannot write the fleet state {path}: {exc}")
    for warning in warnings:
        module.warn(warning)
    module.exit_json(
        changed=changed,
        state=new,
        warnings_list=warnings,
        diff={"before": before, "after": after, "before_header": path, "after_header": path},
    )


if __name__ == "__main__":
    main()
