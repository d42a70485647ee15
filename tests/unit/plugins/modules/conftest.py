"""Fixtures for the module tests: the binaries the modules are pointed at, stand-ins that fail if run."""

import pytest
from helpers import headscale_fake, tailscale_fake


@pytest.fixture
def headscale_binary(tmp_path) -> str:
    """An executable ``headscale`` that exits 99: the module must go through helpers.headscale_fake."""
    return headscale_fake.fake_binary(tmp_path)


@pytest.fixture
def tailscale_binary(tmp_path) -> str:
    """An executable ``tailscale`` that exits 99: the module must go through helpers.tailscale_fake."""
    return tailscale_fake.fake_binary(tmp_path)
