# Test-bed only (not part of the collection): run tasks in rootful podman containers via `runc exec`.
#
# containers.podman.podman runs every task as podman mount + mkdir + cp + exec + rm, and each podman
# call costs 0.2-0.4 s of CPU on this 2-core machine: 1-2 s per host and task. This plugin resolves the
# container's ID once (cached in a file), then runs commands with `runc exec` (about 0.05 s) and
# supports pipelining, so a module is one exec. It needs root and podman's runc runtime, which the
# test bed's containers.conf sets.
from __future__ import annotations

DOCUMENTATION = """
name: podman_runc
short_description: Run tasks in rootful podman containers through runc exec (wgops.fleet test bed)
description:
  - Pipelined, mount-free execution in containers created by podman with the runc runtime.
options:
  remote_addr:
    description: The container name.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
"""

import os
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase

RUNC_ROOT = "/run/runc"
CACHE_DIR = "/run/wgops-testbed/runc-ids"


class Connection(ConnectionBase):
    transport = "podman_runc"
    has_pipelining = True

    def _connect(self):
        super()._connect()
        self._connected = True
        return self

    def _container_id(self, refresh: bool = False) -> str:
        name = self._play_context.remote_addr
        cache = os.path.join(CACHE_DIR, name)
        if not refresh:
            try:
                with open(cache, encoding="ascii") as handle:
                    return handle.read().strip()
            except OSError:
                pass
        result = subprocess.run(["podman", "inspect", "--format", "{{.Id}}", name], capture_output=True, check=False)
        if result.returncode != 0:
            raise AnsibleConnectionFailure(f"container {name} not found: {to_native(result.stderr).strip()}")
        container_id = to_native(result.stdout).strip()
        os.makedirs(CACHE_DIR, exist_ok=True)
        with open(cache + ".tmp", "w", encoding="ascii") as handle:
            handle.write(container_id)
        os.replace(cache + ".tmp", cache)
        return container_id

    def _runc(self, argv: list[bytes], in_data: bytes | None = None):
        for refresh in (False, True):
            command = [b"runc", b"--root", to_bytes(RUNC_ROOT), b"exec", to_bytes(self._container_id(refresh)), *argv]
            result = subprocess.run(command, input=in_data or b"", capture_output=True, check=False)
            # A stale cached ID (the container was recreated): runc says "does not exist", or "cannot exec
            # in a stopped container" when the old container's runc state outlived it (a killed run).
            stale = b"does not exist" in result.stderr or b"stopped container" in result.stderr
            if not (result.returncode != 0 and stale):
                return result.returncode, result.stdout, result.stderr
        return result.returncode, result.stdout, result.stderr

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = [to_bytes(arg, errors="surrogate_or_strict") for arg in shlex.split(to_native(cmd))]
        return self._runc(argv, in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as handle:
            data = handle.read()
        rc, _out, stderr = self._runc([b"sh", b"-c", b'cat > "$0"', to_bytes(out_path)], data)
        if rc != 0:
            raise AnsibleError(f"failed to put {in_path} to {out_path}: {to_native(stderr)}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, stdout, stderr = self._runc([b"cat", to_bytes(in_path)])
        if rc != 0:
            raise AnsibleError(f"failed to fetch {in_path}: {to_native(stderr)}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as handle:
            handle.write(stdout)

    def close(self):
        self._connected = False
