"""Fleet-scale benchmark of the controller side: the wireguard role's real tasks and plan.yml.

No real hosts: N inventory hosts with `ansible_connection: local` and their public keys in the
inventory (so the role needs no key from a host). Each case runs, in a fresh ansible-playbook process:
- role: the role's own controller-side task files (tasks/validate.yml and tasks/plan.yml, imported with
  import_role, so the tasks are the role's, not a copy): validate, record + plan, each host's slice;
- floor: a play of the same shape on the same hosts (two run_once tasks, one set_fact per host);
- plan.yml: the shipped playbooks/plan.yml writing the plan file and the diagram, against a floor of a
  two-task play on localhost with the same inventory;
- firewall: the firewall role's rule computation (tasks/rules.yml: the tunnels of every WireGuard
  network once, then each host's rule set), against the same floor as the role path.
Prints seconds, the ratio to the floor and the peak memory (largest resident set of the process tree).
Run: make bench (or python bench/bench_roles.py [--cases mesh:100,hub_spoke:1000] [--forks 20]).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_CASES = "mesh:100,mesh:1000,hub_spoke:1000,hub_spoke:5000"
PLAN_CASES = "mesh:1000,hub_spoke:10000"
FIREWALL_CASES = "mesh:1000"
TARGETS = {("role", "mesh", 1000): 3.0, ("role", "hub_spoke", 5000): 3.0, ("plan", "mesh", 1000): 10.0}
TARGETS[("plan", "hub_spoke", 10000)] = 10.0

ROLE_PLAY = """---
- name: The wireguard role's controller-side tasks
  hosts: wireguard
  gather_facts: false
  tasks:
    - name: Validate
      ansible.builtin.import_role: {name: wgops.fleet.wireguard, tasks_from: validate}
    - name: Record, plan and take each host's slice
      ansible.builtin.import_role: {name: wgops.fleet.wireguard, tasks_from: plan}
"""
FIREWALL_PLAY = """---
- name: The firewall role's rule computation
  hosts: wireguard
  gather_facts: false
  tasks:
    - name: Every host's rule set
      ansible.builtin.import_role: {name: wgops.fleet.firewall, tasks_from: rules}
"""
FLOOR_PLAY = """---
- name: The same shape, doing nothing
  hosts: wireguard
  gather_facts: false
  tasks:
    - {name: Once, ansible.builtin.debug: {msg: validate}, run_once: true}
    - {name: Once more, ansible.builtin.debug: {msg: record}, run_once: true}
    - {name: Per host, ansible.builtin.set_fact: {bench_slice: "{{ inventory_hostname }}"}}
"""
LOCAL_FLOOR_PLAY = """---
- name: Two tasks on localhost
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - {name: One, ansible.builtin.debug: {msg: one}}
    - {name: Two, ansible.builtin.debug: {msg: two}}
"""
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=open(sys.argv[0] + '.log', 'w'), stderr=subprocess.STDOUT)\n"
    "print(rc, time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def fake_key(index: int) -> str:
    return base64.b64encode(hashlib.sha256(f"bench-{index}".encode()).digest()).decode()


def write_inventory(directory: str, topology: str, size: int) -> None:
    hosts = {}
    for index in range(size):
        name = f"h{index:05d}"
        values = {"wireguard_public_key": fake_key(index)}
        if topology == "mesh" or index < 2:
            values["wireguard_endpoint"] = f"{name}.bench.example.net"
        if topology == "hub_spoke" and index < 2:
            values["wireguard_hub"] = True
        hosts[name] = values
    inventory = {
        "all": {
            "children": {
                "wireguard": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                        "wireguard_network": "10.0.0.0/16" if size < 60000 else "10.0.0.0/8",
                        "wireguard_topology": topology,
                    },
                }
            }
        }
    }
    with open(os.path.join(directory, "hosts.yml"), "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)  # JSON is YAML, and much faster to write and parse


def run(workdir: str, name: str, playbook: str, inventory: str, forks: int, extra: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in MiB) of one ansible-playbook process; exits on failure with its log's tail."""
    measure = os.path.join(workdir, name)
    with open(measure, "w", encoding="utf-8") as handle:
        handle.write(MEASURE)
    command = [sys.executable, measure, shutil.which("ansible-playbook") or "ansible-playbook"]
    command += ["-i", inventory, "-f", str(forks), playbook, *extra]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=workdir).stdout.split()
    rc, seconds, rss_kib = int(output[0]), float(output[1]), int(output[2])
    if rc != 0:
        with open(measure + ".log", encoding="utf-8") as log:
            tail = log.read()[-3000:]
        sys.exit(f"bench_roles: {name} failed (exit {rc}):\n{tail}")
    return seconds, rss_kib // 1024


def row(kind: str, topology: str, size: int, seconds: float, floor: float, rss: int) -> str:
    ratio = seconds / floor
    target = TARGETS.get((kind, topology, size))
    verdict = "" if target is None else (f"  target <= {target:.0f}x: " + ("met" if ratio <= target else "MISSED"))
    return (
        f"  {kind:5} {topology:9} {size:6}  {seconds:8.1f} s  floor {floor:7.1f} s  {ratio:5.2f}x  {rss:6} MiB{verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help="role path cases, topology:hosts,...")
    parser.add_argument("--plan-cases", default=PLAN_CASES, help="plan.yml cases, topology:hosts,...")
    parser.add_argument("--firewall-cases", default=FIREWALL_CASES, help="firewall rule cases, topology:hosts,...")
    parser.add_argument("--forks", type=int, default=20)
    args = parser.parse_args()
    env_note = f"ansible-playbook -f {args.forks}, hosts on a local connection, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
    print(f"role-path benchmark: {env_note}")
    print("  kind  topology   hosts   seconds   floor (same shape)  ratio  peak memory")
    results = []
    with tempfile.TemporaryDirectory(prefix="wgops-bench-") as workdir:
        plays = (("role.yml", ROLE_PLAY), ("firewall.yml", FIREWALL_PLAY), ("floor.yml", FLOOR_PLAY))
        for path, text in (*plays, ("local.yml", LOCAL_FLOOR_PLAY)):
            with open(os.path.join(workdir, path), "w", encoding="utf-8") as handle:
                handle.write(text)
        cases = [("role", c) for c in args.cases.split(",") if c]
        cases += [("plan", c) for c in args.plan_cases.split(",") if c]
        cases += [("fw", c) for c in args.firewall_cases.split(",") if c]
        for kind, case in cases:
            topology, size_text = case.split(":")
            size = int(size_text)
            inventory_dir = os.path.join(workdir, f"{kind}-{topology}-{size}")
            os.makedirs(inventory_dir)
            write_inventory(inventory_dir, topology, size)
            if kind in ("role", "fw"):
                floor, _rss = run(workdir, "floor", "floor.yml", inventory_dir, args.forks, [])
                playbook = "role.yml" if kind == "role" else "firewall.yml"
                seconds, rss = run(workdir, kind, playbook, inventory_dir, args.forks, [])
            else:
                floor, _rss = run(workdir, "local", "local.yml", inventory_dir, args.forks, [])
                extra = ["-e", f"wireguard_plan_file={inventory_dir}/plan.json"]
                extra += ["-e", f"wireguard_plan_diagram={inventory_dir}/topology.dot"]
                seconds, rss = run(
                    workdir, "plan", os.path.join(ROOT, "playbooks", "plan.yml"), inventory_dir, args.forks, extra
                )
            line = row(kind, topology, size, seconds, floor, rss)
            results.append(line)
            print(line, flush=True)
    missed = [line for line in results if "MISSED" in line]
    if missed:
        print(f"{len(missed)} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
