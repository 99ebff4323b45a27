#!/usr/bin/env bash
# Install what certctl's tests and CI need besides `npm ci`:
#   - Debian packages: openssl (reference CLI), curl, ca-certificates,
#     golang-cfssl (cfssl + cfssljson; bookworm ships 1.2.0), hyperfine and easy-rsa (benchmarks),
#     softhsm2 (the PKCS#11 token of the pkcs11 signer's tests), opensc (pkcs11-tool, their check),
#     nginx (a real TLS server for certctl serve's clients: the agent's renewals; a real client of its
#     OCSP responder and CRL: ssl_ocsp, ssl_crl),
#     python3-magnumclient and python3-openstackclient (`openstack coe ca show|sign` against certctl
#     serve's Magnum API; python3-keystone depends on the latter anyway), and
#     kubernetes-client (kubectl: reads the kubeconfig layout) unless a kubectl is already on PATH
#   - pyca/cryptography, pinned, into the python3 first on PATH
#     (tools/verify_chain.py)
#   - zlint, pinned, into .cache/bin (tools/install-zlint.sh)
#   - the Go chain verifier into .cache/bin (tools/install-go-verifier.sh)
#   - Keystone + Barbican from Debian packages (tools/openstack-dev.sh install)
#   - the Vault-API server, built from Go modules (tools/vault-dev.sh build)
#   - the ACME clients and reference servers: certbot + acme (PyPI, venv), lego, pebble,
#     pebble-challtestsrv into .cache/acme-clients (tools/install-acme-clients.sh)
# Idempotent and quiet on success; on failure prints the failing step and its
# output and exits non-zero. Meant for a fresh Debian bookworm CI machine that
# already has Go, Python 3 and Node, running as root (sudo is used otherwise).
set -euo pipefail

CRYPTOGRAPHY_VERSION="50.0.2"
APT_PACKAGES=(openssl curl ca-certificates golang-cfssl hyperfine easy-rsa softhsm2 opensc nginx python3-magnumclient python3-openstackclient)
# Debian's kubectl (bookworm: 1.20) is enough for `kubectl config view`; a kubectl from another
# source (Google Cloud SDK, upstream packages) would clash with its /usr/bin/kubectl, so keep that one.
if ! command -v kubectl >/dev/null 2>&1; then APT_PACKAGES+=(kubernetes-client); fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# step NAME CMD...: run CMD with its output captured; on failure show it.
step() {
  local name="$1"; shift
  if ! "$@" >"$log" 2>&1; then
    echo "install-test-deps: step '$name' failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "need root (or sudo) for: $*" >&2; return 1
  fi
}

# --- Debian packages -----------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  step "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  step "apt-get install ${missing[*]}" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python cryptography ---------------------------------------------------------
step "find python3" command -v python3
have="$(python3 -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null || true)"
if [[ "$have" != "$CRYPTOGRAPHY_VERSION" ]]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    step "python3 -m ensurepip" python3 -m ensurepip --upgrade
  fi
  pip_args=(--quiet --disable-pip-version-check)
  # Debian's own /usr/bin/python3 is "externally managed" (PEP 668); on a
  # throwaway CI machine installing over it is what we want (bookworm's
  # python3-cryptography is 38.x, too old for x509.verification).
  if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    pip_args+=(--break-system-packages)
  fi
  step "pip install cryptography==$CRYPTOGRAPHY_VERSION" \
    env PIP_ROOT_USER_ACTION=ignore python3 -m pip install "${pip_args[@]}" "cryptography==$CRYPTOGRAPHY_VERSION"
  step "check cryptography version" python3 -c "
import cryptography, sys
from cryptography.x509 import verification  # noqa: F401  (path validation API)
sys.exit(cryptography.__version__ != '$CRYPTOGRAPHY_VERSION')"
fi

# --- zlint -------------------------------------------------------------------------
step "tools/install-zlint.sh" "$here/install-zlint.sh"

# --- Go chain verifier (standard library only; tools/verify-chain-go) ----------------
step "tools/install-go-verifier.sh" "$here/install-go-verifier.sh"

# --- Keystone + Barbican (Debian packages; started by the tests' global setup) ------
step "tools/openstack-dev.sh install" bash "$here/openstack-dev.sh" install

# --- Vault-API server (built from Go modules into .cache/vault-server) ---------------
step "tools/vault-dev.sh build" bash "$here/vault-dev.sh" build

# --- ACME clients + Pebble (certbot/acme venv, lego, pebble, challtestsrv in .cache/acme-clients)
step "tools/install-acme-clients.sh" bash "$here/install-acme-clients.sh"
