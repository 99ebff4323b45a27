#!/usr/bin/env bash
# tools/vault-dev.sh — build and run a throw-away Vault dev server for
# certctl's integration tests.
#
# The server is HashiCorp Vault v1.14.2 (MPL-2.0) compiled from Go modules by
# the wrapper module in tools/vault-server/ (see its README.md for why that
# version and how the pins were chosen). No release binary is downloaded.
#
# Usage:
#   tools/vault-dev.sh build     build .cache/vault-server/vault if missing or older
#                                than tools/vault-server/{go.mod,go.sum,main.go,*.sed}
#                                (needs Go >= 1.20 and the Go module proxy)
#   tools/vault-dev.sh start     build if needed, start `vault server -dev` on a
#                                free 127.0.0.1 port, wait for /v1/sys/health and
#                                print ONLY `export VAULT_…=…` lines on stdout:
#                                    eval "$(tools/vault-dev.sh start)"
#                                If a server is already running, prints its env.
#   tools/vault-dev.sh env       print the env lines of the running server
#   tools/vault-dev.sh status    "running …" (exit 0) or "stopped" (exit 3)
#   tools/vault-dev.sh stop      TERM the recorded pid, wait, KILL if needed
#   tools/vault-dev.sh restart   stop + start (a fresh, empty server)
#
# Environment:
#   VAULT_DEV_PORT=8200          fixed port instead of a random free one
#   VAULT_DEV_TLS=1              serve HTTPS (vault -dev-tls); adds VAULT_CACERT
#   VAULT_DEV_STATE=DIR          state dir (default: <repo>/.cache/vault-dev);
#                                holds pid, env, vault.log, unseal-key, tls/
#   VAULT_DEV_ROOT_TOKEN=…       fixed root token (default: random)
#   VAULT_DEV_START_TIMEOUT=60   seconds to wait for /v1/sys/health
#   VAULT_DEV_BIN=PATH           use this vault binary, skip the build
#   VAULT_DEV_CPUS=LIST          run the server on these CPUs only (taskset -c LIST;
#                                Go then uses as many threads as CPUs). bench/ uses it
#                                to keep Vault and certctl off each other's CPUs.
#   VAULT_BUILD_TIMEOUT=3600     seconds allowed for `go build`
#   GOCACHE                      default: <repo>/.cache/vault-server/go-build
#
# Notes:
#   * Dev mode keeps everything in memory: every start is an empty Vault,
#     unsealed, with a root token, KV v2 mounted at secret/.
#   * Without VAULT_DEV_TLS=1 the server speaks plain HTTP, bound to loopback
#     only. Never use dev mode for anything but tests.
#   * The root token is NOT written to ~/.vault-token (-dev-no-store-token).
#   * After `PUT /v1/sys/seal`, unseal with the key in $VAULT_DEV_STATE/unseal-key:
#       curl -X PUT "$VAULT_ADDR/v1/sys/unseal" -d "{\"key\":\"$(cat …/unseal-key)\"}"
#     (the in-memory data survives a seal/unseal; only stop/start wipes it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/tools/vault-server"
OUT_DIR="$ROOT/.cache/vault-server"
BIN="${VAULT_DEV_BIN:-$OUT_DIR/vault}"
STATE="${VAULT_DEV_STATE:-$ROOT/.cache/vault-dev}"
PIDFILE="$STATE/pid"
ENVFILE="$STATE/env"
LOGFILE="$STATE/vault.log"

