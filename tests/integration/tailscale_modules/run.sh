#!/usr/bin/env bash
# Integration test of wgops.fleet.tailscale_up and wgops.fleet.tailscale_info against real binaries.
#
#   tests/integration/tailscale_modules/run.sh                 # run it
#   tests/integration/tailscale_modules/run.sh --keep          # keep the temporary directory (logs, state)
#   tests/integration/tailscale_modules/run.sh --wait 900      # wait up to 900 s for binaries still being built
#   tests/integration/tailscale_modules/run.sh --record-fixtures  # only record the unit test fixtures
#   tests/integration/tailscale_modules/run.sh -vvv            # more ansible-playbook output (in the log)
#
# Starts `headscale serve` (the newest pinned Headscale, sqlite and unix socket in a temporary directory,
# listening on 127.0.0.1 only) and two userspace `tailscaled` (`node`, the one under test, and `peer`,
# enrolled with the plain CLI so that `node` has a peer; each with its own state dir and socket, --port 0),
# creates a user and a reusable pre-auth key with the headscale CLI, and runs playbook.yml against
# localhost (connection local). The playbook checks each module result against `tailscale status --json`,
# `tailscale debug prefs` and `headscale nodes list -o json`. The playbook log (ansible-playbook -v) must
# not contain the key. KEEP_ON_FAILURE=1 keeps the temporary directory when the test fails.
#
# Nothing leaves loopback: tailscaled runs with TS_NO_LOGS_NO_SUPPORT=true and --no-logs-no-support,
# Headscale has no update check, and its DERP map only names a loopback port nothing listens on
# (Headscale refuses an empty DERP map; the embedded DERP server stays off).
#
# Binaries come from tests/testbed/go-binaries.sh (~/.cache/wgops/go/<name>/<version>/); a missing one
# is an error (exit 2), never a skip. Every process started here is stopped on exit (by its pid).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV_BIN="$REPO/.venv/bin"
CACHE="${WGOPS_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wgops/go}" # tests/integration/run.sh sets WGOPS_GO_CACHE
KEEP=0 WAIT=0 RECORD=0
ANSIBLE_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --wait) WAIT="$2"; shift ;;
    --record-fixtures) RECORD=1 ;;
    -v*) ANSIBLE_ARGS+=("$1") ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[tailscale-it] %s\n' "$*" >&2; }

versions="$("$REPO/tests/testbed/go-binaries.sh" --versions)"
HS_VERSION="$(grep '^headscale=' <<<"$versions" | tail -n1 | cut -d= -f2)"
TS_VERSION="$(grep '^tailscale=' <<<"$versions" | cut -d= -f2)"
HEADSCALE="$CACHE/headscale/$HS_VERSION/headscale"
TAILSCALE="$CACHE/tailscale/$TS_VERSION/tailscale"
TAILSCALED="$CACHE/tailscale/$TS_VERSION/tailscaled"

