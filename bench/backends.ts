/**
 * Benchmarks of the remote backends against the real servers the tests use
 * (tools/openstack-dev.sh, tools/vault-dev.sh), run by bench/backends.mjs:
 *
 * - Barbican: issue 500 certificates (one `issue node --count 500` through the same
 *   IssuanceService the CLI runs). Every HTTP call is timed at the transport; certctl's own
 *   overhead is the wall time minus the time spent waiting on those calls, reported per
 *   certificate and as a share of the HTTP time (target: under 10%), with the number of
 *   Barbican calls per certificate.
 * - Vault: issue 1,000 certificates through certctl, then make the same HTTP calls bare (the
 *   same sign/:role and KV check-and-set writes into the same KV directory, from pre-built CSRs,
 *   with no certctl logic) against the same server in the same run, alternating, medians:
 *   certs/s of both and certctl's overhead over the bare calls (target: under 10%). A third
 *   side makes the bare calls but builds each key and CSR inside the clock. bench/backends.mjs
 *   runs this once per placement of Vault and this process on the CPUs.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { registry } from '../src/backends';
import { BarbicanTransport } from '../src/backends/barbican';
import { AxiosTransport, type HttpRequest, type HttpResponse, type HttpTransport } from '../src/backends/http/transport';
import { VaultTransport } from '../src/backends/vault';
import type { BackendSelection } from '../src/core/container';
import type { CaDeletingStore } from '../src/core/cert-store';
import { IN_FLIGHT } from '../src/backends/vault/vault-pki-signer';
import { loadConfig, type ResolvedConfig } from '../src/core/config/load';
import { createContainer } from '../src/core/container';
import { IssuanceService } from '../src/core/issuance-service';
import { CertStore } from '../src/core/cert-store';
import { generateEncodedKey } from '../src/core/key-encoding';
import { buildCsrDer } from '../src/core/x509/csr-builder';
import { toPem } from '../src/core/x509/pem';
import { createDerSigner } from '../src/core/x509/signing';
import { randomUUID, randomBytes } from 'node:crypto';
import { mapLimit } from '../src/core/concurrency';

const noPassphrase = { get: () => undefined };

/** A container as the CLI builds it, with every Vault and Barbican request timed by `clock` (wrapped at activation). */
function timedContainer(config: ResolvedConfig, clock: BusyClock | undefined, selection?: BackendSelection) {
  const container = createContainer(config, noPassphrase, registry, selection);
  if (clock) for (const token of [VaultTransport, BarbicanTransport]) container.onActivation<HttpTransport>(token, (_ctx, t) => clock.wrap(t));
  return container;
}

