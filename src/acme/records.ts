import type { JWK } from 'jose';

/** An identifier of an order (RFC 8555 §9.7.7; RFC 8738 for IP addresses). */
export interface Identifier {
  type: 'dns' | 'ip';
  value: string;
}

/** An ACME account as kept in the state store. */
export interface AccountRecord {
  id: string;
  ca: string;
  status: 'valid' | 'deactivated' | 'revoked';
  contact: string[];
  jwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of `jwk`: the key-authorization suffix and the key's index. */
  thumbprint: string;
  termsOfServiceAgreed: boolean;
  /** The External Account Binding key id it was created with. */
  eabKid?: string;
  createdAt: string;
}

export type ChallengeType = 'http-01' | 'tls-alpn-01' | 'dns-01';

export interface ChallengeRecord {
  type: ChallengeType;
  token: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  validated?: string;
  error?: { type: string; detail: string; status: number };
}

export interface AuthzRecord {
  id: string;
  ca: string;
  accountId: string;
  /** The order it was made for (no authorization is reused across orders). */
  orderId: string;
  /** The identifier without the `*.` of a wildcard order. */
  identifier: Identifier;
  wildcard: boolean;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
  expires: string;
  challenges: ChallengeRecord[];
}

export interface OrderRecord {
  id: string;
  ca: string;
  accountId: string;
  status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
  identifiers: Identifier[];
  authzIds: string[];
  expires: string;
  notBefore?: string;
  notAfter?: string;
  /** The ACME profile (acme.profiles) the order chose, or the default. */
  profile: string;
  /** RFC 9773: the certID of the certificate this order replaces. */
  replaces?: string;
  /** The serial of the certificate, once issued. */
  serial?: string;
  error?: { type: string; detail: string; status: number };
  createdAt: string;
}

/** Who ordered a certificate: for revokeCert by account, and RFC 9773's `replaces`. */
export interface IssuedByAcme {
  accountId: string;
  orderId: string;
  /** The order that replaced it (RFC 9773: a certificate is replaced once). */
  replacedBy?: string;
}

/** An External Account Binding key (`certctl acme eab create`). */
export interface EabKeyRecord {
  ca: string;
  /** base64url of the HMAC key. */
  hmacKey: string;
  createdAt: string;
  /** The account bound with it (a key binds one account). */
  accountId?: string;
}

/** An operator's override of a certificate's renewal window (RFC 9773), e.g. to make clients renew now. */
export interface RenewalOverride {
  start: string;
  end: string;
  explanationURL?: string;
}
