#!/usr/bin/env bash
# Runs molecule scenarios JOBS at a time (default 2: scenarios spend much of their time waiting on
# systemd, apt and the network, so two share this machine's cores well). Each scenario's output goes to
# .build/molecule-logs/<scenario>.log and is printed whole when it finishes; the last lines are
#   molecule scenarios failed: <names or none>
#   scenarios: N passed, M failed
#   tests/testbed/run-all.sh s1 s2 ...        JOBS=1 tests/testbed/run-all.sh ...
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2
jobs=${JOBS:-2}
logs="$ROOT/.build/molecule-logs"
mkdir -p "$logs"
results=$(mktemp)
trap 'rm -f "$results" "$results.lock"' EXIT
export ROOT logs results

run_one() {
  local s=$1 rc=0 start=$SECONDS
  "$ROOT/tests/testbed/run-scenario.sh" "$s" >"$logs/$s.log" 2>&1 || rc=$?
  {
    flock 9
    echo "===== scenario $s: exit $rc after $((SECONDS - start))s (log: $logs/$s.log) ====="
    cat "$logs/$s.log"
    echo "$s $rc" >>"$results"
  } 9>"$results.lock"
}
export -f run_one

# shellcheck disable=SC2016 # $1 is for the inner bash
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

passed=$(awk '$2 == 0' "$results" | wc -l)
failed=$(awk '$2 != 0 {print $1}' "$results" | tr '\n' ' ')
missing=""
for s in "$@"; do grep -q "^$s " "$results" || missing+="$s "; done
failed+=$missing
grep -h '^scenario [a-z_]*: [0-9]*s' "$logs"/*.log 2>/dev/null | sort -t: -k2 -n -r | sed 's/^/  /'
# The failures again, short, just above the summary: CI shows only the tail of the output.
for s in $failed; do python3 "$ROOT/tests/testbed/failed_tasks.py" --lines 12 "$logs/$s.log"; done
echo "molecule scenarios failed: ${failed:-none}"
echo "scenarios: $passed passed, $(wc -w <<<"$failed") failed"
[[ -z ${failed// /} ]]
