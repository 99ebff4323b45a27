/**
 * The validation authority's contract (src/acme/va/): one challenge in, one verdict out. It knows
 * no HTTP route and no storage; the ACME front end computes the key authorization, calls
 * validateChallenge (index.ts) and records the result.
 */

/** The identifier an authorization is for: a DNS name (lower case, `*.` only for dns-01) or an IP address (RFC 8738). */
export interface AcmeIdentifier {
  type: 'dns' | 'ip';
  value: string;
}

/** One challenge to validate (RFC 8555 §8, RFC 8737, RFC 8738). */
export interface ChallengeToValidate {
  type: 'http-01' | 'tls-alpn-01' | 'dns-01';
  identifier: AcmeIdentifier;
  /** base64url, 43 characters (256 random bits). */
  token: string;
  /** token + '.' + base64url(JWK thumbprint), computed by the caller (RFC 8555 §8.1). */
  keyAuthorization: string;
}

/**
 * Where validation connects, from certctl.yaml `acme: {http01_port, tlsalpn01_port, dns_resolver}`.
 * Production values are 80, 443 and the system resolver; test set-ups move them.
 */
export interface ValidationSettings {
  /** http-01's port, and the stand-in for port 80 in redirects. */
  http01Port: number;
  /** tls-alpn-01's port, and the stand-in for port 443 in redirects to https. */
  tlsAlpn01Port: number;
  /** `host:port` (`[v6]:port`) of the DNS server for A, AAAA and TXT; unset: the system's resolver. */
  dnsResolver?: string;
  /** Bounds one whole validation: lookups, connections, redirects. */
  timeoutMs: number;
}

/** An RFC 8555 §6.7 problem: `type` is `urn:ietf:params:acme:error:<name>`. */
export interface AcmeProblem {
  type: string;
  detail: string;
}

/** The verdict: valid (with the address that answered, when one was connected to) or the problem to record on the challenge. */
export type ValidationResult = { ok: true; validatedAt: Date; addressUsed?: string } | { ok: false; problem: AcmeProblem };
