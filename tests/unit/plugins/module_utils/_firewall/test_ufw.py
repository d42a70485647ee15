"""Unit tests of the pure parts of module_utils/_firewall/ufw.py (the ufw backend of wgops.fleet.ufw_rules).

The parts that need ufw's Python package (its parser, writer and reload) run on real hosts in the
firewall_ufw and exit_node scenarios.
"""

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._firewall import ufw as fu

RULE_SET = """\
# Ansible managed
[defaults]
incoming = deny
routed = reject
[rules]
allow in proto tcp to any port 22 comment 'wgops: ssh'
allow in on wg0 proto udp to any port 53 comment 'wgops: dns'
[nat]
-s 10.99.0.0/24 -o eth0 -j MASQUERADE
[nat6]
-s fd00:99::/64 -o eth0 -j MASQUERADE
"""


def test_parse_rule_set_sections_in_order():
    parsed = fu.parse_rule_set(RULE_SET)
    assert parsed.defaults == {"incoming": "deny", "routed": "reject"}
    assert parsed.rules == [
        (6, "allow in proto tcp to any port 22 comment 'wgops: ssh'"),
        (7, "allow in on wg0 proto udp to any port 53 comment 'wgops: dns'"),
    ]
    assert parsed.nat == {4: ["-s 10.99.0.0/24 -o eth0 -j MASQUERADE"], 6: ["-s fd00:99::/64 -o eth0 -j MASQUERADE"]}


def test_parse_rule_set_empty_sections():
    parsed = fu.parse_rule_set("[defaults]\n[rules]\n")
    assert parsed.defaults == {} and parsed.rules == [] and parsed.nat == {4: [], 6: []}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[filter]\n", "x:1: unknown section [filter]"),
        ("allow 22\n", "x:1: line outside a section"),
        ("[defaults]\nincoming = allow\n", "x:2: expected incoming = deny|reject"),
        ("[defaults]\n\noutgoing = deny\n", "x:3: expected incoming"),
    ],
)
def test_parse_rule_set_refuses_naming_the_line(text, message):
    with pytest.raises(fu.UfwRulesError, match=message.replace("[", r"\[").replace("|", r"\|")):
        fu.parse_rule_set(text, "x")


def test_set_defaults_text_changes_only_the_keys_given():
    text = 'IPV6=yes\nDEFAULT_INPUT_POLICY="ACCEPT"\n# comment\nDEFAULT_FORWARD_POLICY="DROP"\n'
    changed = fu.set_defaults_text(text, {"DEFAULT_INPUT_POLICY": '"DROP"', "NEW": "1"})
    assert changed == 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\n# comment\nDEFAULT_FORWARD_POLICY="DROP"\nNEW=1\n'
    assert fu.set_defaults_text(text, {}) == text


def test_policy_settings_use_ufw_spelling():
    assert fu.policy_settings({"incoming": "reject", "routed": "allow"}) == {
        "DEFAULT_INPUT_POLICY": '"REJECT"',
        "DEFAULT_FORWARD_POLICY": '"ACCEPT"',
    }
    assert fu.policy_settings({}) == {}


def test_nat_payload_is_one_restore_transaction_of_the_chain():
    payload = fu.nat_payload(["-s 10.0.0.0/8 -o eth0 -j MASQUERADE"])
    assert payload.splitlines() == [
        "*nat",
        ":WGOPS-POSTROUTING - [0:0]",  # declaring the chain flushes it under --noflush
        "-A WGOPS-POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE",
        "COMMIT",
    ]


def test_nat_unit_loads_each_family_and_adds_one_jump():
    unit = fu.nat_unit_text(
        {
            4: ("/usr/sbin/iptables", "/usr/sbin/iptables-restore"),
            6: ("/usr/sbin/ip6tables", "/usr/sbin/ip6tables-restore"),
        }
    )
    exec_lines = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert exec_lines == [
        "ExecStart=/usr/sbin/iptables-restore --noflush /etc/ufw/wgops-nat.rules",
        "ExecStart=/bin/sh -c '/usr/sbin/iptables -t nat -C POSTROUTING -j WGOPS-POSTROUTING 2>/dev/null"
        " || /usr/sbin/iptables -t nat -A POSTROUTING -j WGOPS-POSTROUTING'",
        "ExecStart=/usr/sbin/ip6tables-restore --noflush /etc/ufw/wgops-nat6.rules",
        "ExecStart=/bin/sh -c '/usr/sbin/ip6tables -t nat -C POSTROUTING -j WGOPS-POSTROUTING 2>/dev/null"
        " || /usr/sbin/ip6tables -t nat -A POSTROUTING -j WGOPS-POSTROUTING'",
    ]
    assert "After=ufw.service" in unit and "WantedBy=multi-user.target" in unit
    only4 = fu.nat_unit_text({4: ("/usr/sbin/iptables", "/usr/sbin/iptables-restore")})
    assert "ip6tables" not in only4


def test_plan_reports_changed_files_nat_units_and_start():
    plan = fu.Plan(
        files_before={"/etc/ufw/wgops.rules": None, "/etc/ufw/user.rules": "a", "/etc/default/ufw": "x"},
        files_after={"/etc/ufw/wgops.rules": "rules", "/etc/ufw/user.rules": "b", "/etc/default/ufw": "x"},
        nat_changes=[4],
        enable=["ufw"],
        start=True,
        running=False,
        enabled=True,
    )
    assert plan.changed_files == ["/etc/ufw/user.rules", "/etc/ufw/wgops.rules"]
    assert plan.report() == [
        "/etc/ufw/user.rules",
        "/etc/ufw/wgops.rules",
        "nat WGOPS-POSTROUTING (IPv4)",
        "enable ufw",
        "start ufw",
    ]


def test_write_keeps_the_mode_and_replaces_atomically(tmp_path):
    target = tmp_path / "user.rules"
    fu.write(str(target), "new\n")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o640)
    fu.write(str(target), "newer\n")
    assert target.read_text() == "newer\n" and target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["user.rules"]  # no scratch file left
    assert fu.read(str(tmp_path / "missing")) is None


class _RaisingModule:
    def __init__(self, exc):
        self.exc = exc

    def run_command(self, *args, **kwargs):
        raise self.exc


def test_module_runner_turns_os_errors_into_failed_commands():
    from ansible_collections.wgops.fleet.plugins.module_utils._firewall.commands import module_runner

    assert module_runner(_RaisingModule(FileNotFoundError(2, "No such file")))(["iptables-restore"]).returncode == 127
    broken = module_runner(_RaisingModule(BrokenPipeError(32, "Broken pipe")))(["iptables-restore"], "*nat\n")
    assert broken.returncode == 1 and "Broken pipe" in broken.stderr
