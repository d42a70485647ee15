"""Every role's meta/argument_specs.yml declares all of its defaults, with the same default values, and has an
entry point for each task file that is used with ``tasks_from``."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"
# Where include_role / import_role (or a play's roles: entry) may name a tasks_from file.
CALLERS = [ROOT / "roles", ROOT / "playbooks", ROOT / "molecule"]
COLLECTION = "wgops.fleet."
ALL_ROLES = sorted(p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").exists())


def specs(role: str) -> dict:
    return yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]


# Roles with a main entry point and defaults; the internal _common has only tasks_from entry points.
ROLE_NAMES = [role for role in ALL_ROLES if "main" in specs(role)]


def load(role: str) -> tuple[dict, dict]:
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text(encoding="utf-8")) or {}
    return defaults, specs(role)["main"]["options"]


def test_there_are_roles_to_check():
    assert "wireguard" in ROLE_NAMES and "_common" in ALL_ROLES


def test_the_internal_role_has_an_entry_point_per_task_file_and_prefixed_parameters():
    entries = specs("_common")
    files = sorted(p.stem for p in (ROLES / "_common" / "tasks").glob("*.yml"))
    assert sorted(entries) == files, "roles/_common: one argument_specs entry point per tasks_from file"
    for entry, spec in entries.items():
        wrong = sorted(name for name in spec.get("options", {}) if not name.startswith("_common_"))
        assert not wrong, f"roles/_common: {entry}: parameters must start with _common_: {wrong}"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_default_is_declared(role):
    defaults, options = load(role)
    undeclared = sorted(set(defaults) - set(options))
    assert not undeclared, f"roles/{role}: defaults not in meta/argument_specs.yml: {undeclared}"


def _templated(value):
    """Whether a default holds a Jinja expression anywhere (a dict of templated lists counts)."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(_templated(item) for item in value.values())
    if isinstance(value, list):
        return any(_templated(item) for item in value)
    return False


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_declared_defaults_match(role):
    defaults, options = load(role)
    for name, option in options.items():
        if "default" in option:
            assert name in defaults, f"roles/{role}: {name} has a spec default but no entry in defaults/main.yml"
            assert option["default"] == defaults[name], (
                f"roles/{role}: {name}: spec {option['default']!r} != defaults {defaults[name]!r}"
            )
        elif name in defaults:
            templated = _templated(defaults[name])
            assert defaults[name] is None or templated, (
                f"roles/{role}: {name} defaults to {defaults[name]!r} but its spec gives no default"
            )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_public_variable_is_prefixed(role):
    defaults, options = load(role)
    wrong = sorted(name for name in set(defaults) | set(options) if not name.startswith(f"{role}_"))
    assert not wrong, f"roles/{role}: public variables must start with {role}_: {wrong}"


