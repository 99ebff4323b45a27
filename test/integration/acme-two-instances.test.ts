/**
 * Issue #13 "State and scale": two `certctl serve` instances over one Vault (Vault PKI signs, KV v2
 * keeps ACME's state) serve one directory — an order created and validated on one is finalized on
 * the other, and a nonce of one, spent on the other, is refused when replayed. Driven by the
 * Python `acme` library (test/support/acme_edge.py, case two-instances).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAcmeEdge } from '../support/acme-edge';
import { describeWithAcmeTools } from '../support/acme-tools';
import { startChalltestsrv, type Challtestsrv } from '../support/challtestsrv';
import { ok, requireBuiltCli, tempDir } from '../support/cli';
import { startServe, type ServeProcess } from '../support/serve';
import { describeWithVault, vaultCurl, vaultEnv } from '../support/servers';
import { freePort } from '../support/tls-check';

jest.setTimeout(180000);

describeWithVault('ACME over one Vault, two instances', (vault) =>
  describeWithAcmeTools('with the Python acme library', (tools) => {
    const t = tempDir('certctl-acme-two-');
    const id = randomBytes(4).toString('hex');
    let dns: Challtestsrv;
    let a: ServeProcess;
    let b: ServeProcess;
    let http01Port: number;

    beforeAll(async () => {
      requireBuiltCli();
      dns = await startChalltestsrv(tools.challtestsrv, { pidFile: join(t.dir, 'challtestsrv.pid') });
      http01Port = await freePort();
      writeFileSync(
        join(t.dir, 'certctl.yaml'),
        `backend: vault\nvault:\n  pki_mount: pki-acme-${id}\n  kv_mount: secret\n  kv_prefix: certctl-acme-${id}\nacme:\n  cas: [default]\n  http01_port: ${http01Port}\n  dns_resolver: ${dns.dnsResolver}\n`,
      );
      ok(t.dir, ['init', '--cn', 'ACME Two Instances CA'], vaultEnv(vault));
      a = await startServe(t.dir, vaultEnv(vault));
      b = await startServe(t.dir, vaultEnv(vault));
    });
    afterAll(async () => {
      for (const s of [a, b]) if (s) expect(await s.stop()).toBe(0);
      await dns?.stop();
      vaultCurl(vault, 'DELETE', `sys/mounts/pki-acme-${id}`);
      t.cleanup();
    });

    it('finalizes on one instance an order made on the other, and refuses a nonce replayed across them', async () => {
      const [result] = await runAcmeEdge(
        tools,
        { url: `${a.url}/acme/default/directory`, caFile: a.caFile },
        {
          http01Port,
          cases: ['two-instances'],
          secondDirectory: `${b.url}/acme/default/directory`,
        },
      );
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({
        finalizedOnSecond: 200,
        orderStatus: 'valid',
        certificateOnSecond: 200,
        certificateIsPem: true,
        nonceOfFirstOnSecond: 200,
        replayOnFirstStatus: 400,
        replayOnFirstType: 'badNonce',
      });
    });
  }),
);
