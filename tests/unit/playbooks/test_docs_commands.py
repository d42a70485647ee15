"""The commands the docs tell a newcomer to type (```sh blocks of README.md and docs/*.md) are checked, so they
cannot rot: every `make` target exists, every `ansible-playbook wgops.fleet.NAME` names a shipped playbook
whose --tags and -e variables are real, and every plan.yml command (controller only: it touches no host) is
run as written against the README's own example inventory.
"""

import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def fenced(path: Path, language: str) -> list[tuple[int, str]]:
    """(line number, text) of each line inside ```language blocks."""
    lines, inside = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            inside = not inside and line[3:].strip() == language
            continue
        if inside:
            lines.append((number, line))
    return lines


def commands() -> list[tuple[str, list[str]]]:
    """Each command line of the sh blocks, without its comment, as argv: (where, argv)."""
    found = []
    for path in DOCS:
        for number, line in fenced(path, "sh"):
            text = re.split(r"\s+#\s", " " + line, maxsplit=1)[0].strip()
            if text and not text.startswith("#"):
                found.append((f"{path.relative_to(ROOT)}:{number}", shlex.split(text)))
    return found


COMMANDS = commands()
MAKE = [(where, argv) for where, argv in COMMANDS if argv[0] == "make"]
PLAYBOOK = [(where, argv) for where, argv in COMMANDS if argv[0] == "ansible-playbook"]


def test_the_docs_have_commands_to_check():
    assert len(MAKE) >= 4 and len(PLAYBOOK) >= 10, COMMANDS


@pytest.mark.parametrize(("where", "argv"), MAKE, ids=[where for where, _argv in MAKE])
def test_make_targets_exist(where, argv):
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M))
    named = [a for a in argv[1:] if "=" not in a and not a.startswith("-")]
    assert named and set(named) <= targets, f"{where}: {argv} names no Makefile target"


def playbook_of(argv: list[str]) -> Path:
    name = argv[1]
    assert name.startswith("wgops.fleet."), f"{argv}: playbooks are named wgops.fleet.NAME"
    return ROOT / "playbooks" / f"{name.removeprefix('wgops.fleet.')}.yml"


def options(argv: list[str], *flags: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in flags]


def env() -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    values["PATH"] = f"{Path(sys.executable).parent}:{values.get('PATH', '')}"
    values["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".build" / "collections")
    return values


@cache
def tags_of(playbook: Path) -> frozenset[str]:
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "--list-tags", "-i", str(ROOT / "inventories" / "example"), str(playbook)],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return frozenset(t.strip() for line in re.findall(r"TASK TAGS: \[(.*)\]", done.stdout) for t in line.split(","))


@pytest.mark.parametrize(("where", "argv"), PLAYBOOK, ids=[where for where, _argv in PLAYBOOK])
def test_playbook_commands_name_real_playbooks_tags_and_variables(where, argv):
    playbook = playbook_of(argv)
    assert playbook.exists(), f"{where}: no {playbook.relative_to(ROOT)}"
    for tag in options(argv, "--tags", "-t"):
        assert set(tag.split(",")) <= tags_of(playbook), f"{where}: tag {tag} is not in {sorted(tags_of(playbook))}"
    readers = [playbook, *(ROOT / "roles").glob("*/tasks/*.yml"), *(ROOT / "roles").glob("*/defaults/main.yml")]
    text = "\n".join(p.read_text(encoding="utf-8") for p in readers)
    for extra in options(argv, "-e", "--extra-vars"):
        variable = extra.split("=", 1)[0]
        assert re.search(rf"\b{re.escape(variable)}\b", text), f"{where}: nothing reads {variable}"


def readme_inventory(tmp_path: Path) -> Path:
    """The README's example inventory (its ```yaml block with `all:`), as the directory the commands name."""
    blocks, current, inside = [], [], False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append("\n".join(current))
            inside, current = line[3:].strip() == "yaml" and not inside, []
            continue
        if inside:
            current.append(line)
    inventory = next(yaml.safe_load(b) for b in blocks if b.lstrip().startswith("all:"))
    directory = tmp_path / "inventories" / "prod"
    directory.mkdir(parents=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return directory


PLAN = [(where, argv) for where, argv in PLAYBOOK if argv[1] == "wgops.fleet.plan"]


@pytest.mark.parametrize(("where", "argv"), PLAN, ids=[where for where, _argv in PLAN])
def test_plan_commands_run_as_written_on_the_readme_inventory(where, argv, tmp_path):
    readme_inventory(tmp_path)
    done = subprocess.run(argv, cwd=tmp_path, env=env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{where}: {shlex.join(argv)}\n{done.stdout}{done.stderr}"
    assert "gw-berlin" in done.stdout and "laptop-ops" in done.stdout, done.stdout
    for extra in options(argv, "-e", "--extra-vars"):
        variable, _sep, value = extra.partition("=")
        if variable in ("wireguard_plan_file", "wireguard_plan_diagram"):
            assert (tmp_path / value).stat().st_size > 0, f"{where}: {value} was not written"
