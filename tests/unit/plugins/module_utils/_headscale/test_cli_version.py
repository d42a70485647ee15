"""headscale_cli.installed_version: the installed binary's version without a server (what the role plans by)."""

import pytest
from helpers.headscale_fake import VERSIONS, FakeHeadscale

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import cli as hc

# What each recorded binary is, written down by hand from the fixture READMEs: the 0.26.1 `go install`
# build prints "dev" (version_text.out), so only its minor is known; the others print their release.
EXPECTED = {
    "v0.26.1": ((0, 26, 0), False),
    "v0.27.1": ((0, 27, 1), True),
    "v0.28.0": ((0, 28, 0), True),
    "v0.29.3": ((0, 29, 3), True),
}


class FakeModule:
    """Just what installed_version uses of AnsibleModule; ``found`` is what get_bin_path finds."""

    def __init__(self, fake, found=None):
        self.fake = fake
        self.found = found
        self.looked_up = []

    def run_command(self, argv, environ_update=None):
        return self.fake(argv, environ_update=environ_update)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        self.looked_up.append((name, tuple(opt_dirs or ())))
        return self.found


def executable(tmp_path, name="headscale"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\nexit 99\n")
    path.chmod(0o755)
    return str(path)


def test_every_recorded_version_is_expected():
    assert sorted(EXPECTED) == sorted(VERSIONS)


@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_recorded_binaries(version, tmp_path):
    fake = FakeHeadscale(version)
    assert hc.installed_version(FakeModule(fake), executable(tmp_path)) == EXPECTED[version]
    # `version` (and the help probes of a dev build) only: never -c, nothing that needs a server
    assert {call["config"] for call in fake.calls} == {None}
    assert {call["args"][0] for call in fake.calls} <= {"version", "auth", "preauthkeys"}


def test_026_release_prints_text(tmp_path):
    # a 0.26 release build: `version -o json` is refused (no -o flag), `version` prints the bare version
    fake = FakeHeadscale("v0.26.1")
    fake.rules.clear()
    fake.on(["version"], rc=1, err="Error: unknown shorthand flag: 'o' in -o\n", json_output=True)
    fake.on(["version"], out="v0.26.1\n", json_output=False)
    assert hc.installed_version(FakeModule(fake), executable(tmp_path)) == ((0, 26, 1), True)


def test_binary_found_by_name_in_the_usual_directories(tmp_path):
    module = FakeModule(FakeHeadscale("v0.29.3"), found=executable(tmp_path))
    assert hc.installed_version(module, "headscale") == ((0, 29, 3), True)
    assert module.looked_up == [("headscale", ("/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin"))]


def test_missing_binary_is_no_version(tmp_path):
    fake = FakeHeadscale("v0.29.3")
    assert hc.installed_version(FakeModule(fake), str(tmp_path / "headscale")) == (None, True)
    assert hc.installed_version(FakeModule(fake, found=None), "headscale") == (None, True)
    assert hc.installed_version(FakeModule(fake, found=None), None) == (None, True)
    assert fake.calls == []


def test_binary_that_cannot_run_fails(tmp_path):
    path = tmp_path / "headscale"
    path.write_text("")
    path.chmod(0o644)
    with pytest.raises(hc.HeadscaleError, match="not executable"):
        hc.installed_version(FakeModule(FakeHeadscale("v0.29.3")), str(path))


def test_unreadable_version_fails(tmp_path):
    fake = FakeHeadscale("v0.29.3")
    fake.rules.clear()
    fake.on(["version"], rc=1, err="boom", json_output=True)
    fake.on(["version"], rc=2, err="Segmentation fault", json_output=False)
    with pytest.raises(hc.HeadscaleError, match=r"read the headscale version.*rc=2.*Segmentation fault"):
        hc.installed_version(FakeModule(fake), executable(tmp_path))


def test_versions_before_026_are_reported_not_refused(tmp_path):
    fake = FakeHeadscale("v0.27.1")
    fake.rules.clear()
    fake.on(["version"], out='{"version": "v0.25.1"}', json_output=True)
    assert hc.installed_version(FakeModule(fake), executable(tmp_path)) == ((0, 25, 1), True)


def test_cli_marks_probed_versions_inexact(tmp_path):
    fake = FakeHeadscale("v0.26.1")
    cli = hc.HeadscaleCLI(FakeModule(fake), binary=executable(tmp_path))
    assert cli.version == (0, 26, 0)
    assert cli.version_exact is False
    cli = hc.HeadscaleCLI(FakeModule(FakeHeadscale("v0.28.0")), binary=executable(tmp_path))
    assert cli.version == (0, 28, 0)
    assert cli.version_exact is True
