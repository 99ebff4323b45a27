#!/bin/sh
# docker-compose.yml's certctl service: creates the CA on first start (in the configured backend,
# Vault by default there), then runs `certctl serve` in the foreground as PID 1's child so
# SIGTERM drains it and `docker compose kill -s HUP certctl` reloads it.
set -eu
if ! certctl ca show >/dev/null 2>&1; then
  certctl init --cn "${CERTCTL_CA_CN:-certctl compose CA}"
fi
exec certctl serve --listen "${CERTCTL_LISTEN:-0.0.0.0:8443}"
