import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pkcs11Token } from '../../src/backends/pkcs11/token';
import { certctlInProcess } from '../support/in-process-cli';
import { describeWithSoftHsm } from '../support/softhsm';

jest.setTimeout(120000);

// Failures of a real SoftHSM2 token, through the CLI run in this process (so the test can act at
// a chosen point of a batch): the token removed mid-batch, a wrong PIN, a missing or bogus module,
// an unknown token label, a key type the token does not offer.
describeWithSoftHsm('PKCS#11 signer faults (SoftHSM2)', (hsm) => {
  let dir: string;
  let config: string;
  const run = (...args: string[]) => certctlInProcess(['--config', config, ...args]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-pkcs11-faults-'));
    config = join(dir, 'certctl.yaml');
    writeFileSync(config, `signer: pkcs11\nstore: file\nfile:\n  dir: ${join(dir, 'pki')}\n${hsm.section(`f${randomBytes(4).toString('hex')}-{ca}`)}`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('token removed mid-batch: exit 6 naming the token, nothing stored, no file written', async () => {
    expect((await run('init', '--cn', 'Fault CA')).status).toBe(0);
    // The removal is real: SoftHSM2 keeps a token as a directory of object files; moving it away
    // is its way of unplugging. The spy only picks the moment (the 300th signature), then signs as usual.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply(this) below
    const sign = Pkcs11Token.prototype.sign;
    let calls = 0;
    const aside = `${hsm.tokenPath}.unplugged`;
    const spy = jest.spyOn(Pkcs11Token.prototype, 'sign').mockImplementation(function (this: Pkcs11Token, ...args) {
      if (++calls === 300) renameSync(hsm.tokenPath, aside);
      return sign.apply(this, args);
    });
    let r;
    try {
      r = await run('issue', 'node', '--count', '600', '--format', 'flocker', '--out', join(dir, 'out'));
    } finally {
      spy.mockRestore();
      renameSync(aside, hsm.tokenPath);
    }
    expect(calls).toBeGreaterThanOrEqual(300);
    expect(r.status).toBe(6);
    expect(r.stderr).toContain(`PKCS#11 token "${hsm.tokenLabel}"`);
    expect(r.stderr).not.toContain(hsm.pin);
    const list = await run('list', '--json');
    expect(list.status).toBe(0);
    expect(list.json?.result).toEqual([]);
    expect(existsSync(join(dir, 'out')) ? readdirSync(join(dir, 'out')) : []).toEqual([]);
    // Plugged back in, the next command opens a fresh session and signs.
    expect((await run('issue', 'node', '--count', '3')).status).toBe(0);
  });
});

describeWithSoftHsm('PKCS#11 configuration and login errors (SoftHSM2)', (hsm) => {
  let dir: string;
  const write = (name: string, pkcs11: string) => {
    const path = join(dir, name);
    writeFileSync(path, `signer: pkcs11\nstore: file\nfile:\n  dir: ${join(dir, 'pki')}\n${pkcs11}`);
    return path;
  };
  const section = (over: Record<string, string>) =>
    `pkcs11:\n${Object.entries({
      module: hsm.module,
      token_label: hsm.tokenLabel,
      pin_file: hsm.pinFile,
      key_label: `e${randomBytes(4).toString('hex')}-{ca}`,
      ...over,
    })
      .map(([k, v]) => `  ${k}: "${v}"\n`)
      .join('')}`;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-pkcs11-errors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a wrong PIN: exit 7 naming the token and where the PIN came from, never the PIN', async () => {
    const wrong = join(dir, 'wrong-pin');
    writeFileSync(wrong, 'not-the-pin-4711\n');
    const r = await certctlInProcess(['--config', write('c.yaml', section({ pin_file: wrong })), 'init', '--cn', 'X']);
    expect(r.status).toBe(7);
    expect(r.stderr).toContain(`PKCS#11 token "${hsm.tokenLabel}" refused the user PIN from pkcs11.pin_file (${wrong})`);
    expect(r.stderr).not.toContain('not-the-pin-4711');
    // Nothing was made in the store either.
    expect(existsSync(join(dir, 'pki', 'default'))).toBe(false);
  });

  it('a missing module or a file that is not a PKCS#11 library: exit 3 naming the path', async () => {
    const missing = join(dir, 'libnothere.so');
    let r = await certctlInProcess(['--config', write('c.yaml', section({ module: missing })), 'init', '--cn', 'X']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`pkcs11.module: ${missing} does not exist`);
    const bogus = join(dir, 'bogus.so');
    writeFileSync(bogus, 'this is no shared library');
    r = await certctlInProcess(['--config', write('c2.yaml', section({ module: bogus })), 'init', '--cn', 'X']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`pkcs11.module: ${bogus} is not a PKCS#11 library`);
  });

  it('an unknown token label: exit 3 listing the tokens present', async () => {
    const r = await certctlInProcess(['--config', write('c.yaml', section({ token_label: 'no-such-token' })), 'init', '--cn', 'X']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('pkcs11.token_label: no token labelled "no-such-token"');
    expect(r.stderr).toContain(`"${hsm.tokenLabel}"`);
  });

  it('no PIN configured: exit 3 naming pkcs11.pin_file and CERTCTL_PKCS11_PIN', async () => {
    const r = await certctlInProcess([
      '--config',
      write('c.yaml', `pkcs11:\n  module: ${hsm.module}\n  token_label: ${hsm.tokenLabel}\n`),
      'init',
      '--cn',
      'X',
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/pkcs11\.pin_file: .*CERTCTL_PKCS11_PIN/);
  });

  it('Ed25519 on a token without CKM_EDDSA: exit 9 naming the mechanism (fault-injecting: the mechanism list is filtered)', async () => {
    // SoftHSM2 2.6 offers CKM_EDDSA; this spy makes the token look like one that does not.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with call(this) below
    const offers = Pkcs11Token.prototype.offers;
    const spy = jest.spyOn(Pkcs11Token.prototype, 'offers').mockImplementation(function (this: Pkcs11Token, mechanism: number) {
      return mechanism === 0x1057 ? false : offers.call(this, mechanism);
    });
    try {
      const r = await certctlInProcess(['--config', write('c.yaml', section({})), 'init', '--cn', 'X', '--key-type', 'ed25519']);
      expect(r.status).toBe(9);
      expect(r.stderr).toContain('does not offer CKM_EDDSA');
    } finally {
      spy.mockRestore();
    }
  });

  it('init --key-label with a signer that generates its own keys: exit 9', async () => {
    const path = join(dir, 'file.yaml');
    writeFileSync(path, `file:\n  dir: ${join(dir, 'pki')}\n`);
    const r = await certctlInProcess(['--config', path, 'init', '--cn', 'X', '--key-label', 'whatever']);
    expect(r.status).toBe(9);
    expect(r.stderr).toContain('--key-label');
  });
});
