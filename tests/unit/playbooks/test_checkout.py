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


def test_plan_yml_runs_on_the_example_as_the_readme_says(tmp_path):
    inventory = tmp_path / "example"
    shutil.copytree(
        ROOT / "inventories" / "example", inventory, ignore=shutil.ignore_patterns(".fleet_state", ".wireguard_clients")
    )
    result = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "playbooks/plan.yml",
            "-i",
            str(inventory),
            "-e",
            f"wireguard_plan_file={tmp_path}/plan.json",
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gw-berlin  wg0  10.99.0.1/24" in result.stdout
    assert (tmp_path / "plan.json").exists()
    assert not (inventory / ".fleet_state").exists(), "plan.yml records the fleet state only when asked"
