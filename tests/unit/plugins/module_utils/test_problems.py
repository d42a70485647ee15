"""Problems reported all at once (plugins/module_utils/_problems.py)."""

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError, Problem


def test_a_problem_names_host_and_variable():
    assert str(Problem("gw", "wireguard_mtu", "9001 is too big")) == "host gw: wireguard_mtu: 9001 is too big"


def test_every_problem_is_in_the_message_under_its_subject():
    problems = [Problem("a", "x", "one"), Problem("b", "y", "two")]
    error = PlanError(problems)
    assert error.problems == problems
    assert str(error) == "the WireGuard inventory has 2 problem(s):\n  - host a: x: one\n  - host b: y: two"
    assert str(PlanError(problems[:1], "the Headscale settings")) == (
        "the Headscale settings: 1 problem(s):\n  - host a: x: one"
    )
