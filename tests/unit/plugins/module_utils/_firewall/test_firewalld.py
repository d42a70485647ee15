"""Unit tests of the pure parts of module_utils/_firewall/firewalld.py (the backend of wgops.fleet.firewalld_rules).

firewalld's own check, reload and start run on a real host in the firewall_firewalld scenario.
"""

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._firewall import firewalld as ff

ZONE = '<?xml version="1.0" encoding="utf-8"?>\n<zone target="DROP">\n  <interface name="wg0"/>\n</zone>\n'
POLICY = '<?xml version="1.0" encoding="utf-8"?>\n<policy priority="-100" target="DROP"/>\n'
BUNDLE = f"# Ansible managed\n\n### zones/wgops-tunnel.xml\n{ZONE}### policies/wgops-in.xml\n{POLICY}"


def test_parse_bundle_splits_the_files():
    assert ff.parse_bundle(BUNDLE) == {"zones/wgops-tunnel.xml": ZONE, "policies/wgops-in.xml": POLICY}
    assert ff.parse_bundle("# nothing to apply\n") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("### zones/public.xml\n<zone/>\n", "b:1: 'zones/public.xml' is not zones/wgops"),
        ("### services/wgops-x.xml\n", "b:1: 'services/wgops-x.xml' is not"),
        ("### zones/wgops-this-name-is-too-long.xml\n", "b:1: "),  # firewalld allows 17 characters
        ("<zone/>\n### zones/wgops.xml\n", "b:1: text before the first ### line"),
    ],
)
def test_parse_bundle_refuses_what_is_not_ours(text, message):
    with pytest.raises(ff.FirewalldRulesError, match=message):
        ff.parse_bundle(text, "b")


def test_installed_and_place_touch_only_wgops_files(tmp_path):
    root = tmp_path / "firewalld"
    (root / "zones").mkdir(parents=True)
    (root / "zones" / "public.xml").write_text("<zone/>\n")
    (root / "zones" / "wgops-old.xml").write_text("<zone/>\n")
    old = ff.installed(str(root))
    assert old == {"zones/wgops-old.xml": "<zone/>\n"}
    new = ff.parse_bundle(BUNDLE)
    ff.place(str(root), old, new)
    assert ff.installed(str(root)) == new
    assert (root / "zones" / "public.xml").read_text() == "<zone/>\n"  # the distribution's zone stays
    assert (root / "policies" / "wgops-in.xml").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (root / "zones").iterdir()) == ["public.xml", "wgops-tunnel.xml"]


def test_changed_files_and_report():
    old = {"zones/wgops-tunnel.xml": ZONE, "policies/wgops-old.xml": POLICY}
    new = {"zones/wgops-tunnel.xml": ZONE.replace("DROP", "REJECT"), "policies/wgops-in.xml": POLICY}
    assert ff.changed_files(old, new) == ["policies/wgops-in.xml", "policies/wgops-old.xml", "zones/wgops-tunnel.xml"]
    plan = ff.Plan(old, new, running=False, start=True, enable=True, reload=True)
    assert plan.report() == [
        "/etc/firewalld/policies/wgops-in.xml",
        "/etc/firewalld/policies/wgops-old.xml",
        "/etc/firewalld/zones/wgops-tunnel.xml",
        "start firewalld",
        "enable firewalld",
    ]
    # the files are as wanted but the running firewalld lost a zone: a reload, said so
    same = ff.Plan(new, new, running=True, start=False, enable=False, reload=True)
    assert same.report() == ["reload firewalld (a wgops zone or policy is not loaded)"]
    assert ff.Plan(new, new, running=True, start=False, enable=False, reload=False).report() == []
