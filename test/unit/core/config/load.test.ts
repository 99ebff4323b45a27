import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registry } from '../../../../src/backends';
import { ConfigError } from '../../../../src/core/errors';
import { loadConfig } from '../../../../src/core/config/load';
import { parseFileOptions } from '../../../../src/backends/file/options';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it("names no backend without a file: the registry's default (file) applies, and the default CA", () => {
    const c = loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
    expect(c.path).toBeUndefined();
    expect([c.signer, c.store, c.ca]).toEqual([undefined, undefined, 'default']);
    expect(registry.defaultName).toBe('file');
    expect(c.origins).toEqual({ signer: 'the default backend', store: 'the default backend' });
  });

  it('takes the same names and aliases for --backend, signer: and store:, and says where each came from', () => {
    const path = write('mixed.yaml', 'backend: file\nsigner: vault-pki\nstore: barbican\n');
    const c = loadConfig({ configPath: path }, {}, dir, registry.sections());
    expect([c.signer, c.store]).toEqual(['vault-pki', 'barbican']);
    expect(registry.resolve(c.signer!, c.origins.signer).name).toBe('vault');
    expect(c.origins.signer).toBe(`signer in ${path}`);
    const flag = loadConfig({ configPath: path, backend: 'vault-kv' }, {}, dir, registry.sections());
    expect([flag.signer, flag.store, flag.origins.store]).toEqual(['vault-kv', 'vault-kv', '--backend']);
    expect(registry.resolve('vault-kv', '--backend').name).toBe('vault');
    expect(() => registry.resolve('vualt', '--backend')).toThrow(
      /--backend: unknown backend "vualt"; choose one of file, barbican, vault \(or vault-kv, vault-pki\)/,
    );
  });

  it("keeps flags > environment > file for each half: CERTCTL_BACKEND beats the file's signer:/store:, CERTCTL_SIGNER beats CERTCTL_BACKEND", () => {
    const path = write('halves.yaml', 'backend: file\nsigner: vault\nstore: barbican\n');
    const env = loadConfig({ configPath: path }, { CERTCTL_BACKEND: 'file' }, dir);
    expect([env.signer, env.store, env.origins.signer]).toEqual(['file', 'file', 'CERTCTL_BACKEND']);
    const signerEnv = loadConfig({ configPath: path }, { CERTCTL_BACKEND: 'file', CERTCTL_SIGNER: 'vault' }, dir);
    expect([signerEnv.signer, signerEnv.store, signerEnv.origins.signer]).toEqual(['vault', 'file', 'CERTCTL_SIGNER']);
    const fileOnly = loadConfig({ configPath: path }, {}, dir);
    expect([fileOnly.signer, fileOnly.store, fileOnly.origins.store]).toEqual(['vault', 'barbican', `store in ${path}`]);
  });

  it("with the registry's sections, refuses a top-level key no backend owns", () => {
    const path = write('typo.yaml', 'vualt:\n  address: https://v:8200\n');
    expect(() => loadConfig({ configPath: path }, {}, dir, registry.sections())).toThrow(/unknown key "vualt" \(sections: file, barbican, vault, pkcs11\)/);
    const good = write('good.yaml', 'vault:\n  address: https://v:8200\n');
    expect(loadConfig({ configPath: good }, {}, dir, registry.sections()).sections.vault).toEqual({ address: 'https://v:8200' });
  });

  it('finds ./certctl.yaml, then $XDG_CONFIG_HOME/certctl/config.yaml', () => {
    mkdirSync(join(dir, 'xdg', 'certctl'), { recursive: true });
    writeFileSync(join(dir, 'xdg', 'certctl', 'config.yaml'), 'ca: from-xdg\n');
    expect(loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir).ca).toBe('from-xdg');
    write('certctl.yaml', 'ca: from-cwd\n');
    expect(loadConfig({}, { XDG_CONFIG_HOME: join(dir, 'xdg') }, dir).ca).toBe('from-cwd');
  });

  it('applies precedence flags > env > file', () => {
    const path = write('c.yaml', 'ca: file-ca\nbackend: file\n');
    expect(loadConfig({ configPath: path }, {}, dir).ca).toBe('file-ca');
    expect(loadConfig({ configPath: path }, { CERTCTL_CA: 'env-ca' }, dir).ca).toBe('env-ca');
    expect(loadConfig({ configPath: path, ca: 'flag-ca' }, { CERTCTL_CA: 'env-ca' }, dir).ca).toBe('flag-ca');
    expect(loadConfig({}, { CERTCTL_CONFIG: path }, dir).ca).toBe('file-ca');
  });

  it.each([
    ['unknown top-level key', 'bakend: file\n', /unknown key "bakend"/],
    ['nested unknown key', 'profiles:\n  server:\n    max_tll: 1d\n', /profiles\.server: unknown key "max_tll"/],
    ['bad duration', 'profiles:\n  server:\n    max_ttl: forever\n', /profiles\.server\.max_ttl/],
    ['bad key type', 'profiles:\n  client:\n    allowed_key_types: [rsa-1024]\n', /profiles\.client\.allowed_key_types/],
    ['invalid YAML', 'profiles: [\n', /not valid YAML/],
    ['a list at the top', '- a\n- b\n', /mapping/],
    ['a bad CRL URL', 'urls:\n  crl: [ftp://x]\n', /urls\.crl/],
  ])('refuses %s with a ConfigError naming the path', (_label, text, pattern) => {
    const path = write('bad.yaml', text);
    expect(() => loadConfig({ configPath: path }, {}, dir)).toThrow(ConfigError);
    expect(() => loadConfig({ configPath: path }, {}, dir)).toThrow(pattern);
  });

  it('fails with exit 3 for a named config file that does not exist', () => {
    expect(() => loadConfig({ configPath: join(dir, 'missing.yaml') }, {}, dir)).toThrow(/does not exist/);
    expect(() => loadConfig({}, { CERTCTL_CONFIG: join(dir, 'missing.yaml') }, dir)).toThrow(/CERTCTL_CONFIG/);
  });

  it('resolves file.dir relative to the config file, and CERTCTL_FILE_DIR wins', () => {
    mkdirSync(join(dir, 'etc'));
    const path = write('etc/certctl.yaml', 'file:\n  dir: ./store\n');
    expect(parseFileOptions(loadConfig({ configPath: path }, {}, dir)).dir).toBe(join(dir, 'etc', 'store'));
    expect(parseFileOptions(loadConfig({ configPath: path }, { CERTCTL_FILE_DIR: '/srv/pki' }, dir)).dir).toBe('/srv/pki');
    const bad = write('etc/bad.yaml', 'file:\n  path: x\n');
    expect(() => parseFileOptions(loadConfig({ configPath: bad }, {}, dir))).toThrow(/file: unknown key "path"/);
  });
});
