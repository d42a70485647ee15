# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet state: public keys and allocated addresses, kept next to the inventory. Pure Python.

One JSON file per WireGuard network (named after its inventory group), sorted and indented so it
diffs well in git. It never holds a secret: only what `wg show` would print to anyone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

STATE_VERSION = 1
_NOTE = "wgops.fleet fleet state: public keys and allocated tunnel addresses only. Commit it with the inventory."


def empty_state() -> dict[str, Any]:
    return {"_comment": _NOTE, "version": STATE_VERSION, "hosts": {}}


def load(path: str) -> dict[str, Any]:
    """Read a state file; a missing file is an empty state."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return empty_state()
    if not isinstance(data, dict) or not isinstance(data.get("hosts", {}), dict):
        raise ValueError(f"{path} is not a wgops.fleet state file (expected an object with 'hosts')")
    if data.get("version", STATE_VERSION) > STATE_VERSION:
        raise ValueError(f"{path} was written by a newer wgops.fleet (state version {data['version']})")
    data.setdefault("hosts", {})
    return data


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


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Write via a temporary file in the same directory and rename, so readers never see half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".fleet-state-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
