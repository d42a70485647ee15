#!/usr/bin/env bash
# Builds the Headscale and Tailscale binaries the scenarios install (`local` install method) with
# `go install MODULE/cmd/NAME@VERSION`, once per machine, into a cache keyed by version:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/wgops/go/<name>/<version>/<name>
#
#   tests/testbed/go-binaries.sh            # build what is missing, print the cache directory
#   tests/testbed/go-binaries.sh --newest   # only the newest Headscale and tailscale (what `make lab` runs)
#   tests/testbed/go-binaries.sh --versions # print NAME=VERSION lines (what the scenarios use)
#
# The versions are pinned in tests/versions.env, which also says why those; go names them with a leading v.
set -euo pipefail

log() { printf '[go-binaries] %s\n' "$*" >&2; }

# shellcheck source=tests/versions.env
source "$(dirname "${BASH_SOURCE[0]}")/../versions.env"
read -ra headscale_pins <<<"${HEADSCALE_VERSIONS:-}"
if ((${#headscale_pins[@]} == 0)) || [[ -z ${TAILSCALE_VERSION:-} ]]; then
  log "ERROR: tests/versions.env sets no HEADSCALE_VERSIONS or no TAILSCALE_VERSION"
  exit 1
fi

HEADSCALE_MODULE=github.com/juanfont/headscale
HEADSCALE_VERSIONS=("${headscale_pins[@]/#/v}") # oldest first, the newest last
TAILSCALE_MODULE=tailscale.com
TAILSCALE_VERSION="v$TAILSCALE_VERSION"
TAILSCALE_COMMANDS=(tailscale tailscaled derper)

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wgops/go"

if [[ "${1:-}" == "--versions" ]]; then
  printf 'headscale=%s\n' "${HEADSCALE_VERSIONS[@]}"
  printf 'tailscale=%s\n' "$TAILSCALE_VERSION"
  exit 0
fi

if [[ "${1:-}" == "--probe" ]]; then
  # Newest patch of each minor from 0.26 on, as the proxy serves them one by one.
  for minor in 26 27 28 29 30 31; do
    newest=""
    for patch in $(seq 0 20); do
      go list -m "$HEADSCALE_MODULE@v0.$minor.$patch" >/dev/null 2>&1 || break
      newest="v0.$minor.$patch"
    done
    [[ -n "$newest" ]] && echo "headscale 0.$minor: $newest"
  done
  echo "tailscale latest: $(go list -m "$TAILSCALE_MODULE@latest")"
  exit 0
fi

command -v go >/dev/null || { log "ERROR: go is not installed (the machine's Go toolchain builds these)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
# A module that needs a newer Go than the machine's (tailscale 1.104 wants go >= 1.27.3) makes go fetch
# that toolchain from the module proxy (golang.org/toolchain), verified like any module.
export GOTOOLCHAIN="${GOTOOLCHAIN_OVERRIDE:-auto}"
# `go install M/cmd/X@V` looks up M's newest version to print deprecation notices, and the proxy here
# answers 403 for Headscale's version list, which go treats as fatal. The module cache is a valid
# proxy whose list holds the versions downloaded so far: ask it first (missing files answer 404 and go
# falls through to the real proxy), after `go mod download` has put the pinned version there.
MODCACHE="$(go env GOMODCACHE)"
upstream_proxy="$(go env GOPROXY)"
export GOPROXY="file://$MODCACHE/cache/download,$upstream_proxy"

# The checksum database as this network's proxy serves it lacks some pseudo-versions that upstream
# pins (headscale 0.28.0 pins a github.com/tailscale/tailsql commit sum.golang.org answers 404 for).
# Such modules are fetched without the sumdb (GONOSUMDB) and then checked against the hashes in the
# built module's own go.sum; any mismatch fails the build.
sumdb_missing() { # go's output -> "module@version" lines the sumdb lookup answered 404 for
  grep -o 'sumdb/sum.golang.org/lookup/[^ :]*: 404' | sed 's#^sumdb/sum.golang.org/lookup/##; s#: 404$##' | sort -u
}
# Module paths are case-encoded in the module cache: each upper-case letter becomes '!' + lower case.
# shellcheck disable=SC2001 # sed's \L has no parameter-expansion equivalent
case_encode() { sed 's/[A-Z]/!\L&/g' <<<"$1"; }
check_against_gosum() { # GOSUM MODULE@VERSION...
  local gosum=$1 mv mod ver esc want have
  shift
  for mv in "$@"; do
    mod=${mv%@*} ver=${mv##*@}
    esc=$(case_encode "$mod")
    want=$(awk -v m="$mod" -v v="$ver" '$1 == m && $2 == v {print $3}' "$gosum")
    have=$(cat "$MODCACHE/cache/download/$esc/@v/$ver.ziphash" 2>/dev/null || true)
    if [[ -z $want || $want != "$have" ]]; then
      log "ERROR: $mv: hash '$have' does not match '$want' from $gosum"
      return 1
    fi
    log "verified $mv against $gosum ($have)"
  done
}

# build NAME VERSION PACKAGE...: install the packages' commands into CACHE/NAME/VERSION atomically.
build() {
  local name=$1 version=$2
  shift 2
  local dest="$CACHE/$name/$version"
  if [[ -x "$dest/$name" ]]; then
    return 0
  fi
  local tmp out nosumdb="" unverified=() missing module
  tmp="$(mktemp -d "$CACHE/.build.XXXXXX")"
  log "go install $* (into $dest)"
  local start=$SECONDS pkg
  module="${1%%/cmd/*}@${1##*@}"
  GOFLAGS='' go mod download "$module"
  for _ in 1 2 3 4 5; do
    if out=$(GONOSUMDB="$nosumdb" GOBIN="$tmp" go install "$@" 2>&1); then
      break
    fi
    printf '%s\n' "$out" >&2
    missing=$(sumdb_missing <<<"$out")
    [[ -n $missing ]] || { rm -rf "$tmp"; return 1; }
    for pkg in $missing; do
      nosumdb+="${nosumdb:+,}${pkg%@*}"
      unverified+=("$pkg")
    done
    log "retrying without the checksum database for: ${missing//$'\n'/ }"
  done
  [[ -x "$tmp/$name" ]] || { rm -rf "$tmp"; log "ERROR: no $name after go install"; return 1; }
  if ((${#unverified[@]})); then
    check_against_gosum "$MODCACHE/$(case_encode "${module%@*}")@${module##*@}/go.sum" "${unverified[@]}" ||
      { rm -rf "$tmp"; return 1; }
  fi
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "built $name $version in $((SECONDS - start)) s"
}

wanted=("${HEADSCALE_VERSIONS[@]}")
[[ "${1:-}" == "--newest" ]] && wanted=("${HEADSCALE_VERSIONS[-1]}")

mkdir -p "$CACHE"
# One build at a time per machine (scenarios run side by side call this too).
exec 9>"$CACHE/.lock"
flock 9
for v in "${wanted[@]}"; do
  build headscale "$v" "$HEADSCALE_MODULE/cmd/headscale@$v"
done
pkgs=()
for c in "${TAILSCALE_COMMANDS[@]}"; do pkgs+=("$TAILSCALE_MODULE/cmd/$c@$TAILSCALE_VERSION"); done
build tailscale "$TAILSCALE_VERSION" "${pkgs[@]}"
echo "$CACHE"
