#!/usr/bin/env bash
# The ansible-core matrix beyond the project venv (make test-matrix). requirements-dev.txt pins 2.19, the
# oldest line meta/runtime.yml admits, on Python 3.11; this runs the newest, 2.21, on Python 3.13 (3.12 if
# that is what the machine has): ansible-test sanity, the unit tests, and the wireguard_mesh and tailnet
# scenarios with 2.21 as the controller. Its virtualenv is .build/venv-core2.21, rebuilt when the
# requirements file changes. A missing Python >= 3.12 fails the run; it is never skipped.
#   tests/matrix/run.sh [stage...]      stages: sanity unit scenarios (default: all three)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
core=2.21
requirements="${root}/tests/matrix/requirements-core${core}.txt"
venv="${root}/.build/venv-core${core}"
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(sanity unit scenarios)

# On PATH, or a pyenv-installed one (pyenv's shims answer only for the selected version).
candidates=(python3.13 python3.12)
if command -v pyenv >/dev/null 2>&1; then
  candidates+=("$(pyenv root)"/versions/3.13*/bin/python3 "$(pyenv root)"/versions/3.12*/bin/python3)
fi
python=""
for candidate in "${candidates[@]}"; do
  if "${candidate}" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
    python="$(command -v "${candidate}")"
    break
  fi
done
if [[ -z ${python} ]]; then
  echo "tests/matrix/run.sh: ansible-core ${core} needs Python >= 3.12 on the controller and none was found" \
    "(python3.13, python3.12, pyenv's 3.13 or 3.12): install one (Debian 13: apt install python3 python3-venv)" >&2
  exit 2
fi
python_version="$("${python}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

declare -A took=()
timed() {
  local name=$1 begin=${SECONDS}
  shift
  echo "== ${name}: $*"
  "$@"
  took[${name}]=$((SECONDS - begin))
  echo "== ${name}: ${took[${name}]}s"
}

setup_venv() {
  local stamp="${venv}/.requirements"
  if [[ -x ${venv}/bin/ansible && -f ${stamp} ]] && cmp -s "${stamp}" "${requirements}"; then
    return
  fi
  rm -rf "${venv}"
  "${python}" -m venv "${venv}"
  "${venv}/bin/pip" install --quiet --upgrade pip
  "${venv}/bin/pip" install --quiet -r "${requirements}"
  cp "${requirements}" "${stamp}"
}

timed venv setup_venv
"${venv}/bin/ansible" --version 2>/dev/null | sed -n 1p
make -C "${root}" --no-print-directory collection graphviz >/dev/null

for stage in "${stages[@]}"; do
  case ${stage} in
    sanity) timed sanity env SANITY_VENV="${venv}" SANITY_PYTHON="${python_version}" "${root}/tests/sanity/run.sh" ;;
    unit) timed unit "${venv}/bin/pytest" -q -p no:cacheprovider "${root}/tests/unit" ;;
    scenarios)
      for scenario in wireguard_mesh tailnet; do
        timed "${scenario}" env VENV="${venv}" "${root}/tests/testbed/run-scenario.sh" "${scenario}"
      done
      ;;
    *) echo "tests/matrix/run.sh: unknown stage ${stage} (sanity, unit, scenarios)" >&2; exit 2 ;;
  esac
done

echo
echo "ansible-core ${core} on Python ${python_version}:"
printf '| %-16s | %6s |\n' stage seconds
for name in venv "${stages[@]/scenarios/wireguard_mesh tailnet}"; do
  for each in ${name}; do
    printf '| %-16s | %6s |\n' "${each}" "${took[${each}]:-}"
  done
done
