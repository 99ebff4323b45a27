import { authorizeSigning, isAdmin, requireAdmin, rolesOfCertificate, type Principal } from '../../../src/server/access';
import type { Role, ServeOptions } from '../../../src/server/config';
import type { CertIdentity } from '../../../src/server/identity';
import type { AuthorizedNames } from '../../../src/core/issuance-service';

const nodes: Role = { name: 'nodes', admin: false, profiles: ['server'], names: ['*.nodes.example', '10.0.0.*'], cas: ['default'] };
const admin: Role = { name: 'admin', admin: true, profiles: [], names: [], cas: ['default'] };
const OPTIONS = { clients: [{ ou: 'ops', role: admin }] } as unknown as ServeOptions;

function names(over: Partial<AuthorizedNames>): AuthorizedNames {
  return { profile: 'server', ca: 'default', commonName: '', dnsNames: [], ipAddresses: [], uris: [], emails: [], subject: {}, ...over };
}

function principal(roles: Role[], onSign?: Principal['onSign']): Principal {
  return { kind: 'certificate', id: 'default/01', roles, onSign };
}

describe('serve roles', () => {
  it('maps client certificates to roles by CN, OU and O globs (every given field must match)', () => {
    const options = {
      clients: [
        { cn: '*.nodes.example', ou: 'fleet', role: nodes },
        { cn: 'ops-admin', role: admin },
      ],
    } as unknown as ServeOptions;
    const id = (cn: string, ou: string[], clientAuth = true) => ({ cn, ou, o: [], clientAuth }) as unknown as CertIdentity;
    expect(rolesOfCertificate(options, id('web1.nodes.example', ['fleet']))).toEqual([nodes]);
    expect(rolesOfCertificate(options, id('web1.nodes.example', ['other']))).toEqual([]);
    expect(rolesOfCertificate(options, id('ops-admin', []))).toEqual([admin]);
    expect(rolesOfCertificate(options, id('ops-admin', [], false))).toEqual([]);
  });

  it('lets a role sign its profiles and names only', async () => {
    await expect(
      authorizeSigning(principal([nodes]), names({ commonName: 'a.nodes.example', dnsNames: ['a.nodes.example'], ipAddresses: ['10.0.0.7'] }), OPTIONS),
    ).resolves.toBeUndefined();
    await expect(authorizeSigning(principal([nodes]), names({ commonName: 'a.b.nodes.example' }), OPTIONS)).rejects.toThrow(
      /may not sign for "a\.b\.nodes\.example"/,
    );
    await expect(authorizeSigning(principal([nodes]), names({ ipAddresses: ['10.0.1.7'] }), OPTIONS)).rejects.toThrow(/10\.0\.1\.7/);
    await expect(authorizeSigning(principal([nodes]), names({ profile: 'client', commonName: 'a.nodes.example' }), OPTIONS)).rejects.toThrow(
      /may not sign for profile client/,
    );
    await expect(authorizeSigning(principal([]), names({ commonName: 'x' }), OPTIONS)).rejects.toMatchObject({ code: 'policy_violation' });
  });

  it('refuses a non-admin an O/OU that serve.clients gives roles by, another CA, and a non-DNS name under a DNS pattern', async () => {
    await expect(authorizeSigning(principal([nodes]), names({ commonName: 'a.nodes.example', subject: { OU: ['ops'] } }), OPTIONS)).rejects.toThrow(
      /may not ask for OU=ops/,
    );
    await expect(authorizeSigning(principal([nodes]), names({ ca: 'prod', commonName: 'a.nodes.example' }), OPTIONS)).rejects.toThrow(/of CA "prod"/);
    await expect(authorizeSigning(principal([nodes]), names({ commonName: 'x y.deep.nodes.example' }), OPTIONS)).rejects.toThrow(/may not sign for "x y/);
    await expect(authorizeSigning(principal([admin]), names({ commonName: 'a', subject: { OU: ['ops'] } }), OPTIONS)).resolves.toBeUndefined();
  });

  it('lets an admin sign anything, and spends onSign only after the roles allowed the request', async () => {
    const spent: string[] = [];
    const onSign = (n: AuthorizedNames) => {
      spent.push(n.commonName);
      return Promise.resolve();
    };
    await authorizeSigning(principal([admin], onSign), names({ commonName: 'anything.example' }), OPTIONS);
    await expect(authorizeSigning(principal([nodes], onSign), names({ commonName: 'evil.example' }), OPTIONS)).rejects.toThrow();
    expect(spent).toEqual(['anything.example']);
    expect(isAdmin(principal([admin]))).toBe(true);
    expect(() => requireAdmin(principal([nodes]), 'reading the inventory')).toThrow(/reading the inventory needs an admin role/);
  });
});
