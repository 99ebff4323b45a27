#!/usr/bin/env bash
# Install zlint, pinned, into <repo>/.cache/bin (gitignored). Idempotent:
# does nothing when .cache/bin/zlint is already the pinned version.
# Prints the path of the zlint binary on stdout; diagnostics go to stderr.
set -euo pipefail

# Latest v3.x tag on the Go module proxy (`go list -m -versions github.com/zmap/zlint/v3`).
ZLINT_VERSION="v3.7.3"
# zlint v3.7.2/v3.7.3 require github.com/weppos/publicsuffix-go at a pseudo-version
# (v0.50.4-0.20260821095816-b0fdb5c2d345) that proxy.golang.org refuses with
# "403 This module version is not available". If the plain `go install` fails we
# build the same zlint version with that one indirect dependency replaced by the
# nearest tagged release. It only supplies the public-suffix list data.
PUBLICSUFFIX_FALLBACK="v0.50.3"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bindir="$repo/.cache/bin"
zlint="$bindir/zlint"

installed_version() {
  # `go version -m` reads the module versions that `go install` embeds in the binary.
  go version -m "$zlint" 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/zmap/zlint/v3" { print $3 }'
}

command -v go >/dev/null 2>&1 || { echo "install-zlint: go not found on PATH" >&2; exit 1; }

if [[ -x "$zlint" && "$(installed_version || true)" == "$ZLINT_VERSION" ]]; then
  echo "$zlint"
  exit 0
fi

mkdir -p "$bindir"
export GOBIN="$bindir" CGO_ENABLED=0

if ! out="$(go install "github.com/zmap/zlint/v3/cmd/zlint@$ZLINT_VERSION" 2>&1)"; then
  echo "install-zlint: plain 'go install ...@$ZLINT_VERSION' failed; retrying with publicsuffix-go $PUBLICSUFFIX_FALLBACK" >&2
  build="$repo/.cache/zlint-build"
  rm -rf "$build"
  mkdir -p "$build"
  cat >"$build/go.mod" <<MOD
module certctl.local/zlint-build

go 1.25.0

require github.com/zmap/zlint/v3 $ZLINT_VERSION

replace github.com/weppos/publicsuffix-go => github.com/weppos/publicsuffix-go $PUBLICSUFFIX_FALLBACK
MOD
  if ! out2="$(cd "$build" && GOFLAGS=-mod=mod go install github.com/zmap/zlint/v3/cmd/zlint 2>&1)"; then
    echo "install-zlint: go install github.com/zmap/zlint/v3/cmd/zlint@$ZLINT_VERSION failed:" >&2
    echo "$out" >&2
    echo "install-zlint: fallback build failed too:" >&2
    echo "$out2" >&2
    exit 1
  fi
fi

got="$(installed_version || true)"
if [[ "$got" != "$ZLINT_VERSION" ]]; then
  echo "install-zlint: $zlint reports version '${got:-unknown}', expected $ZLINT_VERSION" >&2
  exit 1
fi
echo "$zlint"