log() { printf 'vault-dev: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- build ----

needs_build() {
  [ -n "${VAULT_DEV_BIN:-}" ] && return 1
  [ -x "$BIN" ] || return 0
  local f
  for f in go.mod go.sum main.go sdk-framework-backend.sed; do
    [ "$SRC/$f" -nt "$BIN" ] && return 0
  done
  return 1
}

# go.mod replaces github.com/hashicorp/vault/sdk with $SDK_DIR: the published
# sdk v0.9.2 with one start-up check removed (see tools/vault-server/README.md).
# Re-create it from the module cache, verified against the h1: hash in go.sum.
SDK_MOD=github.com/hashicorp/vault/sdk
SDK_VERSION=v0.9.2
SDK_DIR="$OUT_DIR/sdk-$SDK_VERSION-patched"
SDK_SED="$SRC/sdk-framework-backend.sed"

prepare_sdk() {
  local want stamp="$SDK_DIR/.certctl-stamp" sum info dir tmp n
  sum=$(awk -v m="$SDK_MOD" -v v="$SDK_VERSION" '$1==m && $2==v {print $3}' "$SRC/go.sum")
  [ -n "$sum" ] || die "no $SDK_MOD $SDK_VERSION hash in $SRC/go.sum"
  want="$SDK_MOD@$SDK_VERSION $sum $(cksum <"$SDK_SED")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "preparing patched $SDK_MOD@$SDK_VERSION in ${SDK_DIR#"$ROOT"/}"
  info=$(cd "$SRC" && GOFLAGS='' GOWORK=off go mod download -json "$SDK_MOD@$SDK_VERSION") \
    || die "go mod download $SDK_MOD@$SDK_VERSION failed: $info"
  dir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  printf '%s\n' "$info" | grep -q "\"Sum\": \"$sum\"" \
    || die "$SDK_MOD@$SDK_VERSION does not match go.sum ($sum)"
  [ -d "$dir" ] || die "module dir not found for $SDK_MOD@$SDK_VERSION"
  tmp="$SDK_DIR.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  cp -R "$dir/." "$tmp/"
  chmod -R u+w "$tmp"
  sed -f "$SDK_SED" "$dir/framework/backend.go" >"$tmp/framework/backend.go"
  n=$(grep -c 'check removed by tools/vault-server/sdk-framework-backend.sed' "$tmp/framework/backend.go" || true)
  [ "$n" = 2 ] || { rm -rf "$tmp"; die "sdk patch did not apply (expected 2 substitutions, got $n)"; }
  printf '%s\n' "$want" >"$tmp/.certctl-stamp"
  rm -rf "$SDK_DIR"; mv "$tmp" "$SDK_DIR"
}

cmd_build() {
  if [ -n "${VAULT_DEV_BIN:-}" ]; then
    [ -x "$VAULT_DEV_BIN" ] || die "VAULT_DEV_BIN=$VAULT_DEV_BIN is not executable"
    log "using VAULT_DEV_BIN=$VAULT_DEV_BIN (no build)"
    return 0
  fi
  if ! needs_build; then
    log "up to date: $BIN"
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "go not found in PATH (need Go >= 1.20 to build tools/vault-server)"
  mkdir -p "$OUT_DIR"
  prepare_sdk
  local blog="$OUT_DIR/build.log" tmp="$OUT_DIR/vault.tmp.$$" start rc=0 pid
  start=$(date +%s)
  log "building Vault v1.14.2 from Go modules -> ${BIN#"$ROOT"/} (cold: ~7 min on 2 cores + ~3 GB of modules; log: ${blog#"$ROOT"/})"
  local to=()
  command -v timeout >/dev/null 2>&1 && to=(timeout "${VAULT_BUILD_TIMEOUT:-3600}")
  (
    cd "$SRC"
    export CGO_ENABLED=0 GOFLAGS='' GOWORK=off
    export GOCACHE="${GOCACHE:-$OUT_DIR/go-build}"
    exec "${to[@]}" go build -mod=readonly -trimpath -buildvcs=false \
      -ldflags='-s -w' -o "$tmp" .
  ) >"$blog" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    kill -0 "$pid" 2>/dev/null || break
    local el=$(( $(date +%s) - start ))
    if [ $(( el % 30 )) -lt 5 ]; then log "  … still building (${el}s)"; fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    rm -f "$tmp"
    log "build FAILED (rc=$rc); last lines of $blog:"
    tail -n 40 "$blog" >&2 || true
    exit 1
  fi
  mv -f "$tmp" "$BIN"
  log "built $BIN in $(( $(date +%s) - start ))s ($(du -h "$BIN" | cut -f1))"
}

# --------------------------------------------------------------- server ----

is_running() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: must still be a `vault server -dev`
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- 'server -dev' || return 1
  fi
  return 0
}

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p _
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "could not find a free port"
}

random_token() {
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# health probe: 0 when /v1/sys/health says initialized+unsealed+active (200)
health_ok() {
  local addr=$1 cacert=${2:-}
  if command -v curl >/dev/null 2>&1; then
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 2)
    [ -n "$cacert" ] && args+=(--cacert "$cacert")
    [ "$(curl "${args[@]}" "$addr/v1/sys/health" 2>/dev/null)" = 200 ]
  else
    VAULT_ADDR=$addr VAULT_CACERT=$cacert "$BIN" status >/dev/null 2>&1
  fi
}

# 0 when the server at $addr accepts $token (i.e. it is the server we started,
# not some other process that happens to own the port)
token_ok() {
  local addr=$1 token=$2 cacert=${3:-}
  command -v curl >/dev/null 2>&1 || return 0
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 2 -H "X-Vault-Token: $token")
  [ -n "$cacert" ] && args+=(--cacert "$cacert")
  [ "$(curl "${args[@]}" "$addr/v1/auth/token/lookup-self" 2>/dev/null)" = 200 ]
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_env() {
  is_running || die "not running (start it with: $0 start)"
  cat "$ENVFILE"
}

