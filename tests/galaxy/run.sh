#!/usr/bin/env bash
# Galaxy's own checks, on the tarball `ansible-galaxy collection build` makes from this checkout:
#  1. galaxy-importer (what Galaxy runs on upload: ansible-doc, ansible-lint, READMEs, changelog, the EE
#     metadata), locally, without containers or ansible-test; any ERROR or WARNING line fails;
#  2. antsibull-docs lint-collection-docs --plugin-docs (plugin and role docs, their markup and references);
#  3. ansible-builder: the collection's EE dependencies as another EE would read them (introspect), and a
#     build context made from meta/execution-environment.yml (no image is built).
# The tools live in .build/galaxy-venv (tests/galaxy/requirements.txt), apart from the project's .venv.
set -euo pipefail

start=$SECONDS
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$root/.build/galaxy-venv
reqs=$here/requirements.txt
python=${PYTHON:-python3}
galaxy=$root/.venv/bin/ansible-galaxy

step() { printf '== %s (%ss)\n' "$1" "$((SECONDS - start))"; }
fail() { printf 'tests/galaxy: %s\n' "$*" >&2; exit 1; }

[[ -x $galaxy ]] || fail "$galaxy is missing: run make venv"

# The venv is keyed by the pins and the interpreter: a stamp holding both; anything else rebuilds it.
want=$(grep -Ev '^[[:space:]]*(#|$)' "$reqs"; "$python" -c 'import sys; print("python", sys.version.split()[0])')
if [[ -x $venv/bin/python && "$(cat "$venv/.stamp" 2>/dev/null)" == "$want" ]]; then
  step "reusing $venv"
else
  step "creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r "$reqs"
  printf '%s\n' "$want" >"$venv/.stamp"
fi
# galaxy-importer runs the first ansible-lint (and ansible-doc) on PATH: the venv's, not the project's.
export PATH=$venv/bin:$PATH
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wgops-galaxy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

step "building the collection tarball"
"$galaxy" collection build --output-path "$tmp" "$root" >/dev/null
tarballs=("$tmp"/wgops-fleet-*.tar.gz)
tarball=${tarballs[0]}
[[ -f $tarball ]] || fail "ansible-galaxy collection build made no tarball in $tmp"
tar -tzf "$tarball" >"$tmp/contents.txt"
for path in tests/galaxy .build; do
  if grep -q "^$path/" "$tmp/contents.txt"; then fail "$path/ is in the tarball: add it to galaxy.yml build_ignore"; fi
done

step "galaxy-importer on $(basename "$tarball")"
mkdir -p "$tmp/import" "$tmp/ansible-tmp"
cat >"$tmp/galaxy-importer.cfg" <<EOF
[galaxy-importer]
RUN_ANSIBLE_TEST = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOCAL_IMAGE_DOCKER = False
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = False
CHECK_CHANGELOG = True
ANSIBLE_LOCAL_TMP = $tmp/ansible-tmp
EOF
rc=0
(cd "$tmp/import" && GALAXY_IMPORTER_CONFIG=$tmp/galaxy-importer.cfg python -m galaxy_importer.main "$tarball") \
  >"$tmp/importer.log" 2>&1 || rc=$?
# One known warning is accepted: the internal role's name starts with an underscore (roles/_common, as
# prometheus.prometheus's _common, which Galaxy imports with the same warning). Nothing else passes.
flagged=$(grep -E '^(WARNING|ERROR|CRITICAL)\b' "$tmp/importer.log" \
  | grep -vxF 'WARNING: roles/_common:1: role-name: Role name _common does not match ``^[a-z][a-z0-9_]*$`` pattern. (warning)' || true)
if [[ $rc -ne 0 || -n $flagged ]]; then
  if [[ -n $flagged ]]; then printf '%s\n' "$flagged"; else tail -n 30 "$tmp/importer.log"; fi
  fail "galaxy-importer: exit $rc, $(printf '%s' "$flagged" | grep -c . || true) ERROR/WARNING line(s)"
fi
tail -n 1 "$tmp/importer.log"

step "antsibull-docs lint-collection-docs --plugin-docs"
antsibull-docs lint-collection-docs --plugin-docs "$root" || fail "antsibull-docs lint-collection-docs reported the problems above"

step "ansible-builder: the collection's EE dependencies, as another EE reads them"
collection=$tmp/collections/ansible_collections/wgops/fleet
mkdir -p "$collection"
tar -xzf "$tarball" -C "$collection"
ansible-builder introspect --sanitize "$tmp/collections" >"$tmp/introspect.yml"
cat "$tmp/introspect.yml"
for dependency in segno pynacl openssl; do
  grep -q "$dependency" "$tmp/introspect.yml" || fail "ansible-builder introspect does not list $dependency"
done

step "ansible-builder create from meta/execution-environment.yml"
# Its dependency paths are relative to the collection root (Galaxy and introspect read them so), and
# ansible-builder resolves a definition's paths from the definition's folder: run it from a copy there.
cp "$collection/meta/execution-environment.yml" "$collection/execution-environment.yml"
ansible-builder create --file "$collection/execution-environment.yml" --context "$tmp/ee-context" >/dev/null
[[ -s $tmp/ee-context/Containerfile ]] || fail "ansible-builder create wrote no Containerfile"
grep -q segno "$tmp/ee-context/_build/requirements.txt" || fail "the EE context lacks meta/ee-requirements.txt"
grep -q openssl "$tmp/ee-context/_build/bindep.txt" || fail "the EE context lacks meta/ee-bindep.txt"

printf 'tests/galaxy: all passed in %ss\n' "$((SECONDS - start))"
