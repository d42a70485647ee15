# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ufw match a wgops rule set, touching only what wgops owns (the backend of wgops.fleet.ufw_rules).

The rule set (the firewall role's ``ufw.rules.j2``) has these sections:

    [defaults]    incoming = deny|reject; routed = deny|reject|allow (ufw's default policies)
    [rules]       ufw rule commands without the leading ``ufw`` (``allow in proto tcp to any port 22 comment
                  'wgops: ssh'``); every comment starts with "wgops". They go first, in this order, before
                  the user's own rules.
    [nat] [nat6]  rules of the WGOPS-POSTROUTING chain of the nat table, as ``iptables -S`` prints them
                  without "-A CHAIN" (``-s 10.99.0.0/24 -o eth0 -j MASQUERADE``).

Rules commented "wgops..." that the rule set no longer lists are removed; other rules are kept as they are.
Every rule is parsed by ufw's own parser and the NAT rules are checked with ``iptables-restore --test``
before anything is written; the new files are then applied in one reload (the user chains alone when only
they changed). When the reload fails the previous files are put back and reloaded.

NAT is not a ufw feature (its documentation suggests a ``*nat`` section in before.rules, which ``ufw
reload`` appends again on every reload): the masquerade rules live in their own chain, WGOPS-POSTROUTING,
filled with one ``iptables-restore`` and jumped to once from POSTROUTING. At boot ``ufw.service`` loads
ufw's rules and ``wgops-ufw-nat.service`` the NAT chain, from restore files next to ufw's own.

The pure parts (the rule-set parser, the defaults editor, the NAT payload and unit) are unit-tested
without ufw; ``UfwHost`` needs ufw's Python package, which only the system Python has.
"""

from __future__ import annotations

import gettext
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._firewall.commands import Runner

TAG = "wgops"
POLICY_VALUES = {"deny": '"DROP"', "reject": '"REJECT"', "allow": '"ACCEPT"'}
DEFAULTS_ALLOWED = {"incoming": ("deny", "reject"), "routed": ("deny", "reject", "allow")}
NAT_CHAIN = "WGOPS-POSTROUTING"
NAT_UNIT = "/etc/systemd/system/wgops-ufw-nat.service"
NAT_FILES = {4: "/etc/ufw/wgops-nat.rules", 6: "/etc/ufw/wgops-nat6.rules"}


class UfwRulesError(Exception):
    pass


@dataclass
class RuleSet:
    defaults: dict[str, str] = field(default_factory=dict)
    rules: list[tuple[int, str]] = field(default_factory=list)
    nat: dict[int, list[str]] = field(default_factory=lambda: {4: [], 6: []})


def parse_rule_set(text: str, where: str = "rules") -> RuleSet:
    """The sections of a rule set; raises UfwRulesError naming the line."""
    sections: dict[str, list[tuple[int, str]]] = {"defaults": [], "rules": [], "nat": [], "nat6": []}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in sections:
                raise UfwRulesError(f"{where}:{number}: unknown section {line}")
            continue
        if current is None:
            raise UfwRulesError(f"{where}:{number}: line outside a section")
        sections[current].append((number, line))
    result = RuleSet(rules=sections["rules"])
    for number, line in sections["defaults"]:
        key, _ignored, value = (part.strip() for part in line.partition("="))
        if key not in DEFAULTS_ALLOWED or value not in DEFAULTS_ALLOWED[key]:
            raise UfwRulesError(f"{where}:{number}: expected incoming = deny|reject or routed = deny|reject|allow")
        result.defaults[key] = value
    result.nat = {4: [line for _ignored, line in sections["nat"]], 6: [line for _ignored, line in sections["nat6"]]}
    return result


def set_defaults_text(text: str, values: dict[str, str]) -> str:
    """``text`` (a KEY=value file like /etc/default/ufw) with ``values`` set, other lines as they are."""
    values = dict(values)
    out = []
    for line in text.splitlines(keepends=True):
        key = line.split("=", 1)[0].strip()
        out.append(f"{key}={values.pop(key)}\n" if key in values else line)
    out.extend(f"{key}={value}\n" for key, value in values.items())
    return "".join(out)


def policy_settings(defaults: dict[str, str]) -> dict[str, str]:
    """/etc/default/ufw settings for the rule set's [defaults]."""
    settings = {}
    if "incoming" in defaults:
        settings["DEFAULT_INPUT_POLICY"] = POLICY_VALUES[defaults["incoming"]]
    if "routed" in defaults:
        settings["DEFAULT_FORWARD_POLICY"] = POLICY_VALUES[defaults["routed"]]
    return settings


def nat_payload(rules: list[str]) -> str:
    """An ``iptables-restore --noflush`` payload that makes WGOPS-POSTROUTING hold exactly ``rules``."""
    return f"*nat\n:{NAT_CHAIN} - [0:0]\n" + "".join(f"-A {NAT_CHAIN} {rule}\n" for rule in rules) + "COMMIT\n"


def nat_unit_text(families: dict[int, tuple[str, str]]) -> str:
    """wgops-ufw-nat.service: at boot, after ufw, the NAT chain from its restore file and one jump to it.

    ``families`` maps 4/6 to (iptables, iptables-restore) paths, for the families whose file is written.
    """
    lines = [
        "# Written by wgops.fleet.ufw_rules (the wgops.fleet.firewall role, ufw backend): ufw has no NAT, so the",
        f"# masquerade rules live in their own chain of the nat table, {NAT_CHAIN}; this loads them at boot.",
        "[Unit]",
        "Description=wgops.fleet masquerade rules next to ufw",
        "After=ufw.service",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
    ]
    for family in sorted(families):
        exe, restore = families[family]
        lines.append(f"ExecStart={restore} --noflush {NAT_FILES[family]}")
        jump = f"-t nat {{}} POSTROUTING -j {NAT_CHAIN}"
        lines.append(f"ExecStart=/bin/sh -c '{exe} {jump.format('-C')} 2>/dev/null || {exe} {jump.format('-A')}'")
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def read(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write(path: str, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` atomically, keeping its mode when it exists."""
    handle, scratch = tempfile.mkstemp(prefix=".wgops-", dir=os.path.dirname(path))
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(scratch, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else mode)
    os.replace(scratch, path)


def remove(path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)


@dataclass
class Plan:
    """What applying a rule set changes: file contents (None: absent) before and after, and actions."""

    files_before: dict[str, str | None]
    files_after: dict[str, str | None]
    nat_changes: list[int]
    enable: list[str]
    start: bool
    running: bool
    enabled: bool

    @property
    def changed_files(self) -> list[str]:
        return sorted(path for path in self.files_after if self.files_after[path] != self.files_before[path])

    def report(self) -> list[str]:
        return (
            self.changed_files
            + [f"nat {NAT_CHAIN} (IPv{family})" for family in self.nat_changes]
            + [f"enable {name}" for name in self.enable]
            + (["start ufw"] if self.start else [])
        )


class UfwHost:
    """ufw on this host, through ufw's own Python package (parser, rule writer, reload)."""

    def __init__(self, run: Runner) -> None:
        self.run = run
        import ufw.common
        import ufw.frontend
        import ufw.util

        gettext.install(ufw.common.programName)  # ufw's messages call _()
        from ufw.backend_iptables import UFWBackendIptables

        self.ufw = ufw
        self.backend_class = UFWBackendIptables
        self.backend = self.new_backend()
        self.use_ipv6 = bool(self.backend.use_ipv6())
        self.families = {4: (self.backend.iptables, self.backend.iptables_restore)}
        if self.use_ipv6:
            self.families[6] = (self.backend.ip6tables, self.backend.ip6tables_restore)

    def new_backend(self) -> Any:
        """A ufw backend. Its constructor checks that the running program (``sys.argv[0]``) and ufw's files
        are root's and not writable by others; a module runs from a zip archive that cannot be checked that
        way, so ufw's own command stands in for it."""
        saved = sys.argv[0] if sys.argv else ""
        if sys.argv:
            sys.argv[0] = shutil.which("ufw") or "/usr/sbin/ufw"
        else:
            sys.argv.append(shutil.which("ufw") or "/usr/sbin/ufw")
        try:
            return self.backend_class(False)
        finally:
            sys.argv[0] = saved

    # -- checking ------------------------------------------------------------------------------------

    def parse_rules(self, rule_set: RuleSet, where: str) -> tuple[list[Any], list[Any]]:
        """ufw's parser on every rule: (IPv4 rules, IPv6 rules) as ufw rule objects, in order."""
        ufw = self.ufw
        rules4: list[Any] = []
        rules6: list[Any] = []
        for number, line in rule_set.rules:
            try:
                parsed = ufw.frontend.parse_command(["ufw", *shlex.split(line)])
            except (ufw.common.UFWError, ValueError, SystemExit) as exc:
                raise UfwRulesError(
                    f"{where}:{number}: ufw cannot parse '{line}': {getattr(exc, 'value', exc)}"
                ) from None
            rule = parsed.data.get("rule")
            if parsed.action not in ("allow", "deny", "reject", "limit") or rule is None:
                raise UfwRulesError(f"{where}:{number}: '{line}' is not a ufw rule")
            if not ufw.util.hex_decode(rule.comment).startswith(TAG):
                raise UfwRulesError(f"{where}:{number}: '{line}' needs a comment starting with '{TAG}'")
            iptype = parsed.data.get("iptype", "both")
            for v6, wanted, target in ((False, ("v4", "both"), rules4), (True, ("v6", "both"), rules6)):
                if iptype in wanted and (self.use_ipv6 or not v6):
                    copy = rule.dup_rule()
                    copy.set_v6(v6)
                    copy.normalize()
                    target.append(copy)
        return rules4, rules6

    def check_nat(self, rule_set: RuleSet) -> None:
        for family, (_exe, restore) in self.families.items():
            if rule_set.nat[family]:
                result = self.run([restore, "--test", "--noflush"], nat_payload(rule_set.nat[family]))
                if result.returncode != 0:
                    raise UfwRulesError(f"{restore} --test refused the IPv{family} NAT rules: {result.stderr.strip()}")

    # -- planning ------------------------------------------------------------------------------------

    def ours(self, rule: Any) -> bool:
        return self.ufw.util.hex_decode(rule.comment).startswith(TAG) if rule.comment else False

    def render_user_rules(self, rules: list[Any], v6: bool) -> str:
        """The user rules file ufw itself would write for ``rules`` (its own writer, into a scratch file)."""
        backend = self.backend
        key = "rules6" if v6 else "rules"
        real = backend.files[key]
        handle, scratch = tempfile.mkstemp(prefix="wgops-ufw-", dir=os.path.dirname(real))
        os.close(handle)
        saved = backend.rules6 if v6 else backend.rules
        try:
            backend.files[key] = scratch
            if v6:
                backend.rules6 = rules
            else:
                backend.rules = rules
            backend._write_rules(v6=v6)
            with open(scratch, encoding="utf-8") as new:
                return new.read()
        finally:
            backend.files[key] = real
            if v6:
                backend.rules6 = saved
            else:
                backend.rules = saved
            remove(scratch)

    def nat_current(self, exe: str) -> tuple[list[str] | None, int]:
        """(rules of WGOPS-POSTROUTING as ``iptables -S`` prints them without "-A CHAIN", or None; jumps to it)"""
        listed = self.run([exe, "-t", "nat", "-S", NAT_CHAIN])
        rules = None
        if listed.returncode == 0:
            prefix = f"-A {NAT_CHAIN} "
            rules = [line[len(prefix) :] for line in listed.stdout.splitlines() if line.startswith(prefix)]
        jumps = (
            self.run([exe, "-t", "nat", "-S", "POSTROUTING"])
            .stdout.splitlines()
            .count(f"-A POSTROUTING -j {NAT_CHAIN}")
        )
        return rules, jumps

    def nat_needed(self, exe: str, want: list[str]) -> bool:
        rules, jumps = self.nat_current(exe)
        if not want:
            return rules is not None or jumps > 0
        return rules != want or jumps != 1

    def plan(self, rule_set: RuleSet | None, spec_path: str, spec_text: str | None) -> Plan:
        """What making ufw match ``rule_set`` changes (None: remove everything wgops put there)."""
        backend = self.backend
        files = backend.files
        remove_all = rule_set is None
        want = rule_set or RuleSet()
        rules4, rules6 = self.parse_rules(want, spec_path)
        after: dict[str, str | None] = {spec_path: spec_text}
        after[files["rules"]] = self.render_user_rules(rules4 + [r for r in backend.rules if not self.ours(r)], False)
        if self.use_ipv6:
            after[files["rules6"]] = self.render_user_rules(
                rules6 + [r for r in backend.rules6 if not self.ours(r)], True
            )
        after[files["defaults"]] = set_defaults_text(read(files["defaults"]) or "", policy_settings(want.defaults))
        if not remove_all:
            after[files["conf"]] = set_defaults_text(read(files["conf"]) or "", {"ENABLED": "yes"})
        for family in self.families:
            after[NAT_FILES[family]] = nat_payload(want.nat[family]) if want.nat[family] else None
        nat_families = {f: paths for f, paths in self.families.items() if after[NAT_FILES[f]] is not None}
        after[NAT_UNIT] = nat_unit_text(nat_families) if nat_families else None
        before = {path: read(path) for path in after}
        nat_changes = [f for f, (exe, _r) in self.families.items() if self.nat_needed(exe, want.nat[f])]
        enable = []
        if not remove_all:
            for name in ("ufw", "wgops-ufw-nat") if nat_families else ("ufw",):
                if (
                    after[NAT_UNIT] != before[NAT_UNIT]
                    or self.run(["systemctl", "is-enabled", "--quiet", name]).returncode
                ):
                    enable.append(name)
        running = self.run([backend.iptables, "-n", "-L", "ufw-user-input"]).returncode == 0
        enabled = bool(backend.is_enabled()) or after.get(files["conf"]) != before.get(files["conf"])
        return Plan(before, after, nat_changes, enable, enabled and not running, running, enabled)

    # -- applying ------------------------------------------------------------------------------------

    def apply(self, plan: Plan, rule_set: RuleSet | None) -> None:
        """Write the changed files, reload ufw once (putting the old files back if it fails), then NAT and boot."""
        ufw = self.ufw
        files = self.backend.files
        firewall_files = [
            p for p in plan.changed_files if p in (files["rules"], files["rules6"], files["defaults"], files["conf"])
        ]
        lock = ufw.util.create_lock()
        try:
            for path in firewall_files:
                write(path, plan.files_after[path] or "")
            try:
                self.reload(firewall_files, plan.enabled, plan.running)
            except (UfwRulesError, ufw.common.UFWError, OSError) as exc:
                for path in firewall_files:
                    write(path, plan.files_before[path] or "")
                try:
                    self.reload(firewall_files, plan.enabled and plan.running, plan.running)
                    restored = "the previous rules were restored"
                except Exception as again:
                    restored = f"restoring the previous rules failed too: {getattr(again, 'value', again)}"
                raise UfwRulesError(
                    f"ufw did not take the new rules ({getattr(exc, 'value', exc)}); {restored}"
                ) from None
            want = rule_set or RuleSet()
            for family in plan.nat_changes:
                self.nat_apply(family, want.nat[family])
            unit_changed = NAT_UNIT in plan.changed_files
            if unit_changed and plan.files_after[NAT_UNIT] is None:
                self.run(["systemctl", "disable", "--quiet", "wgops-ufw-nat"])
            for path in plan.changed_files:
                if path not in firewall_files:
                    if plan.files_after[path] is None:
                        remove(path)
                    else:
                        write(path, plan.files_after[path] or "")
            if unit_changed:
                self.run(["systemctl", "daemon-reload"])
            for name in plan.enable:
                self.run(["systemctl", "enable", "--quiet", name])
        finally:
            ufw.util.release_lock(lock)

    def reload(self, changed: list[str], enabled: bool, running: bool) -> None:
        """Load the written files: the user chains alone when only they changed, else a full ufw (re)start."""
        if not enabled:
            return
        files = self.backend.files
        if running and set(changed) <= {files["rules"], files["rules6"]}:
            self.new_backend()._reload_user_rules()
            return
        if running:
            self.new_backend().stop_firewall()
        self.new_backend().start_firewall()

    def nat_apply(self, family: int, want: list[str]) -> None:
        """Make WGOPS-POSTROUTING hold ``want`` (one transaction) and POSTROUTING jump to it once; remove both if empty."""
        exe, restore = self.families[family]
        rules, jumps = self.nat_current(exe)
        if want:
            result = self.run([restore, "--noflush"], nat_payload(want))
            if result.returncode != 0:
                raise UfwRulesError(f"{restore} refused the NAT rules: {result.stderr.strip()}")
        for _ignored in range(jumps - (1 if want else 0)):
            self.run([exe, "-t", "nat", "-D", "POSTROUTING", "-j", NAT_CHAIN])
        if want and jumps == 0:
            result = self.run([exe, "-t", "nat", "-A", "POSTROUTING", "-j", NAT_CHAIN])
            if result.returncode != 0:
                raise UfwRulesError(f"{exe} could not add the jump to {NAT_CHAIN}: {result.stderr.strip()}")
        if not want and rules is not None:
            self.run([exe, "-t", "nat", "-F", NAT_CHAIN])
            self.run([exe, "-t", "nat", "-X", NAT_CHAIN])
