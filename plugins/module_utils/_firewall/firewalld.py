# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make firewalld's wgops zones and policies match a bundle (the backend of wgops.fleet.firewalld_rules).

A bundle holds firewalld XML files, each introduced by a line ``### zones/NAME.xml`` or
``### policies/NAME.xml``; every NAME starts with "wgops". Only files named wgops* under
/etc/firewalld/{zones,policies} are written or removed: the distribution's zones and the user's own
configuration stay as they are.

The candidate configuration (a copy of /etc/firewalld with the new files) is checked with
``firewall-offline-cmd --system-config COPY --check-config`` before anything is written; then the files
are written and firewalld reloads its permanent configuration (or is started, and enabled for boot).
When the reload fails the previous files are put back and reloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass

from ansible_collections.wgops.fleet.plugins.module_utils._firewall.commands import Runner

CONFIG = "/etc/firewalld"
KINDS = ("zones", "policies")
NAME = re.compile(r"^(zones|policies)/(wgops[A-Za-z0-9_-]{0,12})\.xml$")


class FirewalldRulesError(Exception):
    pass


def parse_bundle(text: str, where: str = "bundle") -> dict[str, str]:
    """{relative path: XML} of a bundle; raises FirewalldRulesError naming the line."""
    files: dict[str, str] = {}
    current = None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if line.startswith("### "):
            current = line[4:].strip()
            if not NAME.match(current):
                raise FirewalldRulesError(
                    f"{where}:{number}: '{current}' is not zones/wgops*.xml or policies/wgops*.xml"
                )
            files[current] = ""
        elif current is not None:
            files[current] += line
        elif line.strip() and not line.startswith("#"):
            raise FirewalldRulesError(f"{where}:{number}: text before the first ### line")
    return files


def changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(path for path in set(old) | set(new) if old.get(path) != new.get(path))


def installed(root: str = CONFIG) -> dict[str, str]:
    """{relative path: content} of the wgops files under ``root`` now."""
    found = {}
    for kind in KINDS:
        folder = os.path.join(root, kind)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            relative = f"{kind}/{name}"
            if NAME.match(relative):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    found[relative] = handle.read()
    return found


def place(root: str, old: dict[str, str], new: dict[str, str]) -> None:
    """Make the wgops files under ``root`` go from ``old`` to ``new``."""
    for relative in old:
        if relative not in new:
            os.unlink(os.path.join(root, relative))
    for relative, content in new.items():
        target = os.path.join(root, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        handle, scratch = tempfile.mkstemp(prefix=".wgops-", dir=os.path.dirname(target))
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(scratch, 0o644)
        os.replace(scratch, target)


@dataclass
class Plan:
    old: dict[str, str]
    new: dict[str, str]
    running: bool
    start: bool
    enable: bool
    reload: bool

    @property
    def changed(self) -> list[str]:
        return changed_files(self.old, self.new)

    def report(self) -> list[str]:
        report = [f"{CONFIG}/{path}" for path in self.changed]
        report += ["start firewalld"] if self.start else []
        report += ["enable firewalld"] if self.enable else []
        if self.reload and not report:
            report.append("reload firewalld (a wgops zone or policy is not loaded)")
        return report


class FirewalldHost:
    """firewalld on this host, through its command-line tools, run by `run` (the module's run_command)."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    def available(self) -> bool:
        return shutil.which("firewall-cmd") is not None and shutil.which("firewall-offline-cmd") is not None

    def check(self, old: dict[str, str], new: dict[str, str]) -> None:
        """firewalld's own check of the whole candidate configuration, in a scratch copy of /etc/firewalld."""
        with tempfile.TemporaryDirectory(prefix="wgops-firewalld-") as scratch:
            copy = os.path.join(scratch, "firewalld")
            shutil.copytree(CONFIG, copy, symlinks=True)
            place(copy, old, new)
            result = self.run(["firewall-offline-cmd", "--system-config", copy, "--check-config"])
            if result.returncode != 0:
                raise FirewalldRulesError(
                    f"firewalld refuses the configuration: {(result.stderr or result.stdout).strip()}"
                )

    def running(self) -> bool:
        return self.run(["firewall-cmd", "--state"]).stdout.strip() == "running"

    def loaded(self, new: dict[str, str]) -> bool:
        """Whether the running firewalld knows every zone and policy of ``new`` (by name)."""
        zones = set(self.run(["firewall-cmd", "--get-zones"]).stdout.split())
        policies = set(self.run(["firewall-cmd", "--get-policies"]).stdout.split())
        for relative in new:
            match = NAME.match(relative)
            if match is None:
                return False
            kind, name = match.groups()
            if name not in (zones if kind == "zones" else policies):
                return False
        return True

    def plan(self, new: dict[str, str], present: bool) -> Plan:
        old = installed()
        if present:
            self.check(old, new)
        is_running = self.running()
        start = present and not is_running
        enable = present and self.run(["systemctl", "is-enabled", "--quiet", "firewalld"]).returncode != 0
        reload = bool(changed_files(old, new)) or (is_running and bool(new) and not self.loaded(new))
        return Plan(old, new, is_running, start, enable, reload)

    def activate(self) -> None:
        """Reload the permanent configuration into the running firewalld, or start it."""
        if self.running():
            result = self.run(["firewall-cmd", "--reload"])
            if result.returncode != 0 or not self.running():
                raise FirewalldRulesError(f"firewall-cmd --reload failed: {(result.stderr or result.stdout).strip()}")
            return
        self.run(["systemctl", "unmask", "firewalld"])
        result = self.run(["systemctl", "enable", "--now", "firewalld"])
        if result.returncode != 0 or not self.running():
            raise FirewalldRulesError(f"firewalld did not start: {(result.stderr or result.stdout).strip()}")

    def apply(self, plan: Plan) -> None:
        place(CONFIG, plan.old, plan.new)
        if plan.running or plan.start:
            try:
                self.activate()
            except FirewalldRulesError as exc:
                place(CONFIG, plan.new, plan.old)
                try:
                    self.activate()
                    restored = "the previous configuration was restored"
                except FirewalldRulesError as again:
                    restored = f"restoring the previous configuration failed too: {again}"
                raise FirewalldRulesError(f"{exc}; {restored}") from None
        if plan.enable:
            self.run(["systemctl", "unmask", "firewalld"])
            self.run(["systemctl", "enable", "--quiet", "firewalld"])
