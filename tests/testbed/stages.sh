#!/usr/bin/env bash
# make test's stages in order, each timed, with the table of their times printed at the end (also when
# a stage fails, which stops the run). The budget: CI's target is 60 minutes for all of it.
#   tests/testbed/stages.sh lint unit integration molecule-all     (make targets)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2
rows=()
begin=$SECONDS
print_table() {
  echo
  echo "make test: time per stage"
  printf '  %-14s %8s  %s\n' stage seconds result
  printf '%s\n' "${rows[@]}"
  printf '  %-14s %8s\n' total "$((SECONDS - begin))"
  local slowest="$ROOT/.build/molecule-logs"
  if compgen -G "$slowest/*.log" >/dev/null; then
    echo "  (scenario times: the 'scenario NAME: Ns' lines above, slowest first)"
  fi
}
trap print_table EXIT
for stage in "$@"; do
  start=$SECONDS
  make --no-print-directory "$stage"
  rc=$?
  result=ok
  [[ $rc == 0 ]] || result="FAILED (exit $rc)"
  rows+=("$(printf '  %-14s %8s  %s' "$stage" "$((SECONDS - start))" "$result")")
  [[ $rc == 0 ]] || exit "$rc"
done
