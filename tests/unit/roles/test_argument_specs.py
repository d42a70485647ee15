"""Every role's meta/argument_specs.yml declares all of its defaults, with the same default values."""

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
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
