#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of this checkout laid out as ansible_collections/wgops/fleet.
# No containers: the controller runs locally on the venv's Python 3.11; ansible-test builds one cached
# virtualenv per sanity test under ~/.ansible/test/venv (pip installs its pinned requirements from PyPI
# on the first run only). Extra arguments are passed to ansible-test (e.g. `--test pylint`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SANITY_VENV:-${root}/.venv}"
dest="${root}/.build/sanity/ansible_collections/wgops/fleet"
python_version="${SANITY_PYTHON:-3.11}"

start=${SECONDS}
report_time() { echo "tests/sanity/run.sh: copy + ansible-test sanity took $(( SECONDS - start ))s"; }
trap report_time EXIT

# One run at a time per checkout: runs share the copy below and the ~/.ansible/test virtualenvs.
mkdir -p "${root}/.build"
exec 9>"${root}/.build/sanity.lock"
flock 9

# Fresh copy, so files deleted from the checkout do not linger in the copy.
rm -rf "${dest}"
mkdir -p "${dest}"
tar -C "${root}" -cf - \
  --exclude=./.venv --exclude=./.build --exclude=./.cache --exclude=./.git \
  --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./.ruff_cache \
  --exclude=__pycache__ --exclude='*.pyc' --exclude=./playbooks/collections \
  . | tar -C "${dest}" -xf -

# ansible-test takes its file list from git when the collection root is (inside) a git work tree;
# the copy lives under the checkout's ignored .build/, so give it its own repository. Untracked files
# are listed too (git ls-files --others --exclude-standard), so nothing needs to be committed.
git -C "${dest}" init --quiet

# ansible-test creates each sanity virtualenv without pip and bootstraps pip with a get-pip.py script it
# downloads from ci-files.testing.ansible.com, which is unreachable here (only PyPI is). Unless a real
# script is already cached, put a stand-in at that cache path: it installs the requested pip version
# from PyPI into the new virtualenv using the project venv's pip (`pip --python`).
pip_version=$("${venv}/bin/python" -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"${python_version}"'"))["pip"])')
get_pip="${HOME}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
shim_marker="wgops.fleet get-pip stand-in"
if [[ ! -e "${get_pip}" ]] || grep -q "${shim_marker}" "${get_pip}"; then
  mkdir -p "$(dirname "${get_pip}")"
  cat >"${get_pip}" <<SHIM
# ${shim_marker}, written by tests/sanity/run.sh (ci-files.testing.ansible.com is unreachable).
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]  # get-pip.py-only options
sys.exit(subprocess.call(["${venv}/bin/python", "-m", "pip", "--python", sys.executable, "install", *args]))
SHIM
fi

# Sanity tests that need an external binary neither the venv nor ansible-test installs. When the binary
# is absent ansible-test would only print a warning and skip; make that skip explicit and loud instead.
#   - test shellcheck (binary shellcheck) lints the *.sh files (tests/sanity/run.sh, tests/testbed/*.sh).
#   - test pslint (binary pwsh, PowerShell); only relevant if .ps1/.psm1 files ever appear.
skip=()
for pair in shellcheck:shellcheck pslint:pwsh; do
  test_name="${pair%%:*}" tool="${pair#*:}"
  if ! command -v "${tool}" >/dev/null 2>&1; then
    echo "run.sh: ${tool} not on PATH: skipping the ${test_name} sanity test" >&2
    skip+=(--skip-test "${test_name}")
  fi
done

cd "${dest}"
PATH="${venv}/bin:${PATH}" "${venv}/bin/ansible-test" sanity \
  --local --python "${python_version}" --color no \
  ${skip[@]+"${skip[@]}"} "$@"
