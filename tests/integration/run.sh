#!/usr/bin/env bash
# Runs every integration suite under tests/integration/: a directory's run.sh, or pytest on its test_*.py.
# They start the real Headscale and tailscaled binaries (tests/testbed/go-binaries.sh) on loopback only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.build/collections}"
WGOPS_GO_CACHE="$(tests/testbed/go-binaries.sh)"
export WGOPS_GO_CACHE
failed=()
for dir in tests/integration/*/; do
  name=$(basename "$dir")
  [[ $name == common ]] && continue # the code the suites share (common/server.py), not a suite
  start=$SECONDS
  if [[ -x $dir/run.sh ]]; then
    "$dir/run.sh" || failed+=("$name")
  elif compgen -G "$dir/test_*.py" >/dev/null; then
    pytest -q "$dir" || failed+=("$name")
  else
    echo "integration $name: nothing to run (no run.sh, no test_*.py)" >&2
    failed+=("$name")
  fi
  echo "integration $name: $((SECONDS - start))s"
done
if ((${#failed[@]})); then
  echo "integration suites failed: ${failed[*]}"
  exit 1
fi
echo "integration suites: all passed"
