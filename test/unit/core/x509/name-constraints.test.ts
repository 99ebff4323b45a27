import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { InvalidInputError } from '../../../../src/core/errors';
import { opensslEcReq } from '../../../support/cli';
import { ipSubtreeText, nameConstraintsExtension, parseIpSubtree, readNameConstraints } from '../../../../src/core/x509/name-constraints';

/** A self-signed CA made by openssl with `nameConstraints = <config>`, as DER. */
function opensslCaWith(config: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-nc-'));
  try {
    writeFileSync(
      join(dir, 'ext.cnf'),
      `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\nnameConstraints=${config}\n`,
    );
    opensslEcReq(dir, 'k', ['-x509', '-subj', '/CN=nc', '-days', '1', '-config', join(dir, 'ext.cnf'), '-extensions', 'ext', '-out', join(dir, 'c.pem')]);
    return new X509Certificate(readFileSync(join(dir, 'c.pem'))).raw;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('NameConstraints encoding', () => {
  it('is byte-identical to what openssl writes for the same subtrees', () => {
    const der = opensslCaWith(
      'critical,permitted;DNS:internal.example,permitted;DNS:corp.example,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:fd00::/ffff:ff00::,excluded;DNS:bad.internal.example,excluded;IP:10.9.0.0/255.255.0.0',
    );
    const ours = nameConstraintsExtension({
      permittedDns: ['internal.example', 'corp.example'],
      permittedIps: ['10.0.0.0/8', 'fd00::/24'],
      excludedDns: ['bad.internal.example'],
      excludedIps: ['10.9.0.0/16'],
    });
    expect(der.indexOf(ours)).toBeGreaterThan(0);
    expect(execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-ext', 'nameConstraints'], { input: der }).toString()).toMatch(
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:internal\.example\s+DNS:corp\.example\s+IP:10\.0\.0\.0\/255\.0\.0\.0/,
    );
  });

  it('permitted only, excluded only: the other field is absent, as openssl writes it', () => {
    expect(
      opensslCaWith('critical,permitted;DNS:internal.example').indexOf(
        nameConstraintsExtension({ permittedDns: ['internal.example'], excludedDns: [], permittedIps: [], excludedIps: [] }),
      ),
    ).toBeGreaterThan(0);
    expect(
      opensslCaWith('critical,excluded;IP:192.168.0.0/255.255.0.0').indexOf(
        nameConstraintsExtension({ permittedDns: [], excludedDns: [], permittedIps: [], excludedIps: ['192.168.0.0/16'] }),
      ),
    ).toBeGreaterThan(0);
  });

  it('reads back what openssl wrote, leading dots and non-contiguous masks included', () => {
    expect(
      readNameConstraints(opensslCaWith('critical,permitted;DNS:.Internal.Example,permitted;IP:10.0.0.0/255.0.255.0,excluded;IP:2001:db8::/ffff:ffff::')),
    ).toEqual({
      permittedDns: ['.internal.example'],
      excludedDns: [],
      permittedIps: ['10.0.0.0/255.0.255.0'],
      excludedIps: ['2001:db8::/32'],
    });
    expect(readNameConstraints(opensslCaWith('critical,excluded;DNS:bad.example'))).toEqual({
      permittedDns: [],
      excludedDns: ['bad.example'],
      permittedIps: [],
      excludedIps: [],
    });
  });

  it('refuses an empty extension, an empty name and malformed CIDR text', () => {
    expect(() => nameConstraintsExtension({ permittedDns: [], excludedDns: [], permittedIps: [], excludedIps: [] })).toThrow(InvalidInputError);
    expect(() => nameConstraintsExtension({ permittedDns: [''], excludedDns: [], permittedIps: [], excludedIps: [] })).toThrow(/must not be empty/);
    for (const bad of ['10.0.0/8', '10.0.0.0/33', '10.0.0.0', '10.0.0.1/8', 'fd00::/129', 'x/8', '10.0.0.0/-1']) {
      expect(() => parseIpSubtree(bad)).toThrow(InvalidInputError);
    }
    expect(ipSubtreeText(parseIpSubtree('FD00:0::/8'))).toBe('fd00::/8');
    expect(ipSubtreeText(parseIpSubtree('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });
});
