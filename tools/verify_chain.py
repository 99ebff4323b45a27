#!/usr/bin/env python3
"""Verify a certificate chain with pyca/cryptography's X.509 path validation.

An independent second parser/verifier for certctl's tests (it shares no code
with certctl or OpenSSL's command line tools).

    verify_chain.py --ca ca.pem [--intermediate i.pem ...] --leaf leaf.pem \
                    (--server-name NAME | --client [--allow-missing-san])
                    [--time 2030-01-01T00:00:00Z]

Prints one JSON object on stdout and exits 0 when the chain verifies:
    {"ok": true, "chain_length": N}      (N counts leaf, intermediates and root)
or exits 1 otherwise:
    {"ok": false, "error": "..."}
Command line usage errors exit 2 (argparse).

Every PEM file may hold several certificates: all of --ca are trust anchors,
all of --intermediate are untrusted intermediates, the first certificate of
--leaf is the leaf and any further ones in that file (a "fullchain" file) are
added to the intermediates. NAME is checked as an IP address SAN when it parses
as an IPv4/IPv6 address and as a DNS name SAN otherwise.

cryptography verifies with its Web PKI profile (RFC 5280 plus CA/Browser Forum
rules), which requires a subjectAltName in every leaf, client ones included.
certctl's client and node profiles may have none (RFC 5280 needs a SAN only when
the subject is empty), so --allow-missing-san relaxes just that one rule for
--client (it needs cryptography >= 45 for ExtensionPolicy).

Requires cryptography >= 43 (x509.verification with build_client_verifier).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import sys


def _fail(message: str) -> int:
    print(json.dumps({"ok": False, "error": message}))
    return 1


def _load_certs(path: str, x509) -> list:
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" in data:
        certs = x509.load_pem_x509_certificates(data)
    else:
        certs = [x509.load_der_x509_certificate(data)]
    if not certs:
        raise ValueError(f"{path}: no certificate found")
    return certs


def _parse_time(value: str) -> datetime.datetime:
    t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ca", action="append", required=True, metavar="PEM",
                   help="trust anchor(s); repeatable")
    p.add_argument("--intermediate", action="append", default=[], metavar="PEM",
                   help="untrusted intermediate(s); repeatable")
    p.add_argument("--leaf", required=True, metavar="PEM")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--server-name", metavar="NAME",
                      help="verify as a TLS server certificate for NAME (DNS name or IP)")
    mode.add_argument("--client", action="store_true",
                      help="verify as a TLS client certificate")
    p.add_argument("--allow-missing-san", action="store_true",
                   help="with --client: accept a leaf without subjectAltName")
    p.add_argument("--time", metavar="ISO8601",
                   help="validation time (default: now), e.g. 2030-01-01T00:00:00Z")
    args = p.parse_args(argv)
    if args.allow_missing_san and not args.client:
        p.error("--allow-missing-san only applies with --client")

    try:
        from cryptography import x509
        from cryptography.x509 import verification as v
    except ImportError as e:  # pragma: no cover - environment problem
        return _fail(f"cannot import cryptography's x509.verification: {e}")

    try:
        roots = [c for path in args.ca for c in _load_certs(path, x509)]
        intermediates = [c for path in args.intermediate for c in _load_certs(path, x509)]
        leaf, *rest = _load_certs(args.leaf, x509)
        intermediates += rest
    except (OSError, ValueError) as e:
        return _fail(f"loading certificates: {e}")

    try:
        builder = v.PolicyBuilder().store(v.Store(roots))
        if args.time:
            builder = builder.time(_parse_time(args.time))
        if args.allow_missing_san:
            if not hasattr(v, "ExtensionPolicy"):
                return _fail("--allow-missing-san needs cryptography >= 45 (ExtensionPolicy)")
            ee_policy = v.ExtensionPolicy.webpki_defaults_ee().may_be_present(
                x509.SubjectAlternativeName, v.Criticality.AGNOSTIC, None)
            builder = builder.extension_policies(
                ca_policy=v.ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
        if args.client:
            verified = builder.build_client_verifier().verify(leaf, intermediates)
            chain = verified.chain
        else:
            try:
                subject = v.IPAddress(ipaddress.ip_address(args.server_name))
            except ValueError:
                subject = v.DNSName(args.server_name)
            chain = builder.build_server_verifier(subject).verify(leaf, intermediates)
    except v.VerificationError as e:
        return _fail(str(e))
    except ValueError as e:  # bad --time, malformed DNS name, ...
        return _fail(f"{type(e).__name__}: {e}")

    print(json.dumps({"ok": True, "chain_length": len(chain)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
