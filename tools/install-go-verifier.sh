#!/usr/bin/env bash
# Build tools/verify-chain-go (Go standard library only, no module downloads)
# into <repo>/.cache/bin/verify-chain-go when missing or older than its source.
# Prints the binary's path on stdout; diagnostics go to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo/tools/verify-chain-go"
bin="$repo/.cache/bin/verify-chain-go"

command -v go >/dev/null 2>&1 || { echo "install-go-verifier: go not found on PATH" >&2; exit 1; }
if [[ ! -x "$bin" || "$src/main.go" -nt "$bin" || "$src/go.mod" -nt "$bin" ]]; then
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off go build -trimpath -o "$bin.tmp.$$" .) >&2
  mv -f "$bin.tmp.$$" "$bin"
fi
echo "$bin"
