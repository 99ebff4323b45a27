#!/usr/bin/env python3
"""ACME protocol edge cases (RFC 8555) against a directory URL, for certctl's tests.

Test tooling, not product code. Run with the venv's python (tools/install-acme-clients.sh):

    REQUESTS_CA_BUNDLE=ca.pem acme_edge.py --directory URL --http01-port PORT [--domain acme.test]
                                           [--cases a,b,...]

The `acme` library (certbot's) makes the account, the orders and the good finalization; the
requests a well-behaved client never sends (a replayed nonce, a broken signature, an unknown
account, a CSR that does not match the order, a finalize too early) are JWS built here, signed
with the same keys, so the server sees exactly one fault in each. The script only observes: one
JSON object per case on stdout, {"case", "status", "type", ...} where `type` is the problem
document's type without the "urn:ietf:params:acme:error:" prefix; the jest test decides what is
right (test/support/acme-clients.ts, ACME_EDGE_EXPECTED). A case that crashes prints
{"case", "error"}. Exit status 0 when every case ran, 1 otherwise.

http-01 is answered by a server this script starts on 127.0.0.1:PORT: the ACME server's
validation must connect there for the names under --domain (certctl: `acme.http01_port`
and a resolver answering 127.0.0.1; Pebble: httpPort and -dnsserver).
"""
import argparse
import base64
import datetime
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import josepy as jose
import requests
from acme import challenges, client, crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ERROR_PREFIX = "urn:ietf:params:acme:error:"
JOSE = {"Content-Type": "application/jose+json"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """An account key that signs JWS: alg name, public JWK, sign(bytes) -> raw signature."""

    def __init__(self, alg: str):
        self.alg = alg
        if alg == "EdDSA":
            # josepy has no Ed25519 JWK: this one is signed with cryptography directly (RFC 8037).
            self._ed = ed25519.Ed25519PrivateKey.generate()
            raw = self._ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
            self.jose_key = None
            return
        if alg == "RS256":
            self.jose_key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        else:
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1()}[alg]
            self.jose_key = jose.JWKEC(key=ec.generate_private_key(curve))
        self.jwk = self.jose_key.public_key().to_partial_json()

    def jose_alg(self):
        return {"ES256": jose.ES256, "ES384": jose.ES384, "RS256": jose.RS256}[self.alg]

    def sign(self, message: bytes) -> bytes:
        if self.alg == "EdDSA":
            return self._ed.sign(message)
        # josepy returns the JWS form (r || s for ECDSA), not DER.
        return self.jose_alg().sign(self.jose_key.key, message)


class Http01Responder:
    """Answers /.well-known/acme-challenge/<token> with its key authorization on 127.0.0.1:port."""

    def __init__(self, port: int):
        self.answers: dict = {}
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                token = self.path.rsplit("/", 1)[-1]
                body = answers.get(token) if self.path.startswith("/.well-known/acme-challenge/") else None
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write((body or "").encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Harness:
    def __init__(self, directory_url: str, domain: str, http01_port: int):
        self.domain = domain
        self.http01_port = http01_port
        # REQUESTS_CA_BUNDLE is honoured by requests for this session and the library's.
        self.http = requests.Session()
        self.signer = Signer("ES256")
        self.net = client.ClientNetwork(self.signer.jose_key, alg=jose.ES256, user_agent="certctl-acme-edge")
        self.directory = client.ClientV2.get_directory(directory_url, self.net)
        self.acme = client.ClientV2(self.directory, self.net)
        self.account = self.acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

    def url(self, name: str) -> str:
        return self.directory[name]

    def nonce(self) -> str:
        response = self.http.head(self.url("newNonce"))
        return response.headers["Replay-Nonce"]

    def jws(self, url, payload, signer=None, kid=None, nonce=None, use_jwk=False, corrupt=False) -> dict:
        """A flattened JWS; payload None = POST-as-GET. kid defaults to the account's URL."""
        signer = signer or self.signer
        protected = {"alg": signer.alg, "nonce": nonce or self.nonce(), "url": url}
        if use_jwk:
            protected["jwk"] = signer.jwk
        else:
            protected["kid"] = kid or self.account.uri
        p64 = b64(json.dumps(protected).encode())
        payload64 = "" if payload is None else b64(json.dumps(payload).encode())
        signature = bytearray(signer.sign(f"{p64}.{payload64}".encode()))
        if corrupt:
            signature[len(signature) // 2] ^= 0x01
        return {"protected": p64, "payload": payload64, "signature": b64(bytes(signature))}

    def post(self, url, body: dict) -> requests.Response:
        return self.http.post(url, data=json.dumps(body), headers=JOSE)

    def fresh_name(self, label: str) -> str:
        return f"{label}-{secrets.token_hex(4)}.{self.domain}"

    def order(self, names):
        return self.acme.new_order(crypto_util.make_csr(self._key_pem(), names))

    @staticmethod
    def _key_pem() -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def csr_der(self, names) -> str:
        pem = crypto_util.make_csr(self._key_pem(), names)
        return b64(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))

    def solve_http01(self, orderr, deadline_s=30.0):
        """Answers every authorization's http-01 challenge and waits until the order is ready."""
        responder = Http01Responder(self.http01_port)
        try:
            for authzr in orderr.authorizations:
                challb = next(c for c in authzr.body.challenges if isinstance(c.chall, challenges.HTTP01))
                response, validation = challb.response_and_validation(self.net.key)
                responder.answers[challb.chall.encode("token")] = validation
                self.acme.answer_challenge(challb, response)
            deadline = time.monotonic() + deadline_s
            for authzr in orderr.authorizations:
                while True:
                    authzr, _ = self.acme.poll(authzr)
                    if authzr.body.status == messages.STATUS_VALID:
                        break
                    if authzr.body.status == messages.STATUS_INVALID or time.monotonic() > deadline:
                        raise RuntimeError(f"authorization {authzr.uri} is {authzr.body.status}")
                    time.sleep(0.2)
            while True:
                body = self.http_order(orderr.uri)
                if body.get("status") == "ready":
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"order {orderr.uri} is {body.get('status')}, not ready")
                time.sleep(0.2)
        finally:
            responder.close()

    def http_order(self, url) -> dict:
        return self.post(url, self.jws(url, None)).json()


