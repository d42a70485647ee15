# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet state: public keys and allocated addresses, kept next to the inventory. Pure Python.

One JSON file per WireGuard network (named after its inventory group), sorted and indented so it
diffs well in git. It never holds a secret: only what `wg show` would print to anyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

STATE_VERSION = 1
_NOTE = "wgops.fleet fleet state: public keys and allocated tunnel addresses only. Commit it with the inventory."


def empty_state() -> dict[str, Any]:
    return {"_comment": _NOTE, "version": STATE_VERSION, "hosts": {}}


def load(path: str) -> dict[str, Any]:
    """Read a state file; a missing file is an empty state.

    A file this code cannot use (not JSON, a wrong version, a host entry or its addresses of the wrong
    type after a hand edit) raises ValueError naming the file, the host and what to fix.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return empty_state()
    if not isinstance(data, dict) or not isinstance(data.get("hosts", {}), dict):
        raise ValueError(f"{path} is not a wgops.fleet state file (expected an object with 'hosts')")
    version = data.get("version", STATE_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        shown = json.dumps(version) if version is None or isinstance(version, (str, float)) else _json_kind(version)
        raise ValueError(
            f'{path}: "version" is {shown}, not a state version number; set it to the number {STATE_VERSION} '
            f"(the version this wgops.fleet writes)"
        )
    if version > STATE_VERSION:
        raise ValueError(f"{path} was written by a newer wgops.fleet (state version {version})")
    data.setdefault("hosts", {})
    for name, entry in data["hosts"].items():
        problem = _entry_problem(entry)
        if problem:
            raise ValueError(f"{path}: host {name}: {problem}")
    return data


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one host's entry of a (hand-edited) state file, or None."""
    fix = "correct it by hand, or delete the host's entry to have it recorded again on the next run"
    if not isinstance(entry, dict):
        return (
            f'the entry is {_json_kind(entry)}, expected an object such as {{"public_key": "...", '
            f'"addresses": ["10.0.0.5/24"]}}; {fix}'
        )
    addresses = entry.get("addresses")
    if isinstance(addresses, str):
        return f'"addresses" is the string {json.dumps(addresses)}, expected a list: write [{json.dumps(addresses)}]'
    if addresses is not None and not isinstance(addresses, list):
        return f'"addresses" is {_json_kind(addresses)}, expected a list of strings such as ["10.0.0.5/24"]; {fix}'
    if addresses and not all(isinstance(item, str) for item in addresses):
        return f'"addresses" holds something other than strings, expected strings such as "10.0.0.5/24"; {fix}'
    return None


def _json_kind(value: Any) -> str:
    """What a JSON value is, for a message (its content is not shown)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object"


def merge(
    present: list[str], allocations: Mapping[str, list[str]], public_keys: Mapping[str, str | None]
) -> dict[str, Any]:
    """The next state: present hosts only, with their known public keys and allocated addresses."""
    hosts: dict[str, dict[str, Any]] = {}
    for name in sorted(present):
        entry: dict[str, Any] = {}
        if public_keys.get(name):
            entry["public_key"] = public_keys[name]
        if name in allocations:
            entry["addresses"] = list(allocations[name])
        if entry:
            hosts[name] = entry
    state = empty_state()
    state["hosts"] = hosts
    return state


def render(state: Mapping[str, Any]) -> str:
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def write_atomic(path: str, text: str | Callable[[IO[str]], Any], mode: int = 0o644) -> None:
    """Write via a temporary file in the same directory and rename, so readers never see half a file.

    `text` is the content, or a function that writes it to the open file (large outputs, streamed).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".fleet-state-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if callable(text):
                text(handle)
            else:
                handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: str, timeout: float = 300.0, create: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on the state file's directory while reading, planning and writing it.

    Two runs at once (two operators, two --limit runs) would otherwise both read the old state and hand
    the same free address to different new hosts. The lock is on the directory itself, so no lock file
    appears next to the committed state. Waits up to `timeout` seconds, then raises StateLockedError.
    With `create` false a missing directory is not made (a read-only run has nothing to lock).
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not create and not os.path.isdir(directory):
        yield
        return
    os.makedirs(directory, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StateLockedError(
                        f"another run holds the lock on the fleet state {directory} (waited {timeout:.0f} s); "
                        "let it finish, or find the stuck ansible-playbook process"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class StateLockedError(RuntimeError):
    """Another run holds the fleet state's lock."""


def address_moves(
    old: Mapping[str, Any], allocations: Mapping[str, list[str]]
) -> list[tuple[str, list[str], list[str]]]:
    """(host, recorded, new) for each host whose recorded allocated addresses the new plan would change.

    The fleet state is a promise: an address recorded once never moves by accident (a changed
    wireguard_network, a typo in its prefix length). Hosts with an explicit wireguard_address are not in
    `allocations` and are not checked: pinning an address is on purpose.
    """
    moves = []
    for name, entry in sorted((old.get("hosts") or {}).items()):
        recorded = list(entry.get("addresses") or [])
        new = allocations.get(name)
        if recorded and new is not None and sorted(recorded) != sorted(new):
            moves.append((name, recorded, list(new)))
    return moves
