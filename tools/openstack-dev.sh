#!/usr/bin/env bash
# Real OpenStack Keystone + Barbican on 127.0.0.1 for certctl's integration
# tests, CI and developers (Debian's python3-keystone 22 / python3-barbican 15,
# SQLite, no Docker needed). See tools/openstack-dev/README.md.
#
#   tools/openstack-dev.sh install                apt-install the packages if missing
#   tools/openstack-dev.sh start [STATE_DIR]      start what is not running, print env
#   tools/openstack-dev.sh stop [STATE_DIR]       stop all three servers
#   tools/openstack-dev.sh restart [STATE_DIR]
#   tools/openstack-dev.sh status [STATE_DIR]     exit 0 only if all three answer
#   tools/openstack-dev.sh env [STATE_DIR]        print the env lines again
#   tools/openstack-dev.sh stop-barbican|start-barbican [STATE_DIR]
#   tools/openstack-dev.sh stop-keystone|start-keystone [STATE_DIR]
#   tools/openstack-dev.sh run [STATE_DIR]        start, then stay in the foreground (Docker)
#   tools/openstack-dev.sh reset [STATE_DIR]      stop and delete all state (DBs, keys, passwords)
#
# `start` prints only `export NAME=value` lines on stdout (also written to
# STATE_DIR/env):
#   env_lines=$(tools/openstack-dev.sh start) && eval "$env_lines"
#
# Environment knobs (all optional):
#   OPENSTACK_DEV_STATE_DIR         default STATE_DIR (else <repo>/.cache/openstack-dev)
#   OPENSTACK_DEV_KEYSTONE_PORT, OPENSTACK_DEV_BARBICAN_PORT,
#   OPENSTACK_DEV_BARBICAN_NOAUTH_PORT   fixed ports (else the last ones if free, else free ones)
#   OPENSTACK_DEV_TIMEOUT           seconds to wait for readiness (default 120)
#   OPENSTACK_DEV_PYTHON            interpreter with Debian's dist-packages (default /usr/bin/python3)
#   OPENSTACK_DEV_BIND_HOST         listen address (default 127.0.0.1; 0.0.0.0 only inside Docker)
#   OPENSTACK_DEV_PUBLIC_HOST       host name in the printed URLs and the catalog (default 127.0.0.1)
#   OPENSTACK_DEV_ADMIN_PASSWORD    Keystone admin password (fixed at first setup; `reset` to change)
#   OPENSTACK_DEV_CERTCTL_PASSWORD, OPENSTACK_DEV_OBSERVER_PASSWORD
#                                   passwords of users certctl / certctl-observer (else random,
#                                   kept in STATE_DIR/secrets; re-applied at every start)
#   OPENSTACK_DEV_NOAUTH_PROJECT    project id to use with the noauth Barbican
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
LIB_DIR="$SCRIPT_DIR/openstack-dev"
PY=${OPENSTACK_DEV_PYTHON:-/usr/bin/python3}
PACKAGES=(python3-barbican python3-keystone python3-waitress)
TIMEOUT=${OPENSTACK_DEV_TIMEOUT:-120}
BIND_HOST=${OPENSTACK_DEV_BIND_HOST:-127.0.0.1}
PUBLIC_HOST=${OPENSTACK_DEV_PUBLIC_HOST:-127.0.0.1}
NOAUTH_PROJECT=${OPENSTACK_DEV_NOAUTH_PROJECT:-certctl-noauth-project}
SERVICES=(keystone barbican barbican-noauth)

die() { echo "openstack-dev: error: $*" >&2; exit 1; }
note() { echo "openstack-dev: $*" >&2; }

usage() {
  if [ "${1:-2}" = 0 ]; then
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  else
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  fi
  exit "${1:-2}"
}

# ---------------------------------------------------------------- install

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

docker_hint() {
  cat >&2 <<EOF
openstack-dev: installing the OpenStack packages needs root (or sudo) on Debian/Ubuntu.
Without them, run the same servers in Docker instead (see tools/openstack-dev/README.md):
  docker compose up -d --wait openstack
  docker compose exec openstack cat /state/env   # the same export lines, with 127.0.0.1 URLs
EOF
}

