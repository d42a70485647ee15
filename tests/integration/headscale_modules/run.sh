#!/usr/bin/env bash
# Integration test of the wgops.fleet Headscale modules (headscale_user, _preauthkey, _node, _policy,
# _apikey, _info) against the real binaries, every pinned Headscale version in parallel:
#
#   tests/integration/headscale_modules/run.sh                      # all versions of go-binaries.sh
#   tests/integration/headscale_modules/run.sh --versions v0.28.0   # one version
#   tests/integration/headscale_modules/run.sh --keep --logs /tmp/l # keep temp dirs and logs
#   tests/integration/headscale_modules/run.sh --record-fixtures    # re-record the unit test fixtures
#
# Needs the binaries tests/testbed/go-binaries.sh builds (headscale of each version, tailscale and
# tailscaled) and the venv (`make venv collection`); a missing one fails the run (exit 2). Per version
# it starts `headscale serve` and a userspace `tailscaled` on loopback only (see driver.py and
# tests/integration/common/server.py), runs playbook.yml and stops both. Exit status: 0 all versions
# passed, 1 a version failed, 2 setup missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../../.." && pwd)"

if [[ ! -x "${root}/.venv/bin/python" ]]; then
  echo "run.sh: ${root}/.venv is missing: run \`make venv collection\` first" >&2
  exit 2
fi
exec "${root}/.venv/bin/python" "${here}/driver.py" "$@"
