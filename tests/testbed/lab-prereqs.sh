#!/usr/bin/env bash
# What `make lab` needs and nothing more, side by side: the test bed (podman, the two Debian images) and
# the Go builds of the newest Headscale and of tailscale, tailscaled and derper (the lab runs no other
# version; `make test` builds them all). Each step prints what it did and its seconds; logs in .build/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
logs="$ROOT/.build"
mkdir -p "$logs"

step() { # NAME LOG CMD...: runs CMD in the background, its output to LOG; prints a line when it ends
  local name=$1 log=$2
  shift 2
  (
    start=$SECONDS
    if "$@" >"$log" 2>&1; then
      echo "[lab] $name: ready in $((SECONDS - start)) s"
    else
      echo "[lab] $name: FAILED after $((SECONDS - start)) s; the end of $log:" >&2
      tail -25 "$log" >&2
      exit 1
    fi
  ) &
}

echo "[lab] preparing the test bed and the Go binaries side by side (logs: $logs/lab-*.log)"
step "test bed (podman, Debian images)" "$logs/lab-testbed.log" "$ROOT/tests/testbed/setup.sh"
step "Go binaries (newest Headscale, tailscale, derper)" "$logs/lab-go.log" "$ROOT/tests/testbed/go-binaries.sh" --newest
status=0
for _ in 1 2; do wait -n || status=1; done
exit "$status"
