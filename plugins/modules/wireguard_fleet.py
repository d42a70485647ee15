#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wireguard_fleet
short_description: Validate, record and plan a whole WireGuard group once, on the controller
version_added: 0.2.0
description:
  - Reads the WireGuard group straight from the play's inventory (C(groups) and C(hostvars), each host
    once), validates it against the recorded fleet state, and fails with every problem found, each
    naming the host and the variable.
  - Records public keys and allocated tunnel addresses in the fleet state (a JSON file of public data,
    normally next to the inventory), holding a lock on its directory so two runs at once never hand out
    the same address. A plan that would move an address recorded before is refused unless O(renumber).
  - Optionally writes each host's slice of the plan to a private directory of this ansible-playbook
    process (O(slices)), the plan file (O(plan_file)), the topology diagram (O(diagram_file)) and a
    table, all computed host by host, so a 1000-host plan never travels through templating as one value.
  - "This is an action plugin that runs on the controller; run it once per play (C(run_once: true))."
options:
  group:
    description: The inventory group that forms the WireGuard network.
    type: str
    default: wireguard
  state_file:
    description: The fleet state file (JSON). Created with its directory when missing.
    type: path
    required: true
  record:
    description:
      - Write the new fleet state (not in check mode). V(false) validates and plans only, reporting in
        RV(allocated) the addresses a recording run would add.
    type: bool
    default: true
  renumber:
    description:
      - Allow the plan to move addresses recorded in the fleet state (after changing C(wireguard_network)
        on purpose). Without it such a plan is refused, naming each host with its old and new address.
    type: bool
    default: false
  slices:
    description:
      - Write C(<host>.json) (interface settings) and C(<host>.peers.json) for each host of the play and
        each unmanaged peer into a new private directory under Ansible's controller temporary directory,
        returned as RV(plan_dir). It is removed when ansible-playbook exits.
    type: bool
    default: false
  keys_from:
    description:
      - The name of a variable registered on each host of the play by M(wgops.fleet.wireguard_keypair);
        its C(public_key) is the host's key now, and wins over the recorded one.
    type: str
  public_keys:
    description: Further public keys by peer name (unmanaged peers' keys made on the controller).
    type: dict
    default: {}
  plan_file:
    description: Write the whole plan as JSON (docs/plan-format.md), one line per host.
    type: path
  diagram_file:
    description:
      - Write the topology diagram; Graphviz text for C(.dot) or C(.gv), a picture for C(.svg) or C(.png) (drawn by
        Graphviz's C(dot), which must be installed on the controller), Mermaid text otherwise.
      - The Graphviz forms mark hubs, exit nodes, unmanaged peers and each host's routed subnets; beyond 300 links
        only those that route or touch a hub or exit node are drawn (the title counts the rest).
    type: path
  table:
    description: Return the plan as text lines in RV(table), a line per host or every peer as well.
    type: str
    choices: [none, summary, full]
    default: none
  table_hosts:
    description: Only these hosts in the table (for example C(ansible_play_hosts) under C(--limit)).
    type: list
    elements: str
  lock_timeout:
    description: Seconds to wait for another run's lock on the fleet state before failing.
    type: int
    default: 300
  warn:
    description: Show the planner's warnings (they are returned in RV(warnings_list) either way).
    type: bool
    default: true
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The fleet state is not written; slices, the plan file and the diagram are still written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
"""

EXAMPLES = r"""
- name: Validate the WireGuard group before touching any host
  wgops.fleet.wireguard_fleet:
    state_file: "{{ inventory_dir }}/.fleet_state/wireguard.json"
    record: false
  run_once: true

- name: Record keys and addresses, and give every host its slice of the plan
  wgops.fleet.wireguard_fleet:
    state_file: "{{ inventory_dir }}/.fleet_state/wireguard.json"
    keys_from: my_keypair_result
    slices: true
  register: fleet
  run_once: true

- name: Take this host's interface settings
  ansible.builtin.set_fact:
    my_plan: "{{ lookup('ansible.builtin.file', fleet.plan_dir ~ '/' ~ inventory_hostname ~ '.json') | from_json }}"
"""

RETURN = r"""
state_file:
  description: The fleet state file.
  returned: always
  type: str
hosts:
  description: How many present hosts and unmanaged peers were planned.
  returned: always
  type: int
absent:
  description: Hosts of the group marked C(wireguard_state=absent).
  returned: always
  type: list
  elements: str
allocated:
  description: Addresses this plan allocates that the fleet state did not hold, by host.
  returned: always
  type: dict
  sample: {"node7": ["10.99.0.7/24"]}
warnings_list:
  description: Planner warnings (pairs left out, hosts without a known public key yet).
  returned: always
  type: list
  elements: str
plan_dir:
  description: The directory holding each host's slice of the plan.
  returned: when O(slices=true)
  type: str
slices_written:
  description: How many hosts' slices were written.
  returned: when O(slices=true)
  type: int
plan_file:
  description: The plan file written.
  returned: when O(plan_file) is set
  type: str
diagram_file:
  description: The diagram written.
  returned: when O(diagram_file) is set
  type: str
table:
  description: The plan as text lines.
  returned: when O(table) is not V(none)
  type: list
  elements: str
"""
