"""The Headscale and Tailscale versions the tests pin in tests/versions.env, and every place that has to agree.

The role defaults are the product's one home for each default version; tests/versions.env is the tests' one home
for the versions they build and run. The newest pins equal the defaults, the scenarios and the lab inventory
derive their binaries' paths from the role variables instead of repeating the versions, and the documentation
(which names the versions for its readers) is checked against the pins.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VERSIONS_ENV = REPO / "tests" / "versions.env"
GO_BINARIES = REPO / "tests" / "testbed" / "go-binaries.sh"

# What a shell and this test read alike: KEY="value" without expansions, and an optional comment.
ASSIGNMENT = re.compile(r'^([A-Z][A-Z0-9_]*)="([^"$`\\]*)"[ \t]*(?:#.*)?$')
RELEASE = re.compile(r"^\d+\.\d+\.\d+$")


def read_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate(VERSIONS_ENV.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ASSIGNMENT.match(line)
        assert match, f'tests/versions.env:{number}: not KEY="value": {line!r}'
        assert match[1] not in pins, f"tests/versions.env:{number}: {match[1]} is set twice"
        pins[match[1]] = match[2]
    return pins


PINS = read_pins()
HEADSCALE = PINS["HEADSCALE_VERSIONS"].split()
TAILSCALE = PINS["TAILSCALE_VERSION"]
NEWEST_HEADSCALE = HEADSCALE[-1]


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def role_default(role: str, variable: str) -> str:
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return defaults[variable]


def mentions(text: str, version: str) -> bool:
    """Whether `text` names `version` (also as v0.29.3), not merely a longer one such as 0.29.30 or 10.29.3."""
    return re.search(rf"(?<![\d.]){re.escape(version)}(?!\d|\.\d)", text) is not None


def test_the_pins_are_release_versions_oldest_first():
    assert PINS.keys() == {"HEADSCALE_VERSIONS", "TAILSCALE_VERSION"}
    assert HEADSCALE, "tests/versions.env: HEADSCALE_VERSIONS is empty"
    for version in [*HEADSCALE, TAILSCALE]:
        assert RELEASE.match(version), f"tests/versions.env: {version!r} is not a release version like 0.29.3"
    assert sorted(set(HEADSCALE), key=version_tuple) == HEADSCALE, "HEADSCALE_VERSIONS: oldest first, each once"


def test_go_binaries_builds_the_pins():
    listed = subprocess.run([str(GO_BINARIES), "--versions"], capture_output=True, text=True, check=True).stdout
    assert listed.splitlines() == [f"headscale=v{v}" for v in HEADSCALE] + [f"tailscale=v{TAILSCALE}"]


def test_the_newest_headscale_pin_is_the_role_default():
    assert role_default("headscale", "headscale_version") == NEWEST_HEADSCALE


@pytest.mark.parametrize(("role", "variable"), [("tailscale", "tailscale_version"), ("derp", "derp_version")])
def test_the_tailscale_pin_is_the_role_default(role, variable):
    assert role_default(role, variable) == TAILSCALE


def test_the_role_knows_every_pinned_headscale_release():
    # The upgrade hops walk headscale_known_releases: a pinned version missing there could not be reached.
    known = role_default("headscale", "headscale_known_releases")
    assert set(HEADSCALE) <= set(known), f"add {sorted(set(HEADSCALE) - set(known))} to headscale_known_releases"


def test_the_example_inventory_names_the_default_versions():
    defaults = {
        "headscale_version": role_default("headscale", "headscale_version"),
        "tailscale_version": role_default("tailscale", "tailscale_version"),
        "derp_version": role_default("derp", "derp_version"),
    }
    seen = set()
    for path in sorted((REPO / "inventories" / "example").rglob("*.yml")):
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(values, dict):
            continue
        for variable, default in defaults.items():
            if variable in values:
                seen.add(variable)
                assert str(values[variable]) == default, f"{path.relative_to(REPO)}: {variable} is not the default"
    assert seen == defaults.keys(), f"inventories/example no longer sets {sorted(defaults.keys() - seen)}"


@pytest.mark.parametrize("doc", ["README.md", "docs/support.md"])
@pytest.mark.parametrize("version", [*HEADSCALE, TAILSCALE])
def test_the_docs_name_each_pinned_version(doc, version):
    assert mentions((REPO / doc).read_text(encoding="utf-8"), version), f"{doc} does not name {version}"


# Their literal versions are their subject: the upgrade walks given versions, the filter gets example input.
LITERAL_VERSIONS_ALLOWED = ("molecule/headscale_upgrade/", "molecule/galaxy_install/playbook.yml")


def test_scenarios_and_the_lab_take_the_versions_from_the_roles():
    # `{{ testbed_go_cache }}/headscale/v{{ headscale_version }}/headscale`, not .../v0.29.3/...: the pins move
    # in tests/versions.env and the role defaults only.
    found = []
    for top in ("molecule", "inventories/lab"):
        for path in sorted((REPO / top).rglob("*")):
            relative = path.relative_to(REPO).as_posix()
            if not path.is_file() or relative.startswith(LITERAL_VERSIONS_ALLOWED):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                found += [f"{relative}:{number}: {v}" for v in (NEWEST_HEADSCALE, TAILSCALE) if mentions(line, v)]
    advice = "write v{{ headscale_version }}, v{{ tailscale_version }}, v{{ derp_version }} (or WGOPS_*_VERSION)"
    assert not found, advice + ":\n" + "\n".join(found)


def test_mentions_matches_whole_versions_only():
    assert mentions("Headscale 0.29.3 (role default)", "0.29.3")
    assert mentions("/headscale/v0.29.3/headscale", "0.29.3")
    assert mentions("walks 0.28.0 -> 0.29.3.", "0.29.3")
    assert not mentions("0.29.30", "0.29.3")
    assert not mentions("10.29.3", "0.29.3")
    assert not mentions("0.29.3.1", "0.29.3")


# -- the ansible-core matrix (tests/matrix/run.sh) -------------------------------------------------------


def read_requirements(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _sep, version = line.partition("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_the_matrix_venv_pins_the_test_tools_as_the_project_venv():
    """Only ansible-core (and the ansible package built for it) differ between the two controllers."""
    dev = read_requirements(REPO / "requirements-dev.txt")
    matrix = read_requirements(REPO / "tests" / "matrix" / "requirements-core2.21.txt")
    assert matrix["ansible-core"].startswith("2.21.") and dev["ansible-core"].startswith("2.19.")
    shared = {name: version for name, version in matrix.items() if name not in ("ansible-core", "ansible")}
    assert shared and all(dev.get(name) == version for name, version in shared.items()), shared


def test_requires_ansible_is_the_tested_range():
    """From the project venv's line (the oldest) to the matrix's (the newest), and no further."""
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    oldest = read_requirements(REPO / "requirements-dev.txt")["ansible-core"].split(".")[:2]
    newest = read_requirements(REPO / "tests" / "matrix" / "requirements-core2.21.txt")["ansible-core"].split(".")[:2]
    assert runtime["requires_ansible"] == f">={'.'.join(oldest)}.0,<{newest[0]}.{int(newest[1]) + 1}.0"
