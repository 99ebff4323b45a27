/**
 * fetchPinnedCa's checks of what an unverified first contact returns. The fake transport stands in
 * for a server in the middle (the fault injected): the certificates themselves are real, made by
 * certctl in a temporary store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchPinnedCa } from '../../../src/client/server-client';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../../src/backends/http/transport';
import { BackendAuthError } from '../../../src/core/errors';
import { sha256Fingerprint } from '../../../src/core/x509/fingerprint';
import { pemBlocks } from '../../../src/core/x509/pem';
import { certctlInProcess } from '../../support/in-process-cli';

jest.setTimeout(60000);

describe('fetchPinnedCa', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-pin-'));
  const pem: Record<string, string> = {};
  const run = async (...args: string[]) => {
    const r = await certctlInProcess(['--config', join(dir, 'certctl.yaml'), ...args]);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  /** Answers every request with `body`, and records the paths asked for. */
  const answering = (body: unknown): HttpTransport & { paths: string[] } => {
    const t = {
      paths: [] as string[],
      async send(r: HttpRequest): Promise<HttpResponse> {
        t.paths.push(new URL(r.url).pathname);
        return { status: 200, headers: {}, data: body };
      },
    };
    return t;
  };
  const fp = (p: string) => sha256Fingerprint(pemBlocks(p, 'CERTIFICATE')[0]);

  beforeAll(async () => {
    writeFileSync(join(dir, 'certctl.yaml'), `file:\n  dir: ${join(dir, 'pki')}\n`);
    await run('init', '--cn', 'Root');
    await run('--ca', 'issuing', 'init', '--cn', 'Issuing', '--parent', 'default');
    await run('--ca', 'stranger', 'init', '--cn', 'Stranger Root');
    pem.root = await run('ca', 'show');
    pem.issuing = await run('--ca', 'issuing', 'ca', 'show');
    pem.stranger = await run('--ca', 'stranger', 'ca', 'show');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts a CA whose fingerprint matches, with the chain it signed, from the named CA's path", async () => {
    const t = answering({ certificate: pem.issuing, chain: [pem.root] });
    const pinned = await fetchPinnedCa('https://ca.example:8443', fp(pem.issuing).replace(/:/g, '').toLowerCase(), { ca: 'issuing', transport: t });
    expect(pinned).toEqual({ caPem: pem.issuing, chain: [pem.root] });
    expect(t.paths).toEqual(['/v1/ca/issuing']);
  });

  it('refuses another CA than the fingerprint names', async () => {
    const t = answering({ certificate: pem.stranger, chain: [] });
    await expect(fetchPinnedCa('https://ca.example:8443', fp(pem.issuing), { transport: t })).rejects.toThrow(/has SHA-256 fingerprint/);
    expect(t.paths).toEqual(['/v1/ca']);
  });

  it('refuses the right CA with a chain it was not signed by (a root slipped in to be trusted)', async () => {
    const err = await fetchPinnedCa('https://ca.example:8443', fp(pem.issuing), {
      transport: answering({ certificate: pem.issuing, chain: [pem.stranger] }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendAuthError);
    expect((err as Error).message).toMatch(/certificate 1 of the CA's chain did not sign the one below it/);
  });
});
