# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-fleet WireGuard work, done once per play on the controller. Pure Python.

One call validates the inventory against the recorded fleet state, plans every host, computes the next
fleet state and refuses a plan that would move recorded addresses. The per-host slices of the plan are
written as one small JSON file per host, so each host of a play reads only its own (O(1) in the fleet
size) and no value holding the whole plan travels through Ansible's templating.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError, Problem
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.plan import HostPlan, Planner, build


@dataclass
class FleetPlan:
    planner: Planner
    warnings: list[str]
    old_state: dict[str, Any]
    new_state: dict[str, Any]
    absent: list[str]

    @property
    def before(self) -> str:
        return fleet_state.render(self.old_state)

    @property
    def after(self) -> str:
        return fleet_state.render(self.new_state)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def allocations_made(self) -> dict[str, list[str]]:
        """Addresses this plan allocates that the fleet state does not hold yet."""
        recorded = self.old_state.get("hosts") or {}
        return {
            name: addresses
            for name, addresses in self.planner.network.allocations.items()
            if (recorded.get(name) or {}).get("addresses") != addresses
        }


def plan_fleet(
    inventory: Mapping[str, Any],
    old_state: Mapping[str, Any],
    public_keys: Mapping[str, str | None] | None = None,
    renumber: bool = False,
    key_sources: Mapping[str, str] | None = None,
) -> FleetPlan:
    """Validate and plan the whole network; raise PlanError with every problem.

    `public_keys` are keys just read from hosts of the play: they win over recorded ones, so the planner
    validates what is real now. Keys of other hosts are kept as recorded. `key_sources` says, by name,
    where a key of `public_keys` came from ("given for NAME in public_keys" unless given), for the
    message that refuses a malformed one.
    """
    recorded_hosts = {name: dict(entry) for name, entry in (old_state.get("hosts") or {}).items()}
    for name, key in (public_keys or {}).items():
        if key:
            entry = recorded_hosts.setdefault(name, {})
            entry["public_key"] = key
            # where the planner's message sends the user when the key is malformed (never written to the state)
            entry["key_source"] = (key_sources or {}).get(name, f"given for {name} in public_keys")
    planner, warnings = build(inventory, {"hosts": recorded_hosts})
    allocations = planner.network.allocations
    if not renumber:
        moves = fleet_state.address_moves(old_state, allocations)
        if moves:
            raise PlanError([_move_problem(name, old, new) for name, old, new in moves])
    keys = {name: spec.public_key for name, spec in planner.hosts.items()}
    new_state = fleet_state.merge(planner.names, allocations, keys)
    return FleetPlan(planner, warnings, dict(old_state), new_state, list(planner.network.absent))


def _move_problem(name: str, old: list[str], new: list[str]) -> Problem:
    return Problem(
        name,
        "wireguard_network",
        f"the fleet state records {', '.join(old)} for this host, and this inventory would move it to "
        f"{', '.join(new)} (was wireguard_network changed?); recorded addresses never move by accident: "
        "restore wireguard_network, pin the old address with wireguard_address, or renumber on purpose "
        "with -e wireguard_renumber=true",
    )


def host_slice(plan: HostPlan) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What one host needs from the plan: its interface settings (small), and its peers.

    The two are kept apart so the small part can be a fact of the host while the peers, which grow
    with the fleet, are read only by the task that renders the configuration.
    """
    header = {
        "state": "present",
        "interface": plan.interface,
        "addresses": list(plan.addresses),
        "listen_port": plan.listen_port,
        "forwarding": plan.forwarding,
        "public_key": plan.public_key,
        "peer_count": len(plan.peers),
        "psk": any(peer.preshared_key for peer in plan.peers),
    }
    return header, [peer.as_dict() for peer in plan.peers]


def host_names(planner: Planner, plan: HostPlan) -> list[dict[str, Any]]:
    """The tunnel addresses of a host and of each of its peers, by name (the role's peer names,
    wireguard_domain): a peer's own addresses, not the subnets routed to it."""
    names = [plan.name] + [peer.name for peer in plan.peers]
    return [
        {"name": name, "addresses": [str(address.ip) for address in planner.hosts[name].addresses]} for name in names
    ]


def write_slices(fleet: FleetPlan, directory: str, hosts: list[str] | None = None) -> int:
    """<host>.json (interface settings), <host>.peers.json and, for managed hosts, <host>.names.json per host
    in `directory`; returns the hosts written.

    An absent host gets {"state": "absent"} and no peers file.

    `hosts` limits the files to those names (the play's hosts); unmanaged peers are always written.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    planner = fleet.planner
    wanted = set(hosts) if hosts is not None else None
    written = 0
    for name in planner.names:
        spec = planner.hosts[name]
        if wanted is not None and name not in wanted and not spec.unmanaged:
            continue
        plan = planner.host(name)
        header, peers = host_slice(plan)
        _dump(directory, f"{name}.json", header)
        _dump(directory, f"{name}.peers.json", peers)
        if not spec.unmanaged:
            _dump(directory, f"{name}.names.json", host_names(planner, plan))
        written += 1
    for name in fleet.absent:
        if wanted is None or name in wanted:
            _dump(directory, f"{name}.json", {"state": "absent"})
            written += 1
    return written


def _dump(directory: str, filename: str, data: Any) -> None:
    with open(os.path.join(directory, filename), "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
