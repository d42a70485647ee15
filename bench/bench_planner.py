"""Planner benchmark: wgops.fleet's planner against the template approach, in one process.

Baselines, run on the same generated inventories:
- jinja: a WireGuard config rendered per host by a Jinja2 template looping over groups and hostvars
  (how the most used WireGuard roles build their peer lists), with plain dicts as hostvars: a lower
  bound for what Ansible itself would spend, since Ansible's lazy hostvars are slower still.
- ansible: the same template through Ansible's own Templar and real HostVars, for the smaller sizes.

Prints times and ratios (baseline / planner). Memory: peak traced allocation of a full plan divided
by the number of peer entries it holds, which stays flat if memory is linear in the output.
Run: make bench (or python bench/bench_planner.py [--quick]).
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import ipaddress
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".build", "collections"))

import jinja2  # noqa: E402

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.plan import build  # noqa: E402

TEMPLATE = """[Interface]
Address = {{ hostvars[inventory_hostname].wireguard_address }}
ListenPort = {{ hostvars[inventory_hostname].wireguard_port }}
{% for host in groups['wireguard'] %}{% if host != inventory_hostname %}
[Peer]
# {{ host }}
PublicKey = {{ hostvars[host].wireguard_public_key }}
AllowedIPs = {{ hostvars[host].wireguard_address }}/32{% for net in hostvars[host].wireguard_routed_subnets | default([]) %}, {{ net }}{% endfor %}

{% if hostvars[host].wireguard_endpoint is defined %}Endpoint = {{ hostvars[host].wireguard_endpoint }}:{{ hostvars[host].wireguard_port }}
{% endif %}{% if hostvars[inventory_hostname].wireguard_behind_nat | default(false) %}PersistentKeepalive = 25
{% endif %}{% endif %}{% endfor %}
"""


def fake_key(index: int) -> str:
    return base64.b64encode(hashlib.sha256(str(index).encode()).digest()).decode()


def inventory(size: int, topology: str) -> dict:
    network = ipaddress.ip_network("10.0.0.0/16" if size < 60000 else "10.0.0.0/8")
    hosts = {}
    for i in range(size):
        values = {
            "wireguard_network": str(network),
            "wireguard_topology": topology,
            "wireguard_address": str(network.network_address + i + 1),
            "wireguard_port": 51820,
            "wireguard_public_key": fake_key(i),
        }
        if topology == "hub_spoke" and i < 2:
            values["wireguard_hub"] = True
        if i % 10 != 9:
            values["wireguard_endpoint"] = f"node{i}.example.net"
        else:
            values["wireguard_behind_nat"] = True
        if i % 50 == 0:
            values["wireguard_routed_subnets"] = [f"172.{16 + i // 50 // 256 % 16}.{i // 50 % 256}.0/24"]
        hosts[f"node{i:05d}"] = values
    return {"hosts": hosts, "groups": {"wireguard": list(hosts)}}


def with_underlays(inv: dict) -> dict:
    """The same fleet on underlay networks (wireguard_endpoints): sites of 10 hosts sharing a LAN, every
    host on the internet, the NAT'd ones without an endpoint there."""
    hosts = {}
    for i, (name, values) in enumerate(inv["hosts"].items()):
        values = dict(values)
        public = values.pop("wireguard_endpoint", None)
        values["wireguard_endpoints"] = [
            {"network": f"site{i // 10}", "endpoint": f"192.168.{i // 10 % 256}.{i % 10 + 1}", "priority": 10},
            {"network": "internet4", **({"endpoint": public} if public else {})},
        ]
        hosts[name] = values
    return {"hosts": hosts, "groups": inv["groups"]}


def run_planner(inv: dict) -> int:
    planner = build(inv, {})[0]
    plans = planner.all()
    return sum(len(p.peers) for p in plans.values())


def run_jinja(inv: dict, hosts: list[str] | None = None) -> int:
    env = jinja2.Environment(autoescape=False)
    template = env.from_string(TEMPLATE)
    groups = inv["groups"]
    hostvars = inv["hosts"]
    size = 0
    for name in hosts or groups["wireguard"]:
        size += len(template.render(groups=groups, hostvars=hostvars, inventory_hostname=name))
    return size


