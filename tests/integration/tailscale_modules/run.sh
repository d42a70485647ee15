#!/usr/bin/env bash
# Integration test of wgops.fleet.tailscale_up and wgops.fleet.tailscale_info against real binaries.
#
#   tests/integration/tailscale_modules/run.sh                 # run it
#   tests/integration/tailscale_modules/run.sh --keep          # keep the temporary directory (logs, state)
#   tests/integration/tailscale_modules/run.sh --wait 900      # wait up to 900 s for binaries still being built
#   tests/integration/tailscale_modules/run.sh --record-fixtures  # only record the unit test fixtures
#   tests/integration/tailscale_modules/run.sh -vvv            # more ansible-playbook output (in the log)
#
# Starts `headscale serve` (the newest pinned Headscale) and two userspace `tailscaled` (`node`, the one
# under test, and `peer`, enrolled so that `node` has a peer) on loopback only, with the shared server code
# of tests/integration/common/server.py, and runs playbook.yml against localhost (see driver.py, which
# does it all). KEEP_ON_FAILURE=1 keeps the temporary directory when the test fails.
#
# Needs the binaries tests/testbed/go-binaries.sh builds and the venv (`make venv collection`); a missing
# one is an error (exit 2), never a skip. Every process started is stopped on exit (by its pid).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../../.." && pwd)"

if [[ ! -x "${root}/.venv/bin/python" ]]; then
  echo "[tailscale-it] ERROR: ${root}/.venv is missing: run \`make venv collection\` first" >&2
  exit 2
fi
exec "${root}/.venv/bin/python" "${here}/driver.py" "$@"
