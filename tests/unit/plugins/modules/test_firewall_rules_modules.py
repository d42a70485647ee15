"""ufw_rules and firewalld_rules in-process where their firewall is not installed (this controller).

What they do on a host with ufw or firewalld is proven in the firewall_ufw, firewall_firewalld and
exit_node scenarios; here: a rule set that does not parse is refused before anything else, check mode on
a host the same run would install the firewall on reports the rule set as the change, and removal from a
host wgops never set up is a no-op.
"""

import re
import sys
from unittest import mock

import pytest
from helpers import module_runner

from ansible_collections.wgops.fleet.plugins.module_utils._firewall import firewalld as firewall_firewalld
from ansible_collections.wgops.fleet.plugins.modules import firewalld_rules, ufw_rules

RULES = "[defaults]\nincoming = deny\n[rules]\nallow in proto tcp to any port 22 comment 'wgops: ssh'\n"
BUNDLE = "### zones/wgops-tunnel.xml\n<zone/>\n"


def run(main, args, check_mode=False):
    patches = [
        mock.patch.dict(sys.modules, {"ufw": None}),  # importing ufw fails, as on a host without it
        mock.patch.object(firewall_firewalld.shutil, "which", lambda name: None),
    ]
    return module_runner.run_module(main, args, patches, check_mode=check_mode, diff=True, mask_no_log=False)


@pytest.mark.parametrize(
    ("main", "content", "path"),
    [(ufw_rules.main, RULES, "ufw.rules"), (firewalld_rules.main, BUNDLE, "wgops.bundle")],
    ids=["ufw", "firewalld"],
)
def test_check_mode_before_the_firewall_is_installed(main, content, path, tmp_path):
    target = tmp_path / path
    result, failed = run(main, {"content": content, "path": str(target)}, check_mode=True)
    assert not failed, result
    assert result["changed"] is True
    assert result["changes"][0].startswith("install ") and result["changes"][1] == str(target)
    assert result["diff"] == [
        {"before_header": str(target), "before": "", "after_header": str(target), "after": content}
    ]
    assert not target.exists()


@pytest.mark.parametrize("main", [ufw_rules.main, firewalld_rules.main], ids=["ufw", "firewalld"])
def test_applying_without_the_firewall_fails(main, tmp_path):
    content = RULES if main is ufw_rules.main else BUNDLE
    result, failed = run(main, {"content": content, "path": str(tmp_path / "spec")})
    assert failed
    assert "ufw" in result["msg"] if main is ufw_rules.main else "firewalld is not installed" in result["msg"]


@pytest.mark.parametrize("main", [ufw_rules.main, firewalld_rules.main], ids=["ufw", "firewalld"])
def test_removing_from_a_host_never_set_up_is_a_no_op(main, tmp_path):
    result, failed = run(main, {"state": "absent", "path": str(tmp_path / "missing")})
    assert not failed and result["changed"] is False and result["changes"] == []


@pytest.mark.parametrize(
    ("main", "content", "message"),
    [
        (ufw_rules.main, "[rules]\n[filter]\n", r"spec:2: unknown section \[filter\]"),
        (firewalld_rules.main, "### zones/public.xml\n", "spec:1: 'zones/public.xml' is not zones/wgops"),
    ],
    ids=["ufw", "firewalld"],
)
def test_a_bad_rule_set_is_refused_naming_the_line(main, content, message, tmp_path):
    result, failed = run(main, {"content": content, "path": str(tmp_path / "spec")}, check_mode=True)
    assert failed
    assert re.search(message, result["msg"]), result["msg"]
