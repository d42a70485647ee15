"""Which config keys each Headscale version reads, and the removed ones (plugins/module_utils/_headscale/keys.py).
The integration test (tests/integration/headscale_config) checks both against the real binaries."""

import itertools

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import keys as hk


def test_keys_come_and_go_with_the_versions():
    assert "node.expiry" in hk.known_keys("0.29.3") and "node.expiry" not in hk.known_keys("0.28.0")
    assert "oidc.expiry" in hk.known_keys("0.28.0") and "oidc.expiry" not in hk.known_keys("0.29.3")
    assert "derp.server.verify_clients" in hk.known_keys(
        "0.27.1"
    ) and "derp.server.verify_clients" not in hk.known_keys("0.26.1")


def test_removed_keys_only_grow_and_say_what_replaces_them():
    versions = ["0.26.1", "0.27.1", "0.28.0", "0.29.3"]
    removed = [set(hk.removed_keys(v)) for v in versions]
    assert all(a <= b for a, b in itertools.pairwise(removed))
    entry = hk.removed_keys("0.29.3")["oidc.expiry"]
    assert entry.renamed_to == "node.expiry" and entry.version == "0.29.0"
    assert "oidc.expiry" not in hk.removed_keys("0.28.0")


def test_a_version_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="is not a version"):
        hk.known_keys("latest")
