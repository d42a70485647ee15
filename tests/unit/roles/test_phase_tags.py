"""Phase tags inside the roles (``--tags wireguard_configure``, ...), as prometheus.prometheus tags its roles.

Each step of a role's tasks/main.yml carries ``<role>_<phase>`` tags; preflight carries every one of them,
so it runs whatever phase is asked for, and a step carries the tags of the phases that need what it sets
(the WireGuard key pairs and plan run with configure). Checked twice: on the YAML of tasks/main.yml, and by
``ansible-playbook playbooks/site.yml --list-tasks --tags <phase>`` (which reaches no host).
"""

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"
COLLECTIONS = ROOT / ".build" / "collections"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

# The phase tags of each role. _common has no tasks/main.yml; internal_ca's main (make the CA, trust it) is
# one step, and the other roles include its task files under their own phase tags.
PHASES = {
    "derp": {"preflight", "install", "configure", "run"},
    "firewall": {"preflight", "install", "configure", "rules"},
    "headscale": {"preflight", "install", "configure", "run", "policy", "users"},
    "tailscale": {"preflight", "install", "configure", "run", "enroll"},
    "wireguard": {"preflight", "install", "configure", "run"},
}
UNTAGGED = {"internal_ca"}
# The play of site.yml that runs each role (its play tag, kept alongside the phase tags).
PLAY_TAG = {
    "derp": "derp",
    "firewall": "firewall",
    "headscale": "headscale",
    "tailscale": "tailnet",
    "wireguard": "wireguard",
}


def main_tasks(role: str) -> list[dict]:
    return yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text(encoding="utf-8"))


def role_tags(task: dict, role: str) -> set[str]:
    return {tag for tag in task.get("tags", []) if tag.startswith(f"{role}_")}


def phase_tags(role: str) -> set[str]:
    return {f"{role}_{phase}" for phase in PHASES[role]}


def test_every_role_with_a_main_is_phase_tagged_or_left_out_on_purpose():
    with_main = {p.parent.parent.name for p in ROLES.glob("*/tasks/main.yml")}
    assert with_main == set(PHASES) | UNTAGGED
    assert not (ROLES / "_common" / "tasks" / "main.yml").exists()


@pytest.mark.parametrize("role", sorted(PHASES))
def test_each_step_of_main_carries_phase_tags(role):
    tasks = main_tasks(role)
    used = set()
    for task in tasks:
        tags = role_tags(task, role)
        assert tags, f"roles/{role}/tasks/main.yml: {task['name']!r} carries no {role}_ tag"
        unknown = tags - phase_tags(role)
        assert not unknown, f"roles/{role}/tasks/main.yml: {task['name']!r}: {sorted(unknown)} are not phases of {role}"
        used |= tags
    assert used == phase_tags(role), f"roles/{role}: phases no step carries: {sorted(phase_tags(role) - used)}"


@pytest.mark.parametrize("role", sorted(PHASES))
def test_preflight_comes_first_and_carries_every_phase(role):
    tasks = main_tasks(role)
    preflight = [task for task in tasks if f"{role}_preflight" in task.get("tags", [])]
    assert preflight == tasks[:1], f"roles/{role}: the first step, and only it, is the preflight"
    assert role_tags(preflight[0], role) == phase_tags(role)


@pytest.mark.parametrize("role", sorted(PHASES))
def test_dynamic_includes_pass_their_tags_to_the_included_tasks(role):
    # The tags of an include_tasks apply to the include only; `apply: {tags}` gives them to what it includes.
    for task in main_tasks(role):
        include = task.get("ansible.builtin.include_tasks")
        if include is None:
            continue
        assert isinstance(include, dict), f"roles/{role}: {task['name']!r}: include_tasks needs file: and apply:"
        assert set(include.get("apply", {}).get("tags", [])) == set(task["tags"]), f"roles/{role}: {task['name']!r}"


@pytest.mark.parametrize("role", sorted(PHASES))
def test_the_role_readme_documents_each_phase_tag(role):
    readme = (ROLES / role / "README.md").read_text(encoding="utf-8")
    missing = sorted(tag for tag in phase_tags(role) if f"`{tag}`" not in readme)
    assert not missing, f"roles/{role}/README.md does not name {missing}"


# --- ansible-playbook site.yml --list-tasks --tags <phase> ------------------------------------------------

INVENTORY = """\
all:
  children:
    wireguard: {hosts: {gw1: {}}}
    headscale: {hosts: {hs1: {}}}
    derp: {hosts: {derp1: {}}}
    tailnet: {hosts: {node1: {}}}
"""
PLAY_LINE = re.compile(r"^\s+play #\d+ \([^)]*\): .*\tTAGS: \[(?P<tags>[^]]*)\]$")
TASK_LINE = re.compile(r"^\s{6}(?P<name>.*?)\tTAGS: \[(?P<tags>[^]]*)\]$")
VALIDATION = "Validating arguments against arg spec"  # the role's argument check: tagged always
FACTS = "Gather the facts the roles use, once per host and run"  # each play's first task (playbooks/tasks/facts.yml): tagged always


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("phase_tags") / "hosts.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


