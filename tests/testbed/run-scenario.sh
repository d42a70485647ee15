#!/usr/bin/env bash
# Run one molecule scenario (molecule/<scenario>/) against the podman testbed.
#
#   tests/testbed/run-scenario.sh <scenario>            molecule test: destroy, create, prepare, converge,
#                                                       idempotence, check, verify, destroy
#   KEEP=1 tests/testbed/run-scenario.sh <scenario>     create + prepare + converge + verify, keep the
#                                                       containers (re-run to converge again)
#   tests/testbed/run-scenario.sh --destroy <scenario>  remove a kept scenario's containers/networks
#   tests/testbed/run-scenario.sh --create <scenario>   create + prepare only, keep the containers
#   tests/testbed/run-scenario.sh --exec <scenario> CMD...  run CMD with this script's environment
#                                                       (e.g. molecule converge -s <scenario>; used by bench/)
#
# Prints "scenario <name>: <N>s" at the end; exits non-zero on failure (containers are destroyed
# on failure unless KEEP=1). Extra arguments after the scenario go to molecule's ansible-playbook.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

action="test"
case ${1:-} in
  --destroy) action=destroy; shift ;;
  --create) action=create; shift ;;
  --exec) action="exec"; shift ;;
esac
scenario=${1:-}
[[ -n $scenario ]] || { echo "usage: $0 [--destroy] <scenario> [ansible-playbook args]" >&2; exit 2; }
shift
[[ -f molecule/$scenario/molecule.yml ]] || { echo "no such scenario: molecule/$scenario/molecule.yml" >&2; exit 2; }
[[ ${KEEP:-0} == 1 && $action == test ]] && action=keep

VENV="${VENV:-$ROOT/.venv}"
[[ -x $VENV/bin/molecule ]] || { echo "no molecule in $VENV: run 'make venv' first" >&2; exit 2; }
export PATH="$VENV/bin:$PATH"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/tests/testbed/containers.conf}"
# Scenarios live in molecule/ (not extensions/molecule/): tell molecule so it stops guessing.
export MOLECULE_GLOB="molecule/*/molecule.yml"
# Facts only as ansible_facts.* (the Makefile sets the same): no role may read injected fact variables.
export ANSIBLE_INJECT_FACT_VARS="${ANSIBLE_INJECT_FACT_VARS:-False}"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-$([[ -t 1 ]] && echo true || echo false)}"

# This checkout as wgops.fleet (what `make collection` does), then the collections bundled with the
# `ansible` package in the venv (ansible.posix for the profile_tasks callback, ...), named explicitly so
# the path does not depend on how ansible scans sys.path.
collections="$ROOT/.build/collections"
if [[ ! -e $collections/ansible_collections/wgops/fleet ]]; then
  mkdir -p "$collections/ansible_collections/wgops"
  ln -sfn "$ROOT" "$collections/ansible_collections/wgops/fleet"
fi
bundled="$("$VENV/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[-1]))')"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$collections}"
# The inventory's connection: runc exec into the podman containers, pipelined (see the plugin).
export ANSIBLE_CONNECTION_PLUGINS="$ROOT/tests/testbed/connection_plugins"
case ":$ANSIBLE_COLLECTIONS_PATH:" in *":$bundled:"*) ;; *) ANSIBLE_COLLECTIONS_PATH+=":$bundled" ;; esac

# Images and the Go-built Headscale/Tailscale binaries (fast no-ops when cached).
"$ROOT/tests/testbed/setup.sh" >&2
# The lab runs only the newest Headscale: it does not wait for the upgrade path's older versions.
WGOPS_GO_CACHE="$("$ROOT/tests/testbed/go-binaries.sh" $([[ $scenario == lab ]] && echo --newest))"
export WGOPS_GO_CACHE
# The pinned versions (tests/versions.env, without the v) for the playbooks that use those binaries outside
# the roles: the newest Headscale (the headscale role's default) and the Tailscale one.
# shellcheck source=tests/versions.env
source "$ROOT/tests/versions.env"
read -ra headscale_pins <<<"$HEADSCALE_VERSIONS"
export WGOPS_HEADSCALE_VERSION="${headscale_pins[-1]}" WGOPS_TAILSCALE_VERSION="$TAILSCALE_VERSION"

# Passes molecule's output through and notes how long each step ("[scenario > step] Executing" ..
# "Executed") took; the summary goes to $steps_file.
steps_file=$(mktemp)
trap 'rm -f "$steps_file"' EXIT
time_steps() {
  local line clean step="" t0="" out=""
  while IFS= read -r line; do
    printf '%s\n' "$line"
    [[ $line == *Execut* ]] || continue
    # shellcheck disable=SC2001
    clean=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$line")
    if [[ $clean =~ \[[^]]*\ \>\ ([a-z_]+)\]\ Executing ]]; then
      step=${BASH_REMATCH[1]} t0=$EPOCHREALTIME
    elif [[ -n $step && $clean =~ \[[^]]*\ \>\ ${step}\]\ Executed ]]; then
      out+="$step $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')s, "
      step=""
    fi
  done
  printf '%s, ' "${out%, }" >>"$steps_file"
}
run_molecule() { # molecule args...; keeps molecule's exit status
  molecule "$@" 2>&1 | time_steps
  return "${PIPESTATUS[0]}"
}
export PYTHONUNBUFFERED=1

start=$(date +%s)
rc=0
case $action in
  test)
    run_molecule test -s "$scenario" --destroy always -- "$@" || rc=$?
    if ((rc != 0)); then
      echo "scenario $scenario failed (rc=$rc): destroying" >&2
      molecule destroy -s "$scenario" >/dev/null 2>&1 || true
    fi
    ;;
  keep)
    { run_molecule converge -s "$scenario" -- "$@" && run_molecule verify -s "$scenario"; } || rc=$?
    echo "containers kept: podman ps --filter label=wgops.scenario=$scenario;" \
      "molecule login -s $scenario --host <instance>; $0 --destroy $scenario" >&2
    ;;
  destroy)
    run_molecule destroy -s "$scenario" || rc=$?
    ;;
  create)
    { run_molecule create -s "$scenario" && run_molecule prepare -s "$scenario"; } || rc=$?
    ;;
  exec)
    "$@" || rc=$?
    exit "$rc"
    ;;
esac
# Last resort (e.g. molecule itself failed before destroy): anything still labelled for the scenario.
if [[ $action != keep && $action != create ]] && ((rc != 0)) || [[ $action == destroy ]]; then
  mapfile -t names < <(podman ps -a --format '{{.Names}}' --filter "label=wgops.scenario=$scenario")
  if ((${#names[@]})); then
    podman rm -f -t 0 "${names[@]}" >/dev/null || true
    for n in "${names[@]}"; do find /sys/fs/cgroup/*/wgops/"$n" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  fi
  mapfile -t nets < <(podman network ls -q --filter "label=wgops.scenario=$scenario")
  ((${#nets[@]} == 0)) || podman network rm -f "${nets[@]}" >/dev/null || true
fi
steps=$(cat "$steps_file"); steps=${steps%, }
echo "scenario $scenario: $(($(date +%s) - start))s${steps:+ ($steps)}"
exit "$rc"