async function barbican(count: number): Promise<string[]> {
  const e = process.env;
  if (!e.OS_AUTH_URL || !e.CERTCTL_IT_BARBICAN_ENDPOINT) throw new Error('Barbican is not running: eval "$(tools/openstack-dev.sh start)" first');
  const dir = mkdtempSync(join(tmpdir(), 'certctl-bench-barbican-'));
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({}, { ...e, CERTCTL_BACKEND: 'barbican', CERTCTL_BARBICAN_PREFIX: prefix, XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
  /** A service over a fresh store, as a new certctl process would have, with its HTTP timed. */
  const serviceWithTiming = () => {
    const timing = new BusyClock();
    return { service: timedContainer(config, timing).get(IssuanceService), timing };
  };
  await serviceWithTiming().service.init({ commonName: 'Bench CA' });
  // The issuing run alone, from a fresh store: it pays the Keystone login and the CA reads too.
  const { service, timing: http } = serviceWithTiming();
  const t0 = performance.now();
  const result = await service.issue({ profile: 'node', count });
  const wall = performance.now() - t0;
  const overhead = wall - http.ms;
  const lines = [
    `### Barbican: issue node --count ${count} (Keystone-protected Barbican 15, sqlite, waitress threads=1)`,
    '',
    `| measure | value |`,
    `|---|---|`,
    `| certificates | ${result.items.length} |`,
    `| wall time | ${(wall / 1000).toFixed(2)} s (${(count / (wall / 1000)).toFixed(1)} certs/s) |`,
    `| HTTP calls | ${http.calls} (${(http.calls / count).toFixed(2)} per certificate) |`,
    `| time in HTTP calls | ${(http.ms / 1000).toFixed(2)} s (${(http.ms / http.calls).toFixed(2)} ms per call) |`,
    `| certctl's own time | ${(overhead / 1000).toFixed(3)} s = ${(overhead / count).toFixed(2)} ms per certificate |`,
    `| **overhead vs HTTP time** | **${((overhead / http.ms) * 100).toFixed(1)}%** (target < 10%) ${overhead / http.ms < 0.1 ? 'PASS' : 'FAIL'} |`,
    '',
    'Calls per certificate, and why each is needed: 1 duplicate-serial check (a name lookup: "no serial used',
    'twice" is checked, not assumed), 3 writes (the certificate secret, the key secret, the `certificate`',
    'container Octavia/Magnum consume), plus 1 inventory segment per ~25 certificates (the commit point).',
    'Per command, not per certificate: 1 Keystone login (with the catalog), a lookup and a read of the CA',
    'record, 1 read of the CA key.',
  ];
  return lines;
}

/**
 * A certctl configuration for the Vault in CERTCTL_IT_VAULT_* (or VAULT_*), in a temp dir whose
 * certctl.yaml holds `vaultYaml` (the lines under `vault:`); `id` is unique to this run.
 */
function vaultTarget(
  dirPrefix: string,
  vaultYaml: (id: string) => string,
): { addr: string; token: string; cacert?: string; id: string; config: ResolvedConfig } {
  const e = process.env;
  const addr = e.CERTCTL_IT_VAULT_ADDR ?? e.VAULT_ADDR;
  const token = e.CERTCTL_IT_VAULT_TOKEN ?? e.VAULT_TOKEN;
  if (!addr || !token) throw new Error('Vault is not running: eval "$(tools/vault-dev.sh start)" first');
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const id = randomBytes(4).toString('hex');
  writeFileSync(join(dir, 'certctl.yaml'), `backend: vault\nvault:\n${vaultYaml(id)}`);
  const env: NodeJS.ProcessEnv = { VAULT_ADDR: addr, VAULT_TOKEN: token, XDG_CONFIG_HOME: join(dir, 'xdg') };
  const cacert = e.CERTCTL_IT_VAULT_CACERT ?? e.VAULT_CACERT;
  if (cacert) env.VAULT_CACERT = cacert;
  return { addr, token, cacert, id, config: loadConfig({}, env, dir) };
}

/**
 * One Vault measurement against the server in VAULT_ADDR (bench/backends.mjs starts a fresh one
 * per placement); `placement` says where the server and this process run.
 */
async function vault(count: number, rounds: number, placement: string, verdict: boolean): Promise<string[]> {
  const { addr, token, cacert, id, config } = vaultTarget('certctl-bench-vault-', (id) => `  pki_mount: pki-bench-${id}\n  kv_prefix: bench-${id}\n`);
  // The signer and the store share the container's one client, so every one of its requests is timed.
  const timing = new BusyClock();
  const service = timedContainer(config, timing).get(IssuanceService);
  await service.init({ commonName: 'Bench Vault CA' });

  /** One certctl run of `n` certificates: wall time, HTTP calls and their summed time, node's CPU time. */
  const runCertctl = async (n: number) => {
    const [calls0, ms0] = [timing.calls, timing.ms];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const issued = await service.issue({ profile: 'node', count: n });
    const ms = performance.now() - t0;
    return { ms, cpuMs: cpuMs(cpu0), calls: timing.calls - calls0, httpMs: timing.ms - ms0, issued };
  };

  // The same HTTP calls, bare: pre-built CSRs (their key generation is not timed), then for each
  // one sign/:role and one KV check-and-set write through a plain keep-alive client, into the
  // same KV directory certctl writes its certificates to (Vault's KV writes slow down as a
  // directory grows, so a fresh directory would flatter the bare side).
  const prebuilt = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await makeCsr());
    return out;
  };
  const makeCsr = async () => {
    const key = await generateEncodedKey('ec-p256');
    const der = buildCsrDer({ commonName: randomUUID(), dnsNames: [], ipAddresses: [], spkiDer: key.spkiDer }, createDerSigner(key.privateKey()));
    return toPem(der, 'CERTIFICATE REQUEST');
  };
  const http = new AxiosTransport({ timeoutMs: 30000, caFile: cacert });
  const headers = { 'X-Vault-Token': token };
  const notAfter = new Date(Date.now() + 300 * 86400000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sample = (await runCertctl(1)).issued.items[0];
  /** `n` certificates' two calls each, as many in flight as certctl; `csrFor` supplies each CSR. */
  const bare = async (n: number, csrFor: (i: number) => Promise<string>) => {
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    await mapLimit([...Array(n).keys()], IN_FLIGHT, async (i) => {
      const signed = await http.send({
        method: 'POST',
        url: `${addr}/v1/pki-bench-${id}/sign/certctl-default-peer-sig`,
        headers,
        body: { csr: await csrFor(i), common_name: randomUUID(), alt_names: '', ip_sans: '', exclude_cn_from_sans: true, not_after: notAfter },
      });
      const data = (signed.data as { data: { certificate: string; serial_number: string } }).data;
      await http.send({
        method: 'POST',
        url: `${addr}/v1/secret/data/bench-${id}/default/certs/${data.serial_number.replace(/:/g, '')}`,
        headers,
        // The same entry certctl writes: record, certificate and key.
        body: { options: { cas: 0 }, data: { record: sample.record, position: 0, cert_pem: data.certificate, key_pem: sample.keyPem } },
      });
    });
    return { ms: performance.now() - t, cpuMs: cpuMs(cpu0) };
  };

  // Warm all three first (JIT, TLS sessions, Vault's caches: a cold first run is ~2x slower
  // whichever side goes first), then alternate and take medians.
  await runCertctl(count);
  const warmCsrs = await prebuilt(count);
  await bare(count, async (i) => warmCsrs[i]);
  await bare(count, makeCsr);
  const certctlRuns: Awaited<ReturnType<typeof runCertctl>>[] = [];
  const bareRuns: { ms: number; cpuMs: number }[] = [];
  const withKeysRuns: { ms: number; cpuMs: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    certctlRuns.push(await runCertctl(count));
    const csrs = await prebuilt(count);
    bareRuns.push(await bare(count, async (i) => csrs[i]));
    withKeysRuns.push(await bare(count, makeCsr));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const mid = [...certctlRuns].sort((x, y) => x.ms - y.ms)[Math.floor(certctlRuns.length / 2)];
  const certctlMs = mid.ms;
  const bareMs = median(bareRuns.map((r) => r.ms));
  const withKeysMs = median(withKeysRuns.map((r) => r.ms));
  const overhead = (certctlMs - bareMs) / bareMs;
  const perCert = (ms: number) => `${((ms / count) * 1000).toFixed(0)} µs`;
  const s = (ms: number) => (ms / 1000).toFixed(2);
  return [
    `#### ${placement}`,
    '',
    `| measure | value |`,
    `|---|---|`,
    `| runs (${rounds} of each, alternating, after a warm-up of each) | certctl ${certctlRuns.map((r) => s(r.ms)).join(', ')} s; bare ${bareRuns.map((r) => s(r.ms)).join(', ')} s; bare with keys ${withKeysRuns.map((r) => s(r.ms)).join(', ')} s |`,
    `| certctl | ${count} certificates in ${s(certctlMs)} s = **${(count / (certctlMs / 1000)).toFixed(0)} certs/s**; ${mid.calls} HTTP calls, ${IN_FLIGHT} in flight; node's CPU ${perCert(median(certctlRuns.map((r) => r.cpuMs)))} per certificate |`,
    `| bare HTTP (the same sign/:role + KV check-and-set write per certificate, CSRs built before the clock starts, ${IN_FLIGHT} in flight) | ${count} in ${s(bareMs)} s = ${(count / (bareMs / 1000)).toFixed(0)} certs/s; node's CPU ${perCert(median(bareRuns.map((r) => r.cpuMs)))} per certificate |`,
    `| **certctl's overhead over the bare calls** | **${(overhead * 100).toFixed(1)}%** (target < 10%)${verdict ? ` ${overhead < 0.1 ? 'PASS' : 'FAIL'}` : ''} |`,
    `| bare HTTP making each key + CSR inside the clock, as any client of sign/:role must | ${count} in ${s(withKeysMs)} s = ${(count / (withKeysMs / 1000)).toFixed(0)} certs/s (node's CPU ${perCert(median(withKeysRuns.map((r) => r.cpuMs)))} per certificate); certctl ${(((certctlMs - withKeysMs) / withKeysMs) * 100).toFixed(1)}% over it |`,
    '',
  ];
}

/** CPU time (user + system, all of node's threads) since `since`, in ms. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Migration into Barbican and Vault KV (issue #5: "bounded by the server: certctl's overhead
// under 10% of the time spent in HTTP calls"). Run with `node bench/backends.mjs migrate` or
// `node bench/migrate.mjs --remote` (which records it in bench/MIGRATE.md).
//
// A file store with N certificates (10% revoked, one CRL drawn) is migrated in-process through
// migrateStores, as `certctl migrate --from file --to barbican|vault-kv` runs it (fresh target
// instance for the read-back), with every HTTP request of the target timed. The migration reads
// with several requests in flight, so the summed request time exceeds the wall time; the
// overhead is therefore measured as wall time minus the time during which at least one request
// was in flight ("HTTP-busy"): what is left is time in which certctl (including the file
// source's disk reads) keeps the server waiting.

/**
 * Times requests of one or more transports together: the sum of their durations, and the union
 * of the intervals in which at least one was in flight.
 */
class BusyClock {
  calls = 0;
  /** Sum of every request's duration. */
  ms = 0;
  /** Time with at least one request in flight. */
  busyMs = 0;
  private inFlight = 0;
  private busySince = 0;
  /** A transport that sends through `inner` and is timed on this clock. */
  wrap(inner: HttpTransport): HttpTransport {
    return { send: (r: HttpRequest) => this.time(() => inner.send(r)) };
  }
  private async time(send: () => Promise<HttpResponse>): Promise<HttpResponse> {
    const t0 = performance.now();
    if (this.inFlight++ === 0) this.busySince = t0;
    try {
      return await send();
    } finally {
      const t1 = performance.now();
      this.ms += t1 - t0;
      this.calls++;
      if (--this.inFlight === 0) this.busyMs += t1 - this.busySince;
    }
  }
  snapshot(): { calls: number; ms: number; busyMs: number } {
    return { calls: this.calls, ms: this.ms, busyMs: this.busyMs };
  }
}

/** A file store in a temp dir with CA "default", `count` node certificates, a tenth revoked, one CRL. */
async function migrationSource(count: number): Promise<{ dir: string; store: CertStore }> {
  const dir = mkdtempSync(join(tmpdir(), 'certctl-bench-migrate-src-'));
  const config = loadConfig({}, { CERTCTL_FILE_DIR: join(dir, 'pki'), XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
  const container = timedContainer(config, undefined);
  const service = container.get(IssuanceService);
  await service.init({ commonName: 'Bench Migrate CA' });
  const { items } = await service.issue({ profile: 'node', count });
  await service.revoke(
    items.slice(0, Math.floor(count / 10)).map((i) => i.record.serial),
    'superseded',
  );
  await service.crl();
  return { dir, store: container.get<CertStore>(CertStore) };
}

interface MigrationRun {
  label: string;
  count: number;
  wallMs: number;
  http: { calls: number; ms: number; busyMs: number };
  deleteMs: number;
  deleteCalls: number;
}

/** Migrates the source into `target` (verifying through `fresh()`), timed; then deletes the CA from the target. */
async function timedMigration(
  label: string,
  source: CertStore,
  target: CertStore,
  fresh: () => CertStore,
  timing: BusyClock,
  count: number,
): Promise<MigrationRun> {
  const { migrateStores } = require('../src/core/migration') as typeof import('../src/core/migration');
  const before = timing.snapshot();
  const t0 = performance.now();
  const result = await migrateStores(source, target, { verifyTarget: fresh });
  const wallMs = performance.now() - t0;
  const after = timing.snapshot();
  const c = result.cas[0];
  if (c.copied !== count || c.verified !== count) throw new Error(`${label}: unexpected result ${JSON.stringify(c)}`);
  // Clean up through the store's own deleteCa (what --delete-source uses), timed too.
  const d0 = performance.now();
  await (fresh() as CaDeletingStore).deleteCa('default');
  const deleteMs = performance.now() - d0;
  return {
    label,
    count,
    wallMs,
    http: { calls: after.calls - before.calls, ms: after.ms - before.ms, busyMs: after.busyMs - before.busyMs },
    deleteMs,
    deleteCalls: timing.calls - after.calls,
  };
}

async function migrateIntoBarbican(source: CertStore, count: number): Promise<MigrationRun> {
  const e = process.env;
  if (!e.OS_AUTH_URL || !e.CERTCTL_IT_BARBICAN_ENDPOINT) throw new Error('Barbican is not running: eval "$(tools/openstack-dev.sh start)" first');
  const dir = mkdtempSync(join(tmpdir(), 'certctl-bench-migrate-barbican-'));
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({}, { ...e, CERTCTL_BACKEND: 'barbican', CERTCTL_BARBICAN_PREFIX: prefix, XDG_CONFIG_HOME: join(dir, 'xdg') }, dir);
  // One clock for the target and the fresh instance that verifies (the CLI opens both), each with its own transport as in the CLI.
  const clock = new BusyClock();
  const open = () => timedContainer(config, clock, { store: 'barbican', signer: null }).get<CertStore>(CertStore);
  return timedMigration('file → barbican', source, open(), open, clock, count);
}

async function migrateIntoVault(source: CertStore, count: number): Promise<MigrationRun> {
  const { config } = vaultTarget('certctl-bench-migrate-vault-', (id) => `  kv_mount: secret\n  kv_prefix: bench-migrate-${id}\n`);
  const clock = new BusyClock();
  // The CLI's fresh instance for the read-back: a new store (no cached CA record) from a new container.
  const open = () => timedContainer(config, clock, { store: 'vault', signer: null }).get<CertStore>(CertStore);
  return timedMigration('file → vault-kv', source, open(), open, clock, count);
}

async function migration(count: number, which: string[]): Promise<string[]> {
  const t0 = performance.now();
  const { dir, store: source } = await migrationSource(count);
  const buildS = (performance.now() - t0) / 1000;
  const runs: MigrationRun[] = [];
  try {
    if (which.includes('barbican')) runs.push(await migrateIntoBarbican(source, count));
    if (which.includes('vault')) runs.push(await migrateIntoVault(source, count));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const lines = [
    `### Migration of ${count} certificates (${Math.floor(count / 10)} revoked) from the file store, in-process through migrateStores`,
    '',
    `Source built in ${buildS.toFixed(1)} s (not timed below). Each run: plan, create the CA, copy in batches of 200, raise the CRL number, read every object back through a fresh target instance and compare SHA-256. "HTTP-busy" is the time with at least one request in flight; certctl's own time is the wall time minus that (the file source's reads and hashing included).`,
    '',
    "| migration | wall | HTTP calls | summed request time | HTTP-busy | certctl's own time | **own / HTTP-busy** | verdict (< 10%) | then deleteCa on the target |",
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const own = r.wallMs - r.http.busyMs;
    const share = own / r.http.busyMs;
    lines.push(
      `| ${r.label} | ${s(r.wallMs)} (${(r.count / (r.wallMs / 1000)).toFixed(0)} certs/s) | ${r.http.calls} (${(r.http.calls / r.count).toFixed(2)}/cert) | ${s(r.http.ms)} | ${s(r.http.busyMs)} | ${s(own)} | **${(share * 100).toFixed(1)}%** (${((own / r.http.ms) * 100).toFixed(1)}% of summed) | ${share < 0.1 ? 'PASS' : 'FAIL'} | ${s(r.deleteMs)}, ${r.deleteCalls} calls |`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const which = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const quick = process.argv.includes('--quick');
  const out: string[] = [];
  // The date and machine heading is bench/backends.mjs's.
  if (which.length === 0 || which.includes('barbican')) out.push(...(await barbican(quick ? 50 : 500)), '');
  if (which.length === 0 || which.includes('vault')) {
    // bench/backends.mjs says where this process and the Vault server run.
    const placement = process.env.CERTCTL_BENCH_PLACEMENT ?? `Vault at ${process.env.VAULT_ADDR}, wherever it runs`;
    out.push(...(await vault(quick ? 100 : 1000, quick ? 3 : 7, placement, process.env.CERTCTL_BENCH_VERDICT !== '0')));
  }
  if (which.includes('migrate')) {
    // Into both, or `--migrate-into=barbican` / `--migrate-into=vault`.
    const into =
      process.argv
        .find((a) => a.startsWith('--migrate-into='))
        ?.split('=')[1]
        ?.split(',') ?? [];
    const count = Number(process.argv.find((a) => a.startsWith('--migrate-count='))?.split('=')[1] ?? (quick ? 100 : 1000));
    out.push(...(await migration(count, into.length ? into : ['barbican', 'vault'])), '');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