deadline=$((SECONDS + WAIT))
while :; do
  missing=()
  for bin in "$HEADSCALE" "$TAILSCALE" "$TAILSCALED" "$VENV_BIN/ansible-playbook"; do
    [[ -x "$bin" ]] || missing+=("$bin")
  done
  [[ ${#missing[@]} -eq 0 ]] && break
  if ((SECONDS >= deadline)); then
    say "ERROR: missing binaries (build them with tests/testbed/go-binaries.sh, the venv with 'make venv'):"
    printf '[tailscale-it]    %s\n' "${missing[@]}" >&2
    exit 2
  fi
  sleep 10
done
if [[ ! -e "$REPO/.build/collections/ansible_collections/wgops/fleet" ]]; then
  say "ERROR: $REPO/.build/collections/ansible_collections/wgops/fleet is missing: run 'make collection'"
  exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/wgops-ts-it-XXXXXX")"
PIDS=() # every process started here, stopped in reverse order on exit
stop_pid() { # PID: SIGTERM, then SIGKILL after 10 s (only processes started here)
  local pid=$1 i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  if [[ $KEEP -eq 1 || $rc -ne 0 && -n "${KEEP_ON_FAILURE:-}" ]]; then
    say "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r HTTP_PORT METRICS_PORT GRPC_PORT DERP_PORT < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
URL="http://127.0.0.1:$HTTP_PORT"
CONFIG="$TMP/headscale.yaml"
cat >"$CONFIG" <<EOF
server_url: $URL
listen_addr: 127.0.0.1:$HTTP_PORT
metrics_listen_addr: 127.0.0.1:$METRICS_PORT
grpc_listen_addr: 127.0.0.1:$GRPC_PORT
grpc_allow_insecure: false
noise:
  private_key_path: $TMP/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
derp:
  server:
    enabled: false
  urls: []
  paths:
    - $TMP/derp.yaml
  auto_update_enabled: false
disable_check_updates: true
database:
  type: sqlite
  sqlite:
    path: $TMP/db.sqlite
    write_ahead_log: true
log:
  level: info
  format: text
policy:
  mode: file
  path: ""
dns:
  magic_dns: true
  base_domain: tailnet.internal
  override_local_dns: false
  nameservers:
    global: []
unix_socket: $TMP/headscale.sock
unix_socket_permission: "0770"
logtail:
  enabled: false
EOF
cat >"$TMP/derp.yaml" <<EOF
regions:
  900:
    regionid: 900
    regioncode: loop
    regionname: Loopback placeholder (no DERP in tests)
    nodes:
      - name: 900a
        regionid: 900
        hostname: 127.0.0.1
        ipv4: 127.0.0.1
        ipv6: none
        stunport: -1
        derpport: $DERP_PORT
EOF

export HEADSCALE_DISABLE_CHECK_UPDATES=true HEADSCALE_LOG_FORMAT=text
hs() { "$HEADSCALE" -c "$CONFIG" "$@"; }

say "headscale $HS_VERSION on $URL, tailscale $TS_VERSION (dir $TMP)"
setsid "$HEADSCALE" -c "$CONFIG" serve >"$TMP/headscale.log" 2>&1 &
HS_PID=$!
PIDS+=("$HS_PID")
for i in $(seq 1 150); do
  kill -0 "$HS_PID" 2>/dev/null || { say "ERROR: headscale exited:"; tail -n 30 "$TMP/headscale.log" >&2; exit 1; }
  [[ -S "$TMP/headscale.sock" ]] && hs users list -o json >/dev/null 2>&1 && break
  [[ $i -eq 150 ]] && { say "ERROR: headscale did not come up in 30 s"; tail -n 30 "$TMP/headscale.log" >&2; exit 1; }
  sleep 0.2
done

start_tailscaled() { # NAME: a userspace tailscaled with state and socket in $TMP/NAME; sets STARTED_PID
  local name=$1 dir="$TMP/$1" i
  mkdir -p "$dir"
  TS_NO_LOGS_NO_SUPPORT=true TS_LOGS_DIR="$dir" setsid "$TAILSCALED" \
    --tun=userspace-networking --statedir="$dir" --socket="$dir/tailscaled.sock" --port=0 --no-logs-no-support \
    >"$dir/tailscaled.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  for i in $(seq 1 100); do
    kill -0 "$STARTED_PID" 2>/dev/null || { say "ERROR: tailscaled $name exited:"; tail -n 30 "$dir/tailscaled.log" >&2; exit 1; }
    [[ -S "$dir/tailscaled.sock" ]] && "$TAILSCALE" --socket="$dir/tailscaled.sock" debug prefs >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  say "ERROR: tailscaled $name did not come up in 20 s"
  tail -n 30 "$dir/tailscaled.log" >&2
  exit 1
}
start_tailscaled node
TS_SOCKET="$TMP/node/tailscaled.sock"
start_tailscaled peer

hs users create itest -o json >/dev/null
USER_ID="$(hs users list -o json | jq -r '.[] | select(.name == "itest") | .id')"
AUTH_KEY="$(hs preauthkeys create --user "$USER_ID" --reusable --expiration 1h -o json | jq -r '.key')"
[[ -n "$AUTH_KEY" && "$AUTH_KEY" != null ]] || { say "ERROR: no pre-auth key"; exit 1; }

# A second node, enrolled with the plain CLI, so that the node under test has a peer.
printf '%s\n' "$AUTH_KEY" >"$TMP/peer/key" && chmod 600 "$TMP/peer/key"
"$TAILSCALE" --socket="$TMP/peer/tailscaled.sock" up --login-server="$URL" --auth-key="file:$TMP/peer/key" \
  --hostname=it-peer --accept-dns=false --timeout=30s >"$TMP/peer/up.log" 2>&1 ||
  { say "ERROR: the peer did not enrol:"; cat "$TMP/peer/up.log" >&2; exit 1; }
rm -f "$TMP/peer/key"

if [[ $RECORD -eq 1 ]]; then
  FIXTURES="$REPO/tests/unit/plugins/modules/fixtures/tailscale" \
    TAILSCALE="$TAILSCALE" TS_SOCKET="$TS_SOCKET" URL="$URL" AUTH_KEY="$AUTH_KEY" TS_VERSION="$TS_VERSION" \
    HS_VERSION="$HS_VERSION" TMPDIR_IT="$TMP" python3 "$HERE/record_fixtures.py"
  exit 0
fi

EXTRA="$TMP/extra-vars.json" # a file, so the key is not on ansible-playbook's command line
(umask 077 && jq -n \
  --arg tailscale "$TAILSCALE" --arg socket "$TS_SOCKET" --arg url "$URL" --arg key "$AUTH_KEY" \
  --arg headscale "$HEADSCALE" --arg config "$CONFIG" --arg dir "$TMP" --arg port "$HTTP_PORT" \
  '{tailscale_binary: $tailscale, tailscale_socket: $socket, login_server: $url, auth_key: $key,
    headscale_binary: $headscale, headscale_config: $config, test_dir: $dir, http_port: $port}' >"$EXTRA")
LOG="$TMP/playbook.log"
set +e
ANSIBLE_COLLECTIONS_PATH="$REPO/.build/collections" ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
  ANSIBLE_LOCAL_TEMP="$TMP/ansible-local" ANSIBLE_REMOTE_TEMP="$TMP/ansible-remote" \
  ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_STDOUT_CALLBACK=default \
  PATH="$VENV_BIN:$PATH" \
  "$VENV_BIN/ansible-playbook" -v -i localhost, -c local "$HERE/playbook.yml" -e "@$EXTRA" "${ANSIBLE_ARGS[@]}" >"$LOG" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  cat "$LOG" >&2
  say "--- headscale log (tail) ---"; tail -n 20 "$TMP/headscale.log" >&2
  say "--- tailscaled log (tail) ---"; tail -n 20 "$TMP/node/tailscaled.log" >&2
  python3 "$REPO/tests/testbed/failed_tasks.py" "$LOG" >&2
  say "FAIL (rc $rc)"
  exit 1
fi
if grep -qF "$AUTH_KEY" "$LOG"; then
  say "FAIL: the pre-auth key appears in the playbook output"
  exit 1
fi
sed -n '/PLAY RECAP/,$p' "$LOG" >&2
say "PASS (headscale $HS_VERSION, tailscale $TS_VERSION)"
