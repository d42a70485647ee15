# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the firewall backends run their command-line tools: through the module's run_command."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class Completed(NamedTuple):
    """What a command did, by the names subprocess uses."""

    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """Runs argv (no shell), feeding it `payload` on standard input when given."""

    def __call__(self, argv: list[str], payload: str | None = None) -> Completed: ...


def module_runner(module: Any) -> Runner:
    """A Runner over AnsibleModule.run_command: no shell, the input passed as is, text output."""

    def run(argv: list[str], payload: str | None = None) -> Completed:
        # A list is never split or expanded ($VAR, ~) with expand_user_and_vars off: rules pass through as written.
        # With handle_exceptions off, a tool that exits before reading its input (a broken pipe) or is missing
        # is a failed command with the reason, as subprocess reported it, not a module failure without one.
        try:
            rc, out, err = module.run_command(
                argv,
                data=payload,
                binary_data=payload is not None,
                expand_user_and_vars=False,
                handle_exceptions=False,
            )
        except OSError as exc:
            return Completed(127 if isinstance(exc, FileNotFoundError) else 1, "", f"{argv[0]}: {exc}")
        return Completed(rc, out, err)

    return run
