"""The README's checkout commands work from a plain clone: no Makefile, no ANSIBLE_* variable.

playbooks/collections/ansible_collections/wgops/fleet links back to the checkout, so ansible-playbook
finds wgops.fleet next to the playbooks (Ansible's playbook-adjacent collections), from any directory.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOKS = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


def test_the_link_points_at_this_checkout():
    link = ROOT / "playbooks" / "collections" / "ansible_collections" / "wgops" / "fleet"
    assert link.is_symlink() and link.resolve() == ROOT


def test_every_playbook_parses_from_a_plain_checkout(tmp_path):
    playbooks = [str(ROOT / "playbooks" / name) for name in PLAYBOOKS]
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--syntax-check", "-i", str(ROOT / "inventories" / "example"), *playbooks],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(PLAYBOOKS) >= 10


def copy_example(tmp_path):
    inventory = tmp_path / "example"
    shutil.copytree(
        ROOT / "inventories" / "example", inventory, ignore=shutil.ignore_patterns(".fleet_state", ".wireguard_clients")
    )
    return inventory


def plan_yml(inventory, *args):
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "playbooks/plan.yml", "-i", str(inventory), *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_plan_yml_runs_on_the_example_as_the_readme_says(tmp_path):
    inventory = copy_example(tmp_path)
    result = plan_yml(inventory, "-e", f"wireguard_plan_file={tmp_path}/plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gw-berlin  wg0  10.99.0.1/24" in result.stdout
    assert (tmp_path / "plan.json").exists()
    assert not (inventory / ".fleet_state").exists(), "plan.yml records the fleet state only when asked"


def test_plan_yml_with_limit_plans_the_whole_group_and_shows_the_limit(tmp_path):
    inventory = copy_example(tmp_path)
    result = plan_yml(inventory, "--limit", "laptop-ops", "-e", f"wireguard_plan_file={tmp_path}/plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "planned the whole group wireguard (4 hosts); showing the 1 host(s) of --limit" in result.stdout
    assert "laptop-ops" in result.stdout and "gw-paris  wg0" not in result.stdout
    # The plan file still holds every host: peers come from the group, never from the play.
    assert '"gw-paris"' in (tmp_path / "plan.json").read_text()


def test_plan_yml_records_the_fleet_state_when_asked(tmp_path):
    inventory = copy_example(tmp_path)
    result = plan_yml(inventory, "-e", "wireguard_plan_record=true")
    assert result.returncode == 0, result.stdout + result.stderr
    state = (inventory / ".fleet_state" / "wireguard.json").read_text()
    # Allocated addresses only: gw-berlin pins its own (wireguard_address) and has no key yet.
    assert '"laptop-ops"' in state and "10.99.0.4/24" in state and '"gw-berlin"' not in state
