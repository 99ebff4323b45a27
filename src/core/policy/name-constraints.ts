/**
 * Name constraints as certctl's policy: the flags `init --parent` takes, and the check that refuses,
 * before any backend call, a certificate a relying party would reject under the NameConstraints of
 * any CA in the chain. The constraints are read from the certificates themselves, so a CA that was
 * imported or migrated keeps them.
 *
 * Semantics (RFC 5280 4.2.1.10, as OpenSSL, Go crypto/x509 and pyca/cryptography apply them):
 * a dNSName subtree `internal.example` covers that name and every name under it, never
 * `xinternal.example`; an iPAddress subtree covers the addresses under its mask, same family only;
 * a name type with no permitted subtree is unconstrained. A leading dot (`.internal.example`) is not
 * RFC 5280 for dNSName: OpenSSL and Go read it as "names under it only", pyca/cryptography rejects
 * every chain through such a CA. certctl writes the RFC 5280 form and, for a CA written elsewhere,
 * checks a leading-dot subtree the stricter way (permitted: names under it; excluded: it and them).
 */
import { X509Certificate } from 'node:crypto';
import { ipFamily } from '../ip';
import { InternalError, InvalidInputError, PolicyError } from '../errors';
import type { CaRecord } from '../types';
import { ipAddressOctets } from '../x509/fields';
import { hasNameConstraints, ipSubtreeText, parseIpSubtree, readNameConstraints, type IpSubtree, type NameConstraints } from '../x509/name-constraints';
import { pemBlocks } from '../x509/pem';
import { isValidDnsName } from './profiles';

/** What `init --permit-dns/--exclude-dns/--permit-ip/--exclude-ip` gave, each repeatable. */
export interface NameConstraintFlags {
  permitDns?: string[];
  excludeDns?: string[];
  permitIp?: string[];
  excludeIp?: string[];
}

/** A CA of the chain whose certificate has NameConstraints. */
export interface ConstrainingCa {
  /** For messages: `CA "issuing"` for the signing CA, the subject for CAs above it. */
  label: string;
  constraints: NameConstraints;
}

