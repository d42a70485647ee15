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
  - The roles use M(wgops.fleet.wireguard_fleet), which reads the inventory itself and scales to large fleets.
options:
  path:
    description: Path of the state file (JSON). Created with its directory when missing (not in check mode).
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
  renumber:
    description:
      - Allow moving addresses recorded in the state (after changing C(wireguard_network) on purpose);
        without it such a plan is refused, naming each host with its old and new address.
    type: bool
    default: false
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

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.fleet import plan_fleet


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "inventory": {"type": "dict", "required": True},
            "public_keys": {"type": "dict", "default": {}},
            "renumber": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        # Check mode creates nothing, not even the directory to lock (a missing one has nothing to protect).
        with fleet_state.locked(path, create=not module.check_mode):
            old = fleet_state.load(path)
            fleet = plan_fleet(
                module.params["inventory"], old, module.params["public_keys"], renumber=module.params["renumber"]
            )
            if fleet.changed and not module.check_mode:
                fleet_state.write_atomic(path, fleet.after)
    except PlanError as exc:
        module.fail_json(msg=str(exc), problems=[str(p) for p in exc.problems])
    except (OSError, ValueError, fleet_state.StateLockedError) as exc:
        module.fail_json(msg=f"fleet state {path}: {exc}")
    for warning in fleet.warnings:
        module.warn(warning)
    module.exit_json(
        changed=fleet.changed,
        state=fleet.new_state,
        warnings_list=fleet.warnings,
        diff={"before": fleet.before, "after": fleet.after, "before_header": path, "after_header": path},
    )


if __name__ == "__main__":
    main()
