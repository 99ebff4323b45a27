import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// docker-compose.yml cannot run on the CI machine (no Docker engine): its syntax and the facts
// the README and the tests rely on are checked here instead.
describe('docker-compose.yml', () => {
  const root = join(__dirname, '..', '..');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { strict: true, uniqueKeys: true });

  it('runs the official Vault image in dev mode with the documented root token', () => {
    const vault = compose.services.vault;
    expect(vault.image).toMatch(/^hashicorp\/vault:\d+\.\d+/);
    expect(vault.command).toEqual(expect.arrayContaining(['server', '-dev', '-dev-root-token-id=certctl-dev-root']));
    expect(readFileSync(join(root, 'docker-compose.yml'), 'utf8')).toContain('CERTCTL_IT_VAULT_TOKEN=certctl-dev-root');
  });

  it('builds Keystone + Barbican from the Dockerfile in the repository', () => {
    const os = compose.services.openstack;
    expect(existsSync(join(root, os.build.context, os.build.dockerfile))).toBe(true);
    expect(readFileSync(join(root, os.build.context, os.build.dockerfile), 'utf8')).toMatch(/python3-barbican python3-keystone/);
  });

  it('publishes every port on loopback only, under the same number inside and out', () => {
    for (const [name, service] of Object.entries<any>(compose.services)) {
      for (const port of service.ports ?? []) {
        const m = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(String(port));
        expect({ name, port, loopback: !!m, same: m?.[1] === m?.[2] }).toEqual({ name, port, loopback: true, same: true });
      }
    }
  });
});
