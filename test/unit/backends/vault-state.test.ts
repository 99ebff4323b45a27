/**
 * The Vault store's state records when another writer wins a check-and-set race: the fake
 * transport below only injects that fault (Vault's 400 "check-and-set parameter did not match");
 * the claims themselves run against the real Vault-API server in test/integration.
 */
import { VaultClient } from '../../../src/backends/vault/client';
import { VaultKvStore } from '../../../src/backends/vault/vault-kv-store';
import type { HttpResponse } from '../../../src/backends/http/transport';
import { ConflictError } from '../../../src/core/errors';
import { SCRIPTED_VAULT_OPTIONS, scriptedTransport } from '../../support/scripted-transport';

const options = SCRIPTED_VAULT_OPTIONS;
const PATH = 'https://vault.example:8200/v1/secret/data/certctl/_state/enroll-tokens/abc';
const CAS_MISMATCH: Partial<HttpResponse> = { status: 400, data: { errors: ['check-and-set parameter did not match the current version'] } };
const entry = (version: number, claimedAt?: string) => ({
  data: { data: { value: { n: 1 }, expiresAt: '2999-01-01T00:00:00.000Z', ...(claimedAt ? { claimedAt } : {}) }, metadata: { version } },
});

/** Answers in order; records what was sent. A fake only to inject the lost race. */
const script = scriptedTransport;

describe('Vault state records under a lost check-and-set', () => {
  it('a claim writes with cas = the version it read; losing to another claim it reads again and reports "used"', async () => {
    const t = script([{ data: entry(1) }, CAS_MISMATCH, { data: entry(2, '2030-01-01T00:00:00.000Z') }]);
    const store = new VaultKvStore(new VaultClient(t, options), options, 0);
    const outcome = await store.claimState('enroll-tokens', 'abc');
    expect(outcome).toMatchObject({ claimed: false, reason: 'used' });
    expect(t.sent.map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${PATH}`, `POST ${PATH}`, `GET ${PATH}`]);
    expect(t.sent[1].body).toMatchObject({ options: { cas: 1 }, data: { value: { n: 1 }, claimedAt: expect.any(String) } });
  });

  it('a claim that lost to an update (still unclaimed) tries again with the new version and wins', async () => {
    const t = script([{ data: entry(1) }, CAS_MISMATCH, { data: entry(2) }, { data: { data: { version: 3 } } }]);
    const store = new VaultKvStore(new VaultClient(t, options), options, 0);
    expect(await store.claimState('enroll-tokens', 'abc')).toMatchObject({ claimed: true, record: { version: 3 } });
    expect(t.sent[3].body).toMatchObject({ options: { cas: 2 } });
  });

  it('create writes with cas 0 and an existing id is a ConflictError; update sends the version it was given', async () => {
    const t = script([CAS_MISMATCH, { data: entry(4) }, CAS_MISMATCH]);
    const store = new VaultKvStore(new VaultClient(t, options), options, 0);
    await expect(store.createState('enroll-tokens', 'abc', {})).rejects.toBeInstanceOf(ConflictError);
    expect(t.sent[0].body).toMatchObject({ options: { cas: 0 } });
    await expect(store.updateState('enroll-tokens', 'abc', { n: 2 }, 4)).rejects.toBeInstanceOf(ConflictError);
    expect(t.sent[2].body).toMatchObject({ options: { cas: 4 }, data: { value: { n: 2 } } });
  });
});
