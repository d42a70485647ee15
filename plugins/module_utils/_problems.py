# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Problems with the inventory, reported all at once. Pure Python.

Every planner and builder of the collection (WireGuard, Headscale config, policy, DERP map) collects a
`Problem` per mistake, each naming the host, the variable and what to do, and raises them together in one
`PlanError` (or a subclass with its own subject), so a user fixes everything in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    host: str
    variable: str
    message: str

    def __str__(self) -> str:
        return f"host {self.host}: {self.variable}: {self.message}"


class PlanError(ValueError):
    """The inventory cannot be used. `problems` lists every reason found, not only the first. The message
    reads "the WireGuard inventory has N problem(s):", or "SUBJECT: N problem(s):" when `subject` names what
    was checked (HeadscaleConfigError: "the Headscale settings", "the ACL rules of host hs1", ...)."""

    def __init__(self, problems: Sequence[Problem], subject: str | None = None) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        head = f"{subject}:" if subject else "the WireGuard inventory has"
        super().__init__(f"{head} {len(self.problems)} problem(s):\n{lines}")