cmd_install() {
  local -a missing sudo=()
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    [ -x "$PY" ] || die "$PY not found (set OPENSTACK_DEV_PYTHON)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || { docker_hint; die "no apt-get here; missing: ${missing[*]}"; }
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      docker_hint
      exit 1
    fi
  fi
  note "installing ${missing[*]} with apt-get --no-install-recommends (about a minute)"
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/openstack-dev-apt.XXXXXX")
  # Wait for a dpkg lock held by a concurrent install instead of failing.
  local -a apt_install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get
                        -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}")
  if ! "${apt_install[@]}" >"$log" 2>&1; then
    # Most often: empty or stale package lists.
    if ! { "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >>"$log" 2>&1 &&
           "${apt_install[@]}" >>"$log" 2>&1; }; then
      tail -n 20 "$log" >&2
      rm -f "$log"
      [ "${#sudo[@]}" -eq 0 ] || docker_hint
      die "apt-get install ${missing[*]} failed"
    fi
  fi
  rm -f "$log"
  "$PY" -c 'import barbican.api.app, keystone.server.wsgi, waitress, keystonemiddleware.auth_token' \
    2>/dev/null || die "$PY cannot import barbican/keystone/waitress after install"
}

# ---------------------------------------------------------------- helpers

set_state_dir() {
  STATE=${1:-${OPENSTACK_DEV_STATE_DIR:-$REPO_ROOT/.cache/openstack-dev}}
  case $STATE in /*) ;; *) STATE="$PWD/$STATE" ;; esac
  STATE=${STATE%/}
}

script_of() {
  case $1 in keystone) echo serve_keystone.py ;; *) echo serve_barbican.py ;; esac
}

# alive PID: running and not a zombie (reparented servers stay zombies until
# init gets round to reaping them).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Prints the pid if the recorded process is alive and is our launcher for
# this state dir (guards against pid reuse).
pid_of() {
  local name=$1 pidfile="$STATE/$1.pid" pid cmdline
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $cmdline in
    *"$(script_of "$name")"*"--state-dir $STATE/$name "*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

load_ports() {
  KEYSTONE_PORT='' BARBICAN_PORT='' BARBICAN_NOAUTH_PORT=''
  if [ -f "$STATE/ports" ]; then
    # shellcheck disable=SC1091
    . "$STATE/ports"
  fi
}

port_var() {
  case $1 in
    keystone) echo KEYSTONE_PORT ;;
    barbican) echo BARBICAN_PORT ;;
    barbican-noauth) echo BARBICAN_NOAUTH_PORT ;;
  esac
}

# pick_ports WANT...: for each wanted port (0 = any), print it if it can be
# bound on BIND_HOST, else a free one; all distinct.
pick_ports() {
  "$PY" - "$BIND_HOST" "$@" <<'EOF'
import socket, sys
host, wanted = sys.argv[1], [int(p) for p in sys.argv[2:]]
held, out = [], []
def sock():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
    return s
for want in wanted:
    s = sock()
    try:
        s.bind((host, want))
    except OSError:
        s.close()
        s = sock()
        s.bind((host, 0))
    held.append(s)
    out.append(str(s.getsockname()[1]))
print(" ".join(out))
EOF
}

port_free() {
  # SO_REUSEADDR like waitress: TIME_WAIT leftovers of a stopped server do
  # not make its port busy.
  "$PY" -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2])))' \
    "$BIND_HOST" "$1" 2>/dev/null
}

url_of() {
  case $1 in
    keystone) echo "http://$PUBLIC_HOST:$KEYSTONE_PORT/v3" ;;
    barbican) echo "http://$PUBLIC_HOST:$BARBICAN_PORT" ;;
    barbican-noauth) echo "http://$PUBLIC_HOST:$BARBICAN_NOAUTH_PORT" ;;
  esac
}

probe_url() {  # probe_url NAME -> local URL used for readiness
  local host=$BIND_HOST port_name
  [ "$host" = 0.0.0.0 ] && host=127.0.0.1
  port_name=$(port_var "$1")
  case $1 in
    keystone) echo "http://$host:${!port_name}/v3" ;;
    *) echo "http://$host:${!port_name}/" ;;
  esac
}

http_code() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true
  else
    "$PY" - "$1" <<'EOF' 2>/dev/null || true
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3).status, end="")
except urllib.error.HTTPError as e:
    print(e.code, end="")
EOF
  fi
}

expected_code() { case $1 in keystone) echo 200 ;; *) echo 300 ;; esac; }

ensure_secret() {  # ensure_secret NAME [VALUE_OVERRIDE]
  local file="$STATE/secrets/$1"
  if [ -n "${2:-}" ]; then
    (umask 077 && printf '%s\n' "$2" >"$file")
  elif [ ! -s "$file" ]; then
    (umask 077 && "$PY" -c 'import secrets, string
a = string.ascii_letters + string.digits
print("".join(secrets.choice(a) for _ in range(24)))' >"$file")
  fi
}

secret() { cat "$STATE/secrets/$1"; }

launch() {
  local name=$1 script
  local -a args
  script=$(script_of "$name")
  case $name in
    keystone)
      args=(--state-dir "$STATE/keystone" --port "$KEYSTONE_PORT" --host "$BIND_HOST"
            --admin-password-file "$STATE/secrets/admin") ;;
    barbican)
      args=(--state-dir "$STATE/barbican" --port "$BARBICAN_PORT" --host "$BIND_HOST"
            --mode keystone --keystone-url "http://127.0.0.1:$KEYSTONE_PORT/v3"
            --service-password-file "$STATE/secrets/barbican") ;;
    barbican-noauth)
      args=(--state-dir "$STATE/barbican-noauth" --port "$BARBICAN_NOAUTH_PORT" --host "$BIND_HOST"
            --mode noauth) ;;
  esac
  rm -f "$STATE/$name.pid"
  local -a detach=()
  command -v setsid >/dev/null 2>&1 && detach=(setsid)
  # Own session, no inherited stdout (so $(...) returns), no lock fd.
  "${detach[@]}" "$PY" "$LIB_DIR/$script" "${args[@]}" --pid-file "$STATE/$name.pid" \
    </dev/null >"$STATE/$name.log" 2>&1 9>&- &
  echo "$!" >"$STATE/$name.pid.launch"
}

fail_with_log() {
  local name=$1 msg=$2
  {
    echo "openstack-dev: error: $name $msg; last lines of $STATE/$name.log:"
    tail -n 30 "$STATE/$name.log" 2>/dev/null | sed 's/^/    /'
  } >&2
  exit 1
}

wait_ready() {  # wait_ready NAME DEADLINE_EPOCH
  local name=$1 deadline=$2 url want code=''
  url=$(probe_url "$name")
  want=$(expected_code "$name")
  while :; do
    if ! pid_of "$name" >/dev/null; then
      # The launcher writes its pid file at once; give it that moment.
      local lpid
      lpid=$(cat "$STATE/$name.pid.launch" 2>/dev/null || true)
      if [ -z "$lpid" ] || ! alive "$lpid"; then
        fail_with_log "$name" "exited during start-up"
      fi
    fi
    code=$(http_code "$url")
    [ "$code" = "$want" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail_with_log "$name" "not ready after ${TIMEOUT}s ($url answered '${code:-nothing}', want $want)"
    sleep 0.2
  done
}

write_env() {
  local tmp="$STATE/env.tmp"
  {
    echo "export OS_AUTH_URL=$(url_of keystone)"
    echo "export OS_USERNAME=certctl"
    echo "export OS_PASSWORD=$(secret certctl)"
    echo "export OS_PROJECT_NAME=demo"
    echo "export OS_USER_DOMAIN_NAME=Default"
    echo "export OS_PROJECT_DOMAIN_NAME=Default"
    echo "export OS_REGION_NAME=RegionOne"
    echo "export OS_IDENTITY_API_VERSION=3"
    echo "export CERTCTL_IT_BARBICAN_ENDPOINT=$(url_of barbican)"
    echo "export CERTCTL_IT_BARBICAN_NOAUTH_ENDPOINT=$(url_of barbican-noauth)"
    echo "export CERTCTL_IT_BARBICAN_NOAUTH_PROJECT=$NOAUTH_PROJECT"
    echo "export CERTCTL_IT_KEYSTONE_ADMIN_PASSWORD=$(secret admin)"
    echo "export CERTCTL_IT_KEYSTONE_OBSERVER_USERNAME=certctl-observer"
    echo "export CERTCTL_IT_KEYSTONE_OBSERVER_PASSWORD=$(secret certctl-observer)"
    echo "export CERTCTL_IT_OPENSTACK_STATE=$STATE"
  } >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$STATE/env"
}

take_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/lock"
    flock -w "$TIMEOUT" 9 || die "another openstack-dev.sh holds $STATE/lock"
  fi
}

# ---------------------------------------------------------------- commands

# start_services [--only] NAME...: launch the named services that are not
# running, wait until they answer; with all three, bootstrap Keystone and
# print the env.
start_services() {
  local only=0
  if [ "${1:-}" = --only ]; then only=1; shift; fi
  local -a names=("$@")
  cmd_install
  mkdir -p "$STATE/secrets"
  chmod 700 "$STATE" "$STATE/secrets" 2>/dev/null || true
  take_lock

  if [ -n "${OPENSTACK_DEV_ADMIN_PASSWORD:-}" ] && [ -s "$STATE/secrets/admin" ] &&
     [ "$(secret admin)" != "$OPENSTACK_DEV_ADMIN_PASSWORD" ]; then
    die "OPENSTACK_DEV_ADMIN_PASSWORD differs from the admin password set up in $STATE; run '$0 reset $STATE' first"
  fi
  ensure_secret admin "${OPENSTACK_DEV_ADMIN_PASSWORD:-}"
  ensure_secret barbican
  ensure_secret certctl "${OPENSTACK_DEV_CERTCTL_PASSWORD:-}"
  ensure_secret certctl-observer "${OPENSTACK_DEV_OBSERVER_PASSWORD:-}"

  load_ports
  local old_keystone_port=$KEYSTONE_PORT name var override
  local -a to_launch=() want=() picked=()
  for name in "${names[@]}"; do
    pid_of "$name" >/dev/null || to_launch+=("$name")
  done
  if [ "${#to_launch[@]}" -gt 0 ]; then
    # Port of each service to launch: OPENSTACK_DEV_<NAME>_PORT, else the
    # recorded one if still free (a warm restart keeps its URLs), else any.
    for name in "${to_launch[@]}"; do
      var=$(port_var "$name")
      override="OPENSTACK_DEV_$var"
      override=${!override:-}
      if [ -n "$override" ]; then
        port_free "$override" || die "$name port $override (OPENSTACK_DEV_$var) is in use"
        want+=("$override")
      elif [ "$only" = 1 ] && [ -n "${!var}" ]; then
        # Fault-injection restarts keep the same port, or fail loudly.
        port_free "${!var}" || die "$name port ${!var} is in use by another process"
        want+=("${!var}")
      else
        want+=("${!var:-0}")
      fi
    done
    read -r -a picked <<<"$(pick_ports "${want[@]}")"
    local i
    for i in "${!to_launch[@]}"; do
      printf -v "$(port_var "${to_launch[$i]}")" '%s' "${picked[$i]}"
    done
    # A running keystone-protected Barbican validates tokens against the
    # Keystone URL it was started with.
    if [ -n "$old_keystone_port" ] && [ "$old_keystone_port" != "$KEYSTONE_PORT" ] &&
       pid_of barbican >/dev/null; then
      stop_one barbican
      to_launch+=(barbican)
    fi
    [ -n "$KEYSTONE_PORT" ] || die "Keystone has no port yet: run '$0 start' first"
    printf 'KEYSTONE_PORT=%s\nBARBICAN_PORT=%s\nBARBICAN_NOAUTH_PORT=%s\n' \
      "$KEYSTONE_PORT" "$BARBICAN_PORT" "$BARBICAN_NOAUTH_PORT" >"$STATE/ports"
    for name in "${to_launch[@]}"; do
      launch "$name"
    done
  fi

  local deadline=$(( $(date +%s) + TIMEOUT ))
  for name in "${names[@]}"; do
    [ "$name" = keystone ] || continue
    wait_ready keystone "$deadline"
  done
  if [ "$only" = 0 ]; then
    "$PY" "$LIB_DIR/bootstrap_keystone.py" --keystone-url "http://127.0.0.1:$KEYSTONE_PORT/v3" \
      --barbican-url "$(url_of barbican)" --secrets-dir "$STATE/secrets" \
      || fail_with_log keystone "bootstrap over REST failed"
  fi
  for name in "${names[@]}"; do
    [ "$name" = keystone ] && continue
    wait_ready "$name" "$deadline"
  done
  rm -f "$STATE"/*.pid.launch
  if [ "$only" = 0 ]; then
    write_env
    cat "$STATE/env"
  fi
}

stop_one() {
  local name=$1 pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      note "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$STATE/$name.pid" "$STATE/$name.pid.launch"
}

cmd_stop() {
  [ -d "$STATE" ] || return 0
  local name
  for name in barbican-noauth barbican keystone; do
    stop_one "$name"
  done
}

cmd_status() {
  local name pid rc=0 url
  load_ports 2>/dev/null || true
  for name in "${SERVICES[@]}"; do
    if [ -d "$STATE" ] && pid=$(pid_of "$name"); then
      url=$(url_of "$name")
      if [ "$(http_code "$(probe_url "$name")")" = "$(expected_code "$name")" ]; then
        echo "$name: running (pid $pid) $url"
      else
        echo "$name: running (pid $pid) $url but not answering"
        rc=3
      fi
    else
      echo "$name: stopped"
      rc=3
    fi
  done
  return "$rc"
}

cmd_env() {
  cmd_status >/dev/null || die "not running (see '$0 status $STATE')"
  cat "$STATE/env"
}

cmd_run() {
  start_services "${SERVICES[@]}"
  trap 'cmd_stop; exit 0' TERM INT
  local name
  while :; do
    for name in "${SERVICES[@]}"; do
      if ! pid_of "$name" >/dev/null; then
        note "$name exited; stopping the others"
        tail -n 30 "$STATE/$name.log" >&2 || true
        cmd_stop
        exit 1
      fi
    done
    sleep 2 &
    wait $! || true
  done
}

cmd_reset() {
  cmd_stop
  [ -d "$STATE" ] || return 0
  rm -rf "$STATE/keystone" "$STATE/barbican" "$STATE/barbican-noauth" "$STATE/secrets"
  rm -f "$STATE"/*.log "$STATE"/*.pid "$STATE"/*.pid.launch "$STATE/env" "$STATE/env.tmp" \
        "$STATE/ports" "$STATE/lock"
  rmdir "$STATE" 2>/dev/null || true
}

main() {
  [ $# -ge 1 ] || usage 2
  local cmd=$1
  shift
  [ $# -le 1 ] || usage 2
  case $cmd in
    -h | --help | help) usage 0 ;;
    install) cmd_install; return ;;
  esac
  set_state_dir "${1:-}"
  case $cmd in
    start) start_services "${SERVICES[@]}" ;;
    stop) cmd_stop ;;
    restart) cmd_stop; start_services "${SERVICES[@]}" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    run) cmd_run ;;
    reset) cmd_reset ;;
    start-keystone) start_services --only keystone ;;
    stop-keystone) stop_one keystone ;;
    start-barbican) start_services --only barbican ;;
    stop-barbican) stop_one barbican ;;
    start-barbican-noauth) start_services --only barbican-noauth ;;
    stop-barbican-noauth) stop_one barbican-noauth ;;
    *) echo "openstack-dev: unknown command '$cmd'" >&2; usage 2 ;;
  esac
}

main "$@"
