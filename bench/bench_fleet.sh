#!/usr/bin/env bash
# Fleet benchmark: site.yml on the lab (Headscale, a DERP relay, four WireGuard + tailnet nodes, a LAN host),
# first run on fresh containers and the idempotent re-run, beside the floor: one ping module per host over
# the same connection (`ansible all -m ping`). All three go through molecule (same start-up cost).
# Prints wall time, tasks per host, changed count and the ratios to the floor. Destroys the lab first
# and leaves it running afterwards (make lab-destroy removes it). Then the first run and re-run of the
# 32-host fleet_scale scenario, and a table of seconds per host for both fleets.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
run="tests/testbed/run-scenario.sh"
out="$ROOT/.build/bench"
mkdir -p "$out"

"$run" --destroy lab >/dev/null 2>&1 || true
"$run" --create lab >"$out/create.log" 2>&1 || { tail -30 "$out/create.log"; exit 1; }

timed() { # NAME CMD...: runs CMD, output to $out/NAME.log, prints the seconds
  local name=$1 start
  shift
  start=$EPOCHREALTIME
  "$@" >"$out/$name.log" 2>&1 || { tail -40 "$out/$name.log" >&2; return 1; }
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'
}
recap() { # LOG: "tasks-per-host changed-total" from the PLAY RECAP lines (summed over the playbook's plays)
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '/ : ok=/ {
      for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] }
      hosts[$1] = 1
    }
    END { n = length(hosts); printf "%.0f %d", (v["ok"] + v["failed"] + v["skipped"]) / (n ? n : 1), v["changed"] }'
}

first=$(timed first "$run" --exec lab molecule converge -s lab)
rerun=$(timed rerun "$run" --exec lab molecule converge -s lab)
floors=()
for i in 1 2 3; do floors+=("$(timed "ping$i" "$run" --exec lab molecule side-effect -s lab)"); done
floor=$(printf '%s\n' "${floors[@]}" | sort -n | sed -n 2p)   # median of three
read -r first_tasks first_changed <<<"$(recap "$out/first.log")"
read -r rerun_tasks rerun_changed <<<"$(recap "$out/rerun.log")"
hosts=$(sed 's/\x1b\[[0-9;]*m//g' "$out/ping2.log" | grep -c ' : ok=')

printf '\nfleet benchmark: the lab (%s hosts), site.yml through molecule, %s\n' "$hosts" "$(date -u +%FT%TZ)"
printf '  %-26s %9s %15s %9s %12s\n' run 'wall (s)' 'tasks per host' changed 'vs floor'
printf '  %-26s %9s %15s %9s %12s\n' 'ansible all -m ping (floor)' "$floor" 1 0 1.0x
printf '  %-26s %9s %15s %9s %11sx\n' 'site.yml first run' "$first" "$first_tasks" "$first_changed" \
  "$(awk -v a="$first" -v b="$floor" 'BEGIN {printf "%.1f", a / b}')"
printf '  %-26s %9s %15s %9s %11sx\n' 'site.yml re-run' "$rerun" "$rerun_tasks" "$rerun_changed" \
  "$(awk -v a="$rerun" -v b="$floor" 'BEGIN {printf "%.1f", a / b}')"
printf '  (floor: median of %s; logs in %s)\n' "${floors[*]}" "$out"
if [[ $rerun_changed != 0 ]]; then
  echo "the re-run changed $rerun_changed things: site.yml is not idempotent on the lab" >&2
  exit 1
fi

# Growth per host: the same two runs on the 32-host fleet (scenario fleet_scale, WireGuard only), beside
# the lab's. BENCH_FLEET_SCALE=0 leaves it out (it takes about 12 minutes on 2 cores).
[[ ${BENCH_FLEET_SCALE:-1} == 1 ]] || exit 0
"$run" --destroy fleet_scale >/dev/null 2>&1 || true
"$run" --create fleet_scale >"$out/fleet-create.log" 2>&1 || { tail -30 "$out/fleet-create.log"; exit 1; }
fleet_first=$(timed fleet-first "$run" --exec fleet_scale molecule converge -s fleet_scale)
fleet_rerun=$(timed fleet-rerun "$run" --exec fleet_scale molecule converge -s fleet_scale)
read -r _ fleet_changed <<<"$(recap "$out/fleet-rerun.log")"
fleet_hosts=$(sed 's/\x1b\[[0-9;]*m//g' "$out/fleet-rerun.log" | grep ' : ok=' | awk '{print $1}' | sort -u | wc -l)
"$run" --destroy fleet_scale >/dev/null 2>&1 || true
per() { awk -v a="$1" -v n="$2" 'BEGIN {printf "%.1f", a / n}'; }
printf '\nper host: first run and re-run (site.yml on the lab; the wireguard role on fleet_scale)\n'
printf '  %-12s %6s %11s %13s %10s %12s %8s\n' fleet hosts 'first (s)' 'first/host' 'rerun (s)' 'rerun/host' 'rerun %'
printf '  %-12s %6s %11s %13s %10s %12s %7s%%\n' lab "$hosts" "$first" "$(per "$first" "$hosts")" "$rerun" \
  "$(per "$rerun" "$hosts")" "$(awk -v a="$rerun" -v b="$first" 'BEGIN {printf "%.0f", 100 * a / b}')"
printf '  %-12s %6s %11s %13s %10s %12s %7s%%\n' fleet_scale "$fleet_hosts" "$fleet_first" "$(per "$fleet_first" "$fleet_hosts")" \
  "$fleet_rerun" "$(per "$fleet_rerun" "$fleet_hosts")" "$(awk -v a="$fleet_rerun" -v b="$fleet_first" 'BEGIN {printf "%.0f", 100 * a / b}')"
if [[ $fleet_changed != 0 ]]; then
  echo "the re-run changed $fleet_changed things on fleet_scale: not idempotent" >&2
  exit 1
fi
