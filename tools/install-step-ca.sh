#!/usr/bin/env bash
# Build step-ca (smallstep/certificates), pinned, into <repo>/.cache/step-ca/step-ca (gitignored),
# for bench/serve.mjs, which compares `certctl serve` with it. Not product code. Idempotent: does
# nothing when the binary there already embeds the pinned module version.
# Prints the path of the binary on stdout; diagnostics go to stderr.
#
# A scratch module (`go get github.com/smallstep/certificates@VERSION`) then `go build` of
# cmd/step-ca with CGO_ENABLED=0: about 2.5 min and ~850 MB on 2 cores. Without the -X ldflag the
# binary calls itself 0000000-dev.
set -euo pipefail

STEP_CA_VERSION="v0.30.2"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$repo/.cache/step-ca"
bin="$dir/step-ca"

installed_version() {
  # `go build` embeds the module versions in the binary; `go version -m` reads them back.
  go version -m "$bin" 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/smallstep/certificates" { print $3 } $1 == "dep" && $2 == "github.com/smallstep/certificates" { print $3 }'
}

command -v go >/dev/null 2>&1 || { echo "install-step-ca: go not found on PATH" >&2; exit 1; }

if [[ -x "$bin" && "$(installed_version || true)" == "$STEP_CA_VERSION" ]]; then
  echo "$bin"
  exit 0
fi

build="$dir/build"
rm -rf "$build"
mkdir -p "$build"
echo "install-step-ca: building step-ca $STEP_CA_VERSION (about 2.5 min on 2 cores)" >&2
(
  cd "$build"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  go mod init certctl.local/step-ca-build >/dev/null 2>&1
  go get "github.com/smallstep/certificates@$STEP_CA_VERSION" >&2
  go build -trimpath -ldflags "-X main.Version=${STEP_CA_VERSION#v}" -o "$bin.tmp.$$" github.com/smallstep/certificates/cmd/step-ca >&2
)
mv -f "$bin.tmp.$$" "$bin"
rm -rf "$build"

got="$(installed_version || true)"
if [[ "$got" != "$STEP_CA_VERSION" ]]; then
  echo "install-step-ca: $bin embeds certificates '${got:-unknown}', expected $STEP_CA_VERSION" >&2
  exit 1
fi
echo "$bin"