def observe(response: requests.Response, **extra) -> dict:
    """Status and problem type of an answer (the type without the ACME prefix)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    problem = body.get("type", "") if isinstance(body, dict) else ""
    out = {"status": response.status_code, "type": problem[len(ERROR_PREFIX):] if problem.startswith(ERROR_PREFIX) else problem}
    if out["type"] and isinstance(body, dict) and body.get("detail"):
        out["detail"] = body["detail"]
    out.update(extra)
    return out


# --- the cases ------------------------------------------------------------------------------------


def case_replayed_nonce(h: Harness) -> dict:
    nonce = h.nonce()
    first = h.post(h.account.uri, h.jws(h.account.uri, None, nonce=nonce))
    again = h.post(h.account.uri, h.jws(h.account.uri, None, nonce=nonce))
    fresh = again.headers.get("Replay-Nonce")
    return observe(again, firstStatus=first.status_code, replayNonce=bool(fresh), replayNonceIsNew=bool(fresh) and fresh != nonce)


def case_corrupted_signature(h: Harness) -> dict:
    return observe(h.post(h.account.uri, h.jws(h.account.uri, None, corrupt=True)))


def case_foreign_key(h: Harness) -> dict:
    # The account's kid, signed by a key that is not the account's.
    return observe(h.post(h.account.uri, h.jws(h.account.uri, None, signer=Signer("ES256"))))


def case_unknown_account(h: Harness) -> dict:
    kid = h.account.uri.rstrip("/").rsplit("/", 1)[0] + "/" + secrets.token_hex(8)
    url = h.url("newOrder")
    payload = {"identifiers": [{"type": "dns", "value": h.fresh_name("unknown")}]}
    return observe(h.post(url, h.jws(url, payload, kid=kid)))


def case_only_return_existing(h: Harness) -> dict:
    url = h.url("newAccount")
    return observe(h.post(url, h.jws(url, {"onlyReturnExisting": True}, signer=Signer("ES256"), use_jwk=True)))


def case_finalize_not_ready(h: Harness) -> dict:
    name = h.fresh_name("early")
    orderr = h.order([name])
    url = orderr.body.finalize
    return observe(h.post(url, h.jws(url, {"csr": h.csr_der([name])})))


def case_csr_outside_order(h: Harness) -> dict:
    name = h.fresh_name("order")
    orderr = h.order([name])
    h.solve_http01(orderr)
    url = orderr.body.finalize
    bad = h.post(url, h.jws(url, {"csr": h.csr_der([name, h.fresh_name("outside")])}))
    out = observe(bad)
    # The same order then finalizes with the right CSR: the refusal was about the CSR only.
    final = h.acme.finalize_order(orderr, datetime.datetime.now() + datetime.timedelta(seconds=30))
    out["thenIssued"] = bool(final.fullchain_pem and "BEGIN CERTIFICATE" in final.fullchain_pem)
    return out


def case_jws_algorithms(h: Harness) -> dict:
    """newAccount with a key of each algorithm the issue names; status and type per algorithm."""
    url = h.url("newAccount")
    results = {}
    for alg in ("ES256", "ES384", "RS256", "EdDSA"):
        body = h.jws(url, {"termsOfServiceAgreed": True}, signer=Signer(alg), use_jwk=True)
        results[alg] = observe(h.post(url, body))
    return {"results": results}


CASES = {
    "replayed-nonce": case_replayed_nonce,
    "corrupted-signature": case_corrupted_signature,
    "foreign-key": case_foreign_key,
    "unknown-account": case_unknown_account,
    "only-return-existing": case_only_return_existing,
    "finalize-not-ready": case_finalize_not_ready,
    "csr-outside-order": case_csr_outside_order,
    "jws-algorithms": case_jws_algorithms,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directory", required=True)
    parser.add_argument("--http01-port", type=int, required=True)
    parser.add_argument("--domain", default="acme.test", help="names are made under this domain")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated; default: all")
    args = parser.parse_args()
    wanted = [c for c in args.cases.split(",") if c]
    unknown = [c for c in wanted if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {list(CASES)}")
    harness = Harness(args.directory, args.domain, args.http01_port)
    failed = False
    for name in wanted:
        try:
            result = {"case": name, **CASES[name](harness)}
        except Exception as error:  # report and go on: one broken case must not hide the others
            failed = True
            result = {"case": name, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