/** The names a certificate would carry. */
export interface NamesToCheck {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

function dnsSubtree(raw: string, flag: string, notes: string[]): string {
  const trimmed = raw.trim().toLowerCase().replace(/\.$/, '');
  const name = trimmed.replace(/^\./, '');
  if (name.length === 0) {
    throw new InvalidInputError(`${flag} "${raw}": an empty DNS subtree would match every name; give a domain such as internal.example`);
  }
  if (!isValidDnsName(name, false)) {
    throw new InvalidInputError(`${flag} "${raw}" is not a DNS domain (letters, digits and hyphens in dot-separated labels, no wildcard)`);
  }
  if (trimmed.startsWith('.')) {
    notes.push(
      `${flag} ${raw} is written as ${name}: an RFC 5280 dNSName constraint covers the domain and every name under it; a leading dot is not RFC 5280 and pyca/cryptography rejects every chain through a CA that has one`,
    );
  }
  return name;
}

function ipSubtree(raw: string, flag: string): string {
  try {
    return ipSubtreeText(parseIpSubtree(raw.trim()));
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError(`${flag} ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Validates and normalises the flags (lower-case domains without leading or trailing dot, canonical CIDR).
 * @returns the constraints (undefined when no flag was given) and notes for the operator.
 * @throws InvalidInputError naming the flag for an empty or malformed domain or CIDR.
 */
export function parseNameConstraintFlags(flags: NameConstraintFlags): { constraints?: NameConstraints; notes: string[] } {
  const notes: string[] = [];
  const unique = (values: string[]) => [...new Set(values)];
  const constraints: NameConstraints = {
    permittedDns: unique((flags.permitDns ?? []).map((d) => dnsSubtree(d, '--permit-dns', notes))),
    excludedDns: unique((flags.excludeDns ?? []).map((d) => dnsSubtree(d, '--exclude-dns', notes))),
    permittedIps: unique((flags.permitIp ?? []).map((ip) => ipSubtree(ip, '--permit-ip'))),
    excludedIps: unique((flags.excludeIp ?? []).map((ip) => ipSubtree(ip, '--exclude-ip'))),
  };
  return { constraints: hasNameConstraints(constraints) ? constraints : undefined, notes };
}

/**
 * The NameConstraints of the CA and of every certificate above it, nearest first; CAs without any are left out.
 * @throws InvalidInputError when a stored certificate is malformed.
 */
export function chainNameConstraints(ca: CaRecord): ConstrainingCa[] {
  const out: ConstrainingCa[] = [];
  [ca.certPem, ...ca.chainPem].forEach((pem, i) => {
    const der = pemBlocks(pem, 'CERTIFICATE')[0];
    const constraints = der ? readNameConstraints(der) : undefined;
    if (!hasNameConstraints(constraints)) return;
    const label = i === 0 ? `CA "${ca.name}"` : `the CA above it (${new X509Certificate(der).subject.replace(/\n/g, ', ')})`;
    out.push({ label, constraints });
  });
  return out;
}

/** Whether `name` is within the dNSName subtree `base` (see the file comment for the leading dot). */
export function dnsWithin(name: string, base: string, excluded = false): boolean {
  const b = base.toLowerCase();
  if (b.startsWith('.')) return name.endsWith(b) || (excluded && name === b.slice(1));
  return b === '' || name === b || name.endsWith(`.${b}`);
}

/** Whether a wildcard name `*.parent` could stand for a name within `base`: its one label for the base's first. */
function wildcardCovers(name: string, base: string): boolean {
  if (!name.startsWith('*.')) return false;
  const b = base.toLowerCase().replace(/^\./, '');
  const dot = b.indexOf('.');
  return dot > 0 && b.slice(dot + 1) === name.slice(2);
}

function ipWithin(ip: string, subtree: IpSubtree): boolean {
  const octets = ipAddressOctets(ip);
  return octets.length === subtree.address.length && octets.every((o, i) => (o & subtree.mask[i]) === (subtree.address[i] & subtree.mask[i]));
}

function refuse(kind: string, name: string, ca: ConstrainingCa, why: string): PolicyError {
  return new PolicyError(`${kind} "${name}" is outside the name constraints of ${ca.label}: ${why}; relying parties would reject the certificate`);
}

/**
 * Refuses names a relying party would reject under any CA's NameConstraints: every DNS name and IP
 * address, and the subject CN when it is a host name or an IP address (OpenSSL checks a host-name
 * CN when there is no DNS SAN; certctl checks it always).
 * @throws PolicyError naming the name, the CA and the subtree (permitted or excluded).
 */
export function checkNameConstraints(chain: ConstrainingCa[], names: NamesToCheck): void {
  if (chain.length === 0) return;
  const dns = names.dnsNames.map((d) => d.toLowerCase().replace(/\.$/, ''));
  const ips = [...names.ipAddresses];
  const cn = names.commonName.trim();
  if (cn && ipFamily(cn)) ips.push(cn);
  else if (cn.includes('.') && isValidDnsName(cn.toLowerCase().replace(/\.$/, ''), true)) dns.push(cn.toLowerCase().replace(/\.$/, ''));

  for (const ca of chain) {
    const { permittedDns, excludedDns, permittedIps, excludedIps } = ca.constraints;
    for (const name of dns) {
      if (permittedDns.length && !permittedDns.some((base) => dnsWithin(name, base))) {
        throw refuse('DNS name', name, ca, `not under its permitted DNS subtrees (${permittedDns.join(', ')})`);
      }
      const hit = excludedDns.find((base) => dnsWithin(name, base, true) || wildcardCovers(name, base));
      if (hit) throw refuse('DNS name', name, ca, `within its excluded DNS subtree ${hit}`);
    }
    for (const ip of ips) {
      if (permittedIps.length && !permittedIps.some((cidr) => ipWithin(ip, parseIpSubtree(cidr)))) {
        throw refuse('IP address', ip, ca, `not in its permitted IP ranges (${permittedIps.join(', ')})`);
      }
      const hit = excludedIps.find((cidr) => ipWithin(ip, parseIpSubtree(cidr)));
      if (hit) throw refuse('IP address', ip, ca, `within its excluded IP range ${hit}`);
    }
  }
}

/**
 * Confirms that a CA certificate a signer made carries exactly the constraints asked for (none when none).
 * @throws InternalError naming what differs; nothing has been stored yet.
 */
export function checkCreatedConstraints(certPem: string, asked: NameConstraints | undefined, signerKind: string): void {
  const der = pemBlocks(certPem, 'CERTIFICATE')[0];
  const got = der ? readNameConstraints(der) : undefined;
  const describe = (nc: NameConstraints | undefined) =>
    hasNameConstraints(nc)
      ? (['permittedDns', 'excludedDns', 'permittedIps', 'excludedIps'] as const)
          .filter((k) => nc[k].length)
          .map((k) => `${k}: ${[...nc[k]].sort().join(', ')}`)
          .join('; ')
      : '(none)';
  if (describe(got) !== describe(asked)) {
    throw new InternalError(
      `the ${signerKind} signer returned a CA certificate with name constraints ${describe(got)}, not ${describe(asked)} as asked; certctl stored nothing — remove the CA the signer made before trying again`,
    );
  }
}
