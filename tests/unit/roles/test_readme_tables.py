"""The variable tables of the role READMEs and docs/ are checked against each role's argument_specs.

Every `<role>_*` variable a table row names must be declared in the role's meta/argument_specs.yml (any
entry point), and a literal default the row gives (a backticked value in the Default column) must be the
declared default. A renamed or removed variable, or a changed default, cannot leave the docs behind.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"
ROLE_NAMES = sorted(
    p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists() and p.name[0] != "_"
)
ROW = re.compile(r"^\|(?P<cells>.*)\|\s*$")
CODE = re.compile(r"`([^`]+)`")


def declared(role: str) -> dict:
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]
    options: dict = {}
    for entry in specs.values():
        options.update(entry.get("options") or {})
    return options


ALL_DECLARED = {role: declared(role) for role in ROLE_NAMES}


# Tables whose first column names something else that looks like a variable (phase tags, scenarios).
OTHER_TABLES = ("tag", "scenario")


def variable_rows(path: Path):
    """(line number, [variable names], default cell) of each table row whose first cell names variables."""
    header = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = ROW.match(line)
        if not match:
            header = None
            continue
        cells = [cell.strip() for cell in match["cells"].split("|")]
        if header is None:
            header = cells[0].lower()
            continue
        if header.startswith(OTHER_TABLES):
            continue
        names = [name for name in CODE.findall(cells[0]) if re.fullmatch(r"[a-z]+_[a-z0-9_]+", name)]
        names = [name for name in names if name.split("_", 1)[0] in ALL_DECLARED]
        if names:
            yield number, names, cells[1] if len(cells) > 2 else ""


def owner(name: str) -> str:
    return name.split("_", 1)[0]


DOCS = sorted([ROLES / role / "README.md" for role in ROLE_NAMES] + list((ROOT / "docs").glob("*.md")))


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_variable_in_a_table_is_declared(path):
    unknown = [
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for number, names, _default in variable_rows(path)
        for name in names
        if name not in ALL_DECLARED[owner(name)]
    ]
    assert not unknown, "documented but not in the role's argument_specs: " + "; ".join(unknown)


def shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return str(value)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_literal_defaults_in_the_role_readme_match(role):
    path = ROLES / role / "README.md"
    wrong = []
    checked = 0
    for number, names, default in variable_rows(path):
        values = [part.strip() for part in default.split(" / ")]
        if len(values) != len(names):
            continue  # one default for several variables, or prose: not a literal per variable
        for name, value in zip(names, values):
            literal = re.fullmatch(r"`([^`]*)`", value)
            spec = ALL_DECLARED[role].get(name, {})
            if not literal or "default" not in spec or "{{" in literal[1] or "{{" in shown(spec["default"]):
                continue
            checked += 1
            if literal[1].strip("'\"") != shown(spec["default"]):
                wrong.append(f"{number}: {name}: README says {literal[1]}, argument_specs {shown(spec['default'])}")
    assert not wrong, f"roles/{role}/README.md: " + "; ".join(wrong)
    assert checked or role == "internal_ca", (
        f"roles/{role}/README.md: no literal default checked (table format changed?)"
    )