class _AnyTagLoader(yaml.SafeLoader):
    """safe_load that reads a tagged node (!vault, !unsafe, ...) as its plain value."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _entry_point(tasks_from: str) -> str:
    """The task file a tasks_from value names, as an entry point name ("x.yml", "x.yaml" and "x" are "x")."""
    name = Path(tasks_from).name
    for suffix in (".yml", ".yaml"):
        name = name.removesuffix(suffix)
    return name


def tasks_from_uses() -> dict[tuple[str, str], list[str]]:
    """(role, entry point) of every tasks_from in roles/, playbooks/ and molecule/, with where each is used."""
    uses: dict[tuple[str, str], list[str]] = {}
    for top in CALLERS:
        for path in sorted([*top.rglob("*.yml"), *top.rglob("*.yaml")]):
            text = path.read_text(encoding="utf-8")
            if "tasks_from" not in text:
                continue
            for node in _walk(yaml.load(text, Loader=_AnyTagLoader)):
                if "tasks_from" not in node:
                    continue
                role, tasks_from = node.get("name", node.get("role")), node["tasks_from"]
                where = str(path.relative_to(ROOT))
                if not all(isinstance(value, str) and "{{" not in value for value in (role, tasks_from)):
                    # A templated role or file cannot be checked here: reported by test_tasks_from_uses_are_found.
                    uses.setdefault(("?", f"{role!r} tasks_from {tasks_from!r}"), []).append(where)
                    continue
                if not role.startswith(COLLECTION):
                    continue  # another collection's role
                key = (role.removeprefix(COLLECTION), _entry_point(tasks_from))
                uses.setdefault(key, []).append(where)
    return uses


ALL_USES = tasks_from_uses()
TASKS_FROM = {key: where for key, where in ALL_USES.items() if key[0] != "?"}


def test_tasks_from_uses_are_found():
    templated = {key[1]: where for key, where in ALL_USES.items() if key[0] == "?"}
    assert not templated, f"tasks_from of a templated role or file, which this test cannot check: {templated}"
    # Known callers: playbooks/backup.yml, playbooks/restore.yml, the headscale and derp TLS, forwarding.
    for key in [("headscale", "backup"), ("headscale", "restore"), ("internal_ca", "issue"), ("_common", "forwarding")]:
        assert key in TASKS_FROM, f"no tasks_from use of {key} found; is the walk over roles/playbooks/molecule broken?"


@pytest.mark.parametrize(("role", "entry"), sorted(TASKS_FROM), ids=lambda value: value)
def test_every_tasks_from_file_has_an_entry_point(role, entry):
    where = ", ".join(TASKS_FROM[(role, entry)])
    assert (ROLES / role / "tasks" / f"{entry}.yml").exists(), f"roles/{role}/tasks/{entry}.yml (used by {where})"
    assert entry in specs(role), (
        f"roles/{role}/meta/argument_specs.yml: no entry point {entry!r} for tasks/{entry}.yml (used by {where})"
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_entry_point_is_documented_and_names_a_task_file(role):
    for entry, spec in specs(role).items():
        assert (ROLES / role / "tasks" / f"{entry}.yml").exists(), (
            f"roles/{role}: entry point {entry!r} has no tasks file"
        )
        assert spec.get("short_description") and spec.get("description"), (
            f"roles/{role}: entry point {entry!r} needs a short_description and a description"
        )
        internal = sorted(name for name in spec.get("options", {}) if name.startswith("__"))
        assert not internal, f"roles/{role}: {entry}: internal variables are not options: {internal}"


# What an option of a tasks_from entry point must keep of main's definition: Ansible validates the variables
# with it, so a different type or default would check (or document) the same variable two ways.
SAME_AS_MAIN = ("type", "default", "elements", "choices", "no_log", "required")


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_entry_point_options_are_mains(role):
    entries = specs(role)
    main = entries["main"]["options"]
    for entry, spec in entries.items():
        if entry == "main":
            continue
        for name, option in spec.get("options", {}).items():
            assert name in main, f"roles/{role}: {entry}: {name} is not an option of main"
            for key in SAME_AS_MAIN:
                assert option.get(key) == main[name].get(key), (
                    f"roles/{role}: {entry}: {name}: {key} {option.get(key)!r} != main's {main[name].get(key)!r}"
                )


def test_callers_name_entry_points_without_the_extension():
    # Ansible validates a tasks_from include against the entry point of exactly that string, so `x.yml` runs
    # the file unchecked (ansible/ansible#75456): every caller in this collection names the entry point.
    with_extension = []
    for top in CALLERS:
        for path in sorted(top.rglob("*.yml")):
            text = path.read_text(encoding="utf-8")
            if "tasks_from" not in text:
                continue
            for node in _walk(yaml.load(text, Loader=_AnyTagLoader)):
                value = node.get("tasks_from") if isinstance(node, dict) else None
                name = node.get("name", node.get("role")) if isinstance(node, dict) else None
                ours = isinstance(name, str) and name.startswith(COLLECTION)
                if ours and isinstance(value, str) and value.endswith((".yml", ".yaml")):
                    with_extension.append(f"{path.relative_to(ROOT)}: tasks_from: {value}")
    assert not with_extension, "name the entry point, not the file: " + "; ".join(with_extension)
