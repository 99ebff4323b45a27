#!/usr/bin/env bash
# lego's `exec` DNS provider for the ACME tests (EXEC_PATH): sets and clears the dns-01 TXT record
# in pebble-challtestsrv through its management API. Test tooling, not product code.
#   acme-dns-exec.sh present|cleanup FQDN VALUE      (lego's default, non-RAW mode)
# CHALLTESTSRV_MANAGEMENT: the management API's base URL (http://127.0.0.1:PORT).
set -euo pipefail
mgmt="${CHALLTESTSRV_MANAGEMENT:?CHALLTESTSRV_MANAGEMENT is not set}"
action="$1" fqdn="$2" value="${3:-}"
# FQDN and VALUE are lego's: a DNS name and a base64url digest, no characters that need JSON escaping.
case "$action" in
  present) curl -fsS -X POST --data "{\"host\":\"$fqdn\",\"value\":\"$value\"}" "$mgmt/set-txt" ;;
  cleanup) curl -fsS -X POST --data "{\"host\":\"$fqdn\"}" "$mgmt/clear-txt" ;;
  *) echo "acme-dns-exec.sh: unknown action '$action'" >&2; exit 2 ;;
esac