cmd_start() {
  mkdir -p "$STATE"
  if is_running; then
    log "already running (pid $(cat "$PIDFILE"))"
    cat "$ENVFILE"
    return 0
  fi
  rm -f "$PIDFILE" "$ENVFILE"
  cmd_build
  [ -x "$BIN" ] || die "no vault binary at $BIN"

  local port=${VAULT_DEV_PORT:-} token=${VAULT_DEV_ROOT_TOKEN:-} scheme=http cacert=""
  if [ -n "$port" ]; then
    port_in_use "$port" && die "VAULT_DEV_PORT=$port: something is already listening on 127.0.0.1:$port"
  else
    port=$(free_port)
  fi
  [ -n "$token" ] || token=$(random_token)
  local args=(server -dev "-dev-listen-address=127.0.0.1:$port"
              "-dev-root-token-id=$token" -dev-no-store-token)
  if [ "${VAULT_DEV_TLS:-0}" = 1 ]; then
    scheme=https
    rm -rf "$STATE/tls"; mkdir -p "$STATE/tls"
    args+=(-dev-tls "-dev-tls-cert-dir=$STATE/tls")
    cacert="$STATE/tls/vault-ca.pem"
  fi
  local addr="$scheme://127.0.0.1:$port"

  log "starting $BIN ${args[*]/$token/<token>}"
  # Detach completely from our stdio so `eval "$(… start)"` returns.
  (
    unset VAULT_ADDR VAULT_TOKEN VAULT_CACERT VAULT_NAMESPACE
    if [ -n "${VAULT_DEV_CPUS:-}" ]; then
      command -v taskset >/dev/null || die "VAULT_DEV_CPUS needs taskset (util-linux)"
      exec taskset -c "$VAULT_DEV_CPUS" "$BIN" "${args[@]}"
    fi
    exec "$BIN" "${args[@]}"
  ) </dev/null >"$LOGFILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"

  local deadline=$(( $(date +%s) + ${VAULT_DEV_START_TIMEOUT:-60} ))
  until kill -0 "$pid" 2>/dev/null && health_ok "$addr" "$cacert" \
        && kill -0 "$pid" 2>/dev/null && token_ok "$addr" "$token" "$cacert"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      log "vault exited during startup; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2 || true
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "timed out waiting for $addr/v1/sys/health; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2 || true
      cmd_stop >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.2
  done

  # dev mode prints the single unseal key; keep it for seal/unseal tests
  local _ key=""
  for _ in $(seq 1 25); do
    key=$(sed -n 's/^Unseal Key: //p' "$LOGFILE" 2>/dev/null | head -n 1)
    [ -n "$key" ] && break
    sleep 0.2
  done
  ( umask 077; printf '%s\n' "$key" >"$STATE/unseal-key" )

  {
    printf "export VAULT_ADDR='%s'\n" "$addr"
    printf "export VAULT_TOKEN='%s'\n" "$token"
    [ -n "$cacert" ] && printf "export VAULT_CACERT='%s'\n" "$cacert"
  } >"$ENVFILE.tmp"
  chmod 600 "$ENVFILE.tmp"
  mv -f "$ENVFILE.tmp" "$ENVFILE"
  log "ready: $addr (pid $pid, log ${LOGFILE})"
  cat "$ENVFILE"
}

cmd_stop() {
  if ! [ -f "$PIDFILE" ]; then
    log "not running (no pid file)"
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  if is_running; then
    kill -TERM "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not exit after TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped (pid $pid)"
  else
    log "stale pid file (pid $pid not running)"
  fi
  rm -f "$PIDFILE" "$ENVFILE" "$STATE/unseal-key"
}

cmd_status() {
  if is_running; then
    local addr cacert=""
    addr=$(sed -n "s/^export VAULT_ADDR='\(.*\)'$/\1/p" "$ENVFILE" 2>/dev/null || true)
    cacert=$(sed -n "s/^export VAULT_CACERT='\(.*\)'$/\1/p" "$ENVFILE" 2>/dev/null || true)
    local h=unhealthy
    [ -n "$addr" ] && health_ok "$addr" "$cacert" && h=healthy
    echo "running pid=$(cat "$PIDFILE") addr=${addr:-?} ($h)"
    return 0
  fi
  echo "stopped"
  return 3
}

case "${1:-}" in
  build)   cmd_build ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
