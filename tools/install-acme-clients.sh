#!/usr/bin/env bash
# Install the real ACME clients and reference servers certctl's ACME tests and benchmark use,
# pinned, into <repo>/.cache/acme-clients (gitignored). None of it is product code.
#   venv/            certbot and the `acme` Python library (PyPI), in a venv made from Debian's
#                    /usr/bin/python3: a venv from another Python on PATH (pyenv) that mixes with
#                    the system's libraries loses its ssl module
#   bin/lego         lego, built by the module in tools/lego-build (see its README.md: the proxy
#                    refuses one CLI logging dependency, replaced there by a local stand-in)
#   bin/pebble, bin/pebble-challtestsrv
#                    Let's Encrypt's test ACME server (the benchmark's reference and the harness's
#                    self-check) and its challenge test server (the DNS server of dns-01 tests)
# Idempotent and fast when everything is already the pinned version (a few `go version -m` and
# one Python start-up). Prints `export NAME=path` lines on stdout (ACME_CERTBOT, ACME_LEGO,
# ACME_PEBBLE, ACME_CHALLTESTSRV, ACME_PYTHON); diagnostics go to stderr.
# Called by tools/install-test-deps.sh; needs Go, Debian's python3 (+ python3-venv, installed
# here when missing: as root or with sudo), and the Go module proxy and PyPI.
set -euo pipefail

CERTBOT_VERSION="5.8.0" # certbot and acme are released together with the same version
LEGO_VERSION="v5.6.0"
LEGO_TAGS="lego_dnslight,lego_dns_exec" # no DNS provider SDKs; `exec` is what dns-01 tests use
PEBBLE_VERSION="v2.10.3"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/.cache/acme-clients"
bindir="$dir/bin"
venv="$dir/venv"
legosrc="$repo/tools/lego-build"
SYSTEM_PYTHON=/usr/bin/python3

log() { echo "install-acme-clients: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "need root (or sudo) for: $*" >&2; return 1
  fi
}

# The version of module $2 that `go build` embedded in binary $1 (as main module or dependency).
embedded_version() {
  go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

command -v go >/dev/null 2>&1 || die "go not found on PATH"
mkdir -p "$bindir"

# --- certbot + acme (PyPI) in a venv of Debian's python3 -------------------------------------
venv_versions() {
  "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, ssl  # ssl: a venv that lost it cannot talk HTTPS at all
print(m.version("certbot"), m.version("acme"))
PY
}
if [[ "$(venv_versions || true)" != "$CERTBOT_VERSION $CERTBOT_VERSION" ]]; then
  [[ -x "$SYSTEM_PYTHON" ]] || die "$SYSTEM_PYTHON not found (Debian's python3)"
  if ! "$SYSTEM_PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "installing python3-venv (Debian)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  log "creating $venv with certbot $CERTBOT_VERSION and acme $CERTBOT_VERSION"
  rm -rf "$venv"
  # env -i PATH: no PYTHONHOME/PYTHONPATH or pyenv shims leaking into the venv.
  env -i PATH=/usr/bin:/bin HOME="${HOME:-/root}" "$SYSTEM_PYTHON" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "certbot==$CERTBOT_VERSION" "acme==$CERTBOT_VERSION" >&2
  got="$(venv_versions || true)"
  [[ "$got" == "$CERTBOT_VERSION $CERTBOT_VERSION" ]] || die "venv has certbot/acme '${got:-none}', expected $CERTBOT_VERSION"
fi

# --- lego (tools/lego-build) -----------------------------------------------------------------
lego="$bindir/lego"
# The build inputs and tags, so a change to the stand-in or the pins rebuilds.
lego_stamp="$LEGO_VERSION $LEGO_TAGS $(cat "$legosrc/go.mod" "$legosrc/go.sum" "$legosrc"/slogor/* | cksum)"
if [[ ! -x "$lego" || "$(cat "$lego.stamp" 2>/dev/null || true)" != "$lego_stamp" ]]; then
  log "building lego $LEGO_VERSION (about 1 min on 2 cores)"
  build="$dir/lego-build"
  rm -rf "$build"
  mkdir -p "$build"
  # Built in a copy: -mod=mod may add go.sum lines the committed one lacks (the tree stays clean).
  cp -R "$legosrc/." "$build/"
  (cd "$build" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags "$LEGO_TAGS" \
    -ldflags "-X main.version=$LEGO_VERSION" -o "$lego.tmp.$$" github.com/go-acme/lego/v5) >&2 ||
    die "lego build failed (tools/lego-build)"
  mv -f "$lego.tmp.$$" "$lego"
  rm -rf "$build"
  got="$(embedded_version "$lego" github.com/go-acme/lego/v5)"
  [[ "$got" == "$LEGO_VERSION" ]] || die "$lego embeds lego '${got:-unknown}', expected $LEGO_VERSION"
  echo "$lego_stamp" >"$lego.stamp"
fi

# --- pebble + pebble-challtestsrv (Go module proxy) ------------------------------------------
for cmd in pebble pebble-challtestsrv; do
  if [[ "$(embedded_version "$bindir/$cmd" github.com/letsencrypt/pebble/v2 || true)" != "$PEBBLE_VERSION" ]]; then
    log "installing $cmd $PEBBLE_VERSION"
    GOBIN="$bindir" CGO_ENABLED=0 go install -trimpath -ldflags "-X main.version=$PEBBLE_VERSION" \
      "github.com/letsencrypt/pebble/v2/cmd/$cmd@$PEBBLE_VERSION" >&2 || die "go install $cmd@$PEBBLE_VERSION failed"
    got="$(embedded_version "$bindir/$cmd" github.com/letsencrypt/pebble/v2 || true)"
    [[ "$got" == "$PEBBLE_VERSION" ]] || die "$cmd embeds pebble '${got:-unknown}', expected $PEBBLE_VERSION"
  fi
done

echo "export ACME_CERTBOT=$venv/bin/certbot"
echo "export ACME_PYTHON=$venv/bin/python"
echo "export ACME_LEGO=$lego"
echo "export ACME_PEBBLE=$bindir/pebble"
echo "export ACME_CHALLTESTSRV=$bindir/pebble-challtestsrv"
