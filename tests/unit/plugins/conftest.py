"""Fixtures for the plugin tests (module_utils, modules, filters, action)."""

import pytest
from helpers.headscale_fake import recorded_at


@pytest.fixture(autouse=True)
def _recorded_clock(request, monkeypatch):
    """Read the recorded Headscale output as of its recording time.

    The fixtures are CLI output recorded by real servers (keys with 1 h expiries among them): read at the
    wall clock they would "expire" an hour after the recording. A test parametrized by ``version`` gets that
    version's ``recorded_at`` (helpers.headscale_fake.recorded_at), any other the common recording time.
    """
    from ansible_collections.wgops.fleet.plugins.module_utils._headscale import cli as headscale_cli

    callspec = getattr(request.node, "callspec", None)
    at = recorded_at(callspec.params.get("version") if callspec else None)
    monkeypatch.setattr(headscale_cli, "clock", lambda: at)