@functools.cache
def _list_tasks(inventory: Path, tags: str) -> dict[str, list[tuple[str, set[str]]]]:
    """The tasks site.yml would run with --tags, by the play tag of their play: [(name, tags)]."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, str(ROOT / "playbooks" / "site.yml"), "-i", str(inventory), "--list-tasks", "--tags", tags],
        cwd=inventory.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    plays: dict[str, list[tuple[str, set[str]]]] = {}
    current = None
    for line in result.stdout.splitlines():
        if match := PLAY_LINE.match(line):
            current = plays.setdefault(match["tags"].split(", ")[0], [])
        elif (match := TASK_LINE.match(line)) and current is not None:
            current.append((match["name"].split(" : ", 1)[-1], set(match["tags"].split(", "))))
    assert set(PLAY_TAG.values()) <= set(plays), result.stdout
    return plays


def listed(inventory: Path, tag: str) -> list[tuple[str, set[str]]]:
    """The tasks --tags <tag> lists in its role's play, after checking that no other play lists any."""
    role = tag.split("_", 1)[0]
    plays = _list_tasks(inventory, tag)
    for play, tasks in plays.items():
        if play != PLAY_TAG[role]:
            others = [name for name, _ignored in tasks if not name.startswith(VALIDATION) and name != FACTS]
            assert not others, f"--tags {tag} lists tasks of the {play} play: {others}"
    return [(name, tags) for name, tags in plays[PLAY_TAG[role]] if not name.startswith(VALIDATION)]


def preflight_names(role: str) -> list[str]:
    steps = yaml.safe_load((ROLES / role / "tasks" / "preflight.yml").read_text(encoding="utf-8"))
    return [step["name"] for step in steps if "ansible.builtin.import_tasks" not in step]


# (tag, tasks listed besides the preflight, tasks not listed)
CASES = [
    (
        "wireguard_configure",
        [
            "Make this host's private key, or read the existing one",
            "Make or read the key pairs of unmanaged peers, on the controller",
            "Record keys and addresses in the fleet state and plan every host",
            "Write client configurations and QR codes for unmanaged peers, on the controller",
            "Render the WireGuard configuration",
            "Apply peer changes live with wg syncconf",
        ],
        ["Probe for kernel WireGuard", "Install WireGuard"],
    ),
    (
        "wireguard_run",
        ["Record keys and addresses in the fleet state and plan every host", "Render the WireGuard configuration"],
        ["Install WireGuard", "Write client configurations and QR codes for unmanaged peers, on the controller"],
    ),
    (
        "wireguard_install",
        ["Probe for kernel WireGuard", "Install WireGuard"],
        ["Make this host's private key, or read the existing one", "Render the WireGuard configuration"],
    ),
    (
        "headscale_configure",
        [
            "Upgrade one minor version at a time",
            "Write the DERP map of the fleet's relays",
            "Enable and start Headscale",
            "Users",
        ],
        ["Create the headscale user", "Install the config and policy checkers"],
    ),
    (
        "headscale_users",
        ["Users"],
        ["Create the headscale user", "Write the DERP map of the fleet's relays", "Enable and start Headscale"],
    ),
    (
        "headscale_install",
        ["Create the headscale user", "Upgrade one minor version at a time"],
        ["Write the DERP map of the fleet's relays", "Enable and start Headscale", "Users"],
    ),
    (
        "firewall_rules",
        ["Render the wgops table (checked with nft -c)", "Make a new SSH connection through the new rules"],
        ["Install {{ firewall_backend }}"],
    ),
    (
        "firewall_install",
        ["Install {{ firewall_backend }}"],
        ["Render the wgops table (checked with nft -c)", "Make a new SSH connection through the new rules"],
    ),
    (
        "derp_run",
        ["Install the derper unit", "Enable and start derper"],
        ["Install derper", "Issue the relay's certificate from the internal CA"],
    ),
    (
        "tailscale_enroll",
        ["Enroll, or converge the settings with tailscale set"],
        ["Configure tailscaled", "Enable and start tailscaled"],
    ),
    (
        "tailscale_run",
        ["Enable and start tailscaled"],
        ["Configure tailscaled", "Enroll, or converge the settings with tailscale set"],
    ),
]


@pytest.mark.parametrize(("tag", "present", "absent"), CASES, ids=[case[0] for case in CASES])
def test_a_phase_tag_runs_the_preflight_and_what_the_phase_needs(inventory, tag, present, absent):
    names = [name for name, _ignored in listed(inventory, tag)]
    role = tag.split("_", 1)[0]
    missing = [name for name in [FACTS, *preflight_names(role), *present] if name not in names]
    assert not missing, f"--tags {tag} does not list {missing}"
    extra = [name for name in absent if name in names]
    assert not extra, f"--tags {tag} lists {extra}"


@pytest.mark.parametrize("role", sorted(PHASES))
def test_the_preflight_tag_runs_the_preflight_only(inventory, role):
    tasks = listed(inventory, f"{role}_preflight")
    names = [name for name, _ignored in tasks]
    assert names[0] == FACTS and set(preflight_names(role)) <= set(names)
    # Only the preflight step (every task of it carries every phase tag); nothing of a later step.
    assert all(phase_tags(role) <= tags for name, tags in tasks if name != FACTS), [
        name for name, tags in tasks if name != FACTS and not phase_tags(role) <= tags
    ]