def run_ansible_templar(inv: dict, sample: int) -> float:
    """Seconds per host to render the template through Ansible's Templar and HostVars."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[])
    manager.add_group("wireguard")
    for name, values in inv["hosts"].items():
        manager.add_host(name, group="wireguard")
        host = manager.get_host(name)
        for key, value in values.items():
            host.set_variable(key, value)
    variables = VariableManager(loader=loader, inventory=manager)
    variables._hostvars = HostVars(
        inventory=manager, variable_manager=variables, loader=loader
    )  # as the TaskQueueManager does
    names = list(inv["hosts"])[:sample]
    start = time.perf_counter()
    for name in names:
        host_vars = variables.get_vars(host=manager.get_host(name), include_hostvars=True)
        rendered = Templar(loader=loader, variables=host_vars).template(trust_as_template(TEMPLATE))
        assert "[Peer]" in rendered, "the Ansible baseline did not render the template"
    return (time.perf_counter() - start) / len(names)


def timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def peak_memory(inv: dict) -> int:
    gc.collect()
    tracemalloc.start()
    run_planner(inv)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    args = parser.parse_args()
    cases = [("mesh", 100), ("mesh", 1000), ("mesh", 3000), ("hub_spoke", 10000)]
    if args.quick:
        cases = [("mesh", 100), ("hub_spoke", 1000)]
    print(
        f"{'case':<18}{'peers':>10}{'planner s':>11}{'jinja s':>10}{'jinja/planner':>15}{'ansible s':>11}{'ansible/planner':>17}{'B/peer':>9}"
    )
    for topology, size in cases:
        inv = inventory(size, topology)
        planner_s, peers = timed(run_planner, inv)
        # The template baseline renders every host; at the largest sizes a sample is timed and scaled.
        sample = size if size <= 1000 else 300
        jinja_s = timed(run_jinja, inv, inv["groups"]["wireguard"][:sample])[0]
        jinja_s *= size / sample
        ansible_s = run_ansible_templar(inv, sample=20 if size <= 1000 else 5) * size if size <= 3000 else None
        memory = peak_memory(inv) if size <= 3000 else None
        print(
            f"{topology + ' ' + str(size):<18}{peers:>10}{planner_s:>11.2f}{jinja_s:>10.2f}{jinja_s / planner_s:>14.1f}x"
            + (f"{ansible_s:>11.1f}{ansible_s / planner_s:>16.0f}x" if ansible_s else f"{'-':>11}{'-':>17}")
            + (f"{memory / max(peers, 1):>9.0f}" if memory else f"{'-':>9}")
        )
        sys.stdout.flush()
    print("ratios are baseline time / planner time for the same inventory (higher is better for the planner);")
    print("jinja and ansible times at sizes above 1000 are sampled over a subset of hosts and scaled linearly.")
    print()
    # Per-pair endpoints: each pair picks its network, so peer entries are no longer shared between hosts.
    print(f"{'case':<18}{'peers':>10}{'one endpoint s':>16}{'underlays s':>13}{'underlays/one':>15}{'B/peer':>9}")
    for topology, size in [("mesh", 100), ("mesh", 1000)] if not args.quick else [("mesh", 100)]:
        inv = inventory(size, topology)
        multi = with_underlays(inv)
        one_s, peers = timed(run_planner, inv)
        multi_s, multi_peers = timed(run_planner, multi)
        memory = peak_memory(multi)
        print(
            f"{topology + ' ' + str(size):<18}{multi_peers:>10}{one_s:>16.2f}{multi_s:>13.2f}{multi_s / one_s:>14.1f}x"
            f"{memory / max(multi_peers, 1):>9.0f}"
        )
    print(
        "underlays/one is the time with wireguard_endpoints over the time with one endpoint per host (lower is better)."
    )


if __name__ == "__main__":
    main()
