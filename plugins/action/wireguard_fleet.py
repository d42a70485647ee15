# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for wgops.fleet.wireguard_fleet: the whole WireGuard group, once per play, on the controller.

It reads the inventory straight from the play's `groups` and `hostvars` (each host once), so the
planner's input never becomes a lazy variable evaluated again for every host, and writes each host's
slice of the plan to a private directory of this ansible-playbook process: the result that travels
back through Ansible stays small whatever the fleet size.
"""

from __future__ import annotations

import subprocess
import tempfile
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import fleet_state
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.extract import extract_inventory
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.fleet import plan_fleet, write_slices
from ansible_collections.wgops.fleet.plugins.plugin_utils._wireguard import render as wireguard_render

ARGUMENT_SPEC: dict[str, Any] = {
    "group": {"type": "str", "default": "wireguard"},
    "state_file": {"type": "path", "required": True},
    "record": {"type": "bool", "default": True},
    "renumber": {"type": "bool", "default": False},
    "slices": {"type": "bool", "default": False},
    "keys_from": {"type": "str"},
    "public_keys": {"type": "dict", "default": {}},
    "plan_file": {"type": "path"},
    "diagram_file": {"type": "path"},
    "table": {"type": "str", "choices": ["none", "summary", "full"], "default": "none"},
    "table_hosts": {"type": "list", "elements": "str"},
    "lock_timeout": {"type": "int", "default": 300},
    "warn": {"type": "bool", "default": True},
}


def _argument_errors(validation: Any) -> list[str]:
    """The validator's messages, with its "NAME. Supported parameters include: ..." said plainly."""
    messages = [error.msg for error in validation.errors.errors if not isinstance(error, UnsupportedError)]
    unsupported = sorted(".".join(n) if isinstance(n, tuple) else n for n in validation.unsupported_parameters)
    if unsupported:
        noun = "parameter" if len(unsupported) == 1 else "parameters"
        messages.append(f"unsupported {noun} {', '.join(unsupported)}; supported: {', '.join(sorted(ARGUMENT_SPEC))}")
    return messages


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail(f"wireguard_fleet: {'; '.join(_argument_errors(validation))}")
        args = validation.validated_parameters
        check_mode = bool(self._task.check_mode)

        groups = task_vars.get("groups") or {}
        hostvars = task_vars.get("hostvars") or {}
        try:
            inventory = extract_inventory(groups, hostvars, args["group"])
        except ValueError as exc:
            raise AnsibleActionFail(str(exc)) from None
        play_hosts = list(task_vars.get("ansible_play_hosts") or [])
        outside = [h for h in play_hosts if h not in inventory["hosts"]]
        if outside:
            raise AnsibleActionFail(
                "; ".join(
                    f"host {h}: the wireguard role plans the hosts of group '{args['group']}' and this host is "
                    "not in it; add it to the group, or set wireguard_group to the group it is in"
                    for h in outside
                )
            )
        public_keys = dict(args["public_keys"])
        key_sources = {}
        if args["keys_from"]:
            play_keys = self._play_keys(hostvars, play_hosts, args["keys_from"])
            public_keys.update(play_keys)
            source = f"registered on this host as {args['keys_from']}.public_key (keys_from)"
            key_sources = dict.fromkeys(play_keys, source)

        path = args["state_file"]
        try:
            with fleet_state.locked(path, timeout=args["lock_timeout"], create=args["record"] and not check_mode):
                old = fleet_state.load(path)
                fleet = plan_fleet(inventory, old, public_keys, renumber=args["renumber"], key_sources=key_sources)
                write = args["record"] and fleet.changed and not check_mode
                if write:
                    fleet_state.write_atomic(path, fleet.after)
        except PlanError as exc:
            result.update(failed=True, msg=str(exc), problems=[str(p) for p in exc.problems])
            return result
        except (OSError, ValueError, fleet_state.StateLockedError) as exc:
            raise AnsibleActionFail(f"wireguard_fleet: fleet state {path}: {exc}") from None

        result.update(
            changed=args["record"] and fleet.changed,
            state_file=path,
            hosts=len(fleet.planner.names),
            absent=fleet.absent,
            allocated=fleet.allocations_made(),
            warnings_list=fleet.warnings,
        )
        if args["record"]:
            result["diff"] = {"before": fleet.before, "after": fleet.after, "before_header": path, "after_header": path}
        if args["warn"]:
            for warning in fleet.warnings:
                self._display.warning(warning)
        if args["slices"]:
            directory = tempfile.mkdtemp(prefix="wgops-plan-", dir=C.DEFAULT_LOCAL_TMP)
            result["slices_written"] = write_slices(fleet, directory, play_hosts)
            result["plan_dir"] = directory
        self._write_outputs(fleet, args, result)
        return result

    @staticmethod
    def _play_keys(hostvars: Any, hosts: list[str], variable: str) -> dict[str, str]:
        """Public keys registered on the play's hosts (the key-pair task's result), by host."""
        keys = {}
        for name in hosts:
            registered = hostvars[name].get(variable)
            key = registered.get("public_key") if hasattr(registered, "get") else None
            if key:
                keys[name] = str(key)
        return keys

    @staticmethod
    def _write_outputs(fleet: Any, args: dict[str, Any], result: dict[str, Any]) -> None:
        """The plan file, the diagram and the table, computed host by host from the planner."""
        plan = wireguard_render.LazyPlan(fleet.planner)
        if args["plan_file"]:
            fleet_state.write_atomic(args["plan_file"], lambda handle: wireguard_render.write_plan_json(plan, handle))
            result["plan_file"] = args["plan_file"]
        if args["diagram_file"]:
            path = args["diagram_file"]
            ext = path.rsplit(".", 1)[-1].lower()
            fmt = "graphviz" if ext in ("dot", "gv", *wireguard_render.IMAGE_FORMATS) else "mermaid"
            text = wireguard_render.diagram(plan, fmt, wireguard_render.roles_of(fleet.planner.hosts))
            if ext in wireguard_render.IMAGE_FORMATS:
                try:
                    wireguard_render.render_image(text, ext, path)
                except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                    raise AnsibleActionFail(f"diagram_file: {exc}") from None
            else:
                fleet_state.write_atomic(path, text)
            result["diagram_file"] = path
        if args["table"] == "full":
            shown = plan if args["table_hosts"] is None else {h: plan[h] for h in args["table_hosts"] if h in plan}
            result["table"] = wireguard_render.table(shown).splitlines()
        elif args["table"] == "summary":
            result["table"] = wireguard_render.summary(plan, args["table_hosts"]).splitlines()
