#!/usr/bin/env bash
# Install pebble-challtestsrv, pinned, into <repo>/.cache/bin (gitignored): the real DNS server
# (and http-01 / tls-alpn-01 responder) of the ACME validation tests, whose management API sets
# the TXT and A/AAAA answers a test needs. Idempotent: does nothing when the pinned version is
# there. Prints the binary's path on stdout; diagnostics go to stderr.
set -euo pipefail

CHALLTESTSRV_VERSION="v2.10.3"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bindir="$repo/.cache/bin"
bin="$bindir/pebble-challtestsrv"

installed_version() {
  go version -m "$bin" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/letsencrypt/pebble/v2" { print $3 }'
}

command -v go >/dev/null 2>&1 || { echo "install-challtestsrv: go not found on PATH" >&2; exit 1; }

if [[ -x "$bin" && "$(installed_version || true)" == "$CHALLTESTSRV_VERSION" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bindir"
if ! out="$(GOBIN="$bindir" CGO_ENABLED=0 go install "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$CHALLTESTSRV_VERSION" 2>&1)"; then
  echo "install-challtestsrv: go install github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$CHALLTESTSRV_VERSION failed:" >&2
  echo "$out" >&2
  exit 1
fi
got="$(installed_version || true)"
if [[ "$got" != "$CHALLTESTSRV_VERSION" ]]; then
  echo "install-challtestsrv: $bin reports version '${got:-unknown}', expected $CHALLTESTSRV_VERSION" >&2
  exit 1
fi
echo "$bin"
