import type { JWK } from 'jose';
import { ConflictError } from '../core/errors';
import type { AcmeContext, AcmeRequest } from './context';
import { parseJws, thumbprint, verifyEab, verifyJws } from './jws';
import { AcmeError } from './problems';
import type { AccountRecord } from './records';
import { newId } from './state';

interface NewAccountPayload {
  contact?: unknown;
  termsOfServiceAgreed?: unknown;
  onlyReturnExisting?: unknown;
  externalAccountBinding?: unknown;
}

/**
 * newAccount (RFC 8555 §7.3): the account of the JWS's key, found (200) or created (201);
 * `onlyReturnExisting` finds only; an External Account Binding is checked and, when the CA
 * requires one, demanded.
 * @throws AcmeError accountDoesNotExist, externalAccountRequired, invalidContact, malformed, unauthorized.
 */
export async function newAccount(acme: AcmeContext, req: AcmeRequest): Promise<{ account: AccountRecord; created: boolean }> {
  const body = (req.payload ?? {}) as NewAccountPayload;
  const state = acme.state(req.ca);
  const print = await thumbprint(req.jwk);
  const existing = await state.accountIdOfKey(req.ca, print);
  if (existing) {
    const account = await state.account(existing);
    if (account?.value.status === 'deactivated') throw new AcmeError('unauthorized', 'the account of this key is deactivated');
    if (account) return { account: account.value, created: false };
  }
  if (body.onlyReturnExisting === true) throw new AcmeError('accountDoesNotExist', 'no account has this key');
  if (acme.options.termsOfService && body.termsOfServiceAgreed !== true) {
    throw new AcmeError('userActionRequired', `agree to the terms of service (${acme.options.termsOfService}) with termsOfServiceAgreed: true`, {
      status: 403,
    });
  }
  let eabKid: string | undefined;
  if (body.externalAccountBinding !== undefined) {
    eabKid = await verifyEab(body.externalAccountBinding, req.jwk, `${req.urls.base}/new-account`, async (kid) => {
      const key = await state.eabKey(kid);
      if (!key || key.value.ca !== req.ca) return undefined;
      if (key.value.accountId) throw new AcmeError('unauthorized', `the External Account Binding key ${kid} is already bound to an account`);
      return Buffer.from(key.value.hmacKey, 'base64url');
    });
  } else if (acme.options.externalAccountRequired) {
    throw new AcmeError('externalAccountRequired', 'this CA requires an External Account Binding; ask its operator for a key (`certctl acme eab create`)');
  }
  const account: AccountRecord = {
    id: newId(),
    ca: req.ca,
    status: 'valid',
    contact: parseContact(body.contact),
    jwk: publicJwk(req.jwk),
    thumbprint: print,
    termsOfServiceAgreed: body.termsOfServiceAgreed === true,
    ...(eabKid ? { eabKid } : {}),
    createdAt: new Date().toISOString(),
  };
  if (eabKid) await bindEabKey(acme, req.ca, eabKid, account.id);
  try {
    await state.createAccount(account);
  } catch (err) {
    // Another request with the same key won the race: its account is the answer.
    const id = err instanceof ConflictError ? await state.accountIdOfKey(req.ca, print) : undefined;
    const winner = id ? await state.account(id) : undefined;
    if (!winner) throw err;
    return { account: winner.value, created: false };
  }
  return { account, created: true };
}

/** An EAB key binds one account: claimed by compare-and-set. @throws AcmeError unauthorized when it is bound already. */
async function bindEabKey(acme: AcmeContext, ca: string, kid: string, accountId: string): Promise<void> {
  const state = acme.state(ca);
  const key = await state.eabKey(kid);
  if (!key || key.value.accountId) throw new AcmeError('unauthorized', `the External Account Binding key ${kid} is already bound to an account`);
  await state.updateEabKey(kid, { ...key.value, accountId }, key.version).catch(() => {
    throw new AcmeError('unauthorized', `the External Account Binding key ${kid} is already bound to an account`);
  });
}

/**
 * POST to an account URL (RFC 8555 §7.3.2, §7.3.6): POST-as-GET reads it; `contact` updates it;
 * `status: "deactivated"` deactivates it for good.
 * @throws AcmeError unauthorized for another account's URL; malformed for other changes.
 */
export async function updateAccount(acme: AcmeContext, req: AcmeRequest, id: string): Promise<AccountRecord> {
  const account = req.account!;
  if (account.value.id !== id) throw new AcmeError('unauthorized', 'the JWS kid is not this account');
  if (req.payload === undefined) return account.value;
  const body = req.payload as { contact?: unknown; status?: unknown };
  let next: AccountRecord = account.value;
  if (body.contact !== undefined) next = { ...next, contact: parseContact(body.contact) };
  if (body.status !== undefined) {
    if (body.status !== 'deactivated') throw new AcmeError('malformed', 'an account can only be moved to status "deactivated"');
    next = { ...next, status: 'deactivated' };
  }
  return (await acme.state(req.ca).updateAccount(next, account.version)).value;
}

/**
 * keyChange (RFC 8555 §7.3.5): the outer JWS by the account, the inner by the new key, naming the
 * account and its old key; the new key must not have an account.
 * @throws AcmeError malformed / unauthorized; 409 with the other account's URL when the new key is taken.
 */
export async function changeKey(acme: AcmeContext, req: AcmeRequest): Promise<AccountRecord> {
  const account = req.account!;
  const inner = parseJws(req.payload, req.header.url as string);
  if (!inner.header.jwk) throw new AcmeError('malformed', 'the inner JWS of keyChange must carry the new key as jwk');
  const body = (await verifyJws(inner, inner.header.jwk)) as { account?: unknown; oldKey?: JWK } | undefined;
  if (body?.account !== req.header.kid) throw new AcmeError('malformed', 'keyChange: the inner payload must name this account');
  if (!body?.oldKey || (await thumbprint(body.oldKey)) !== account.value.thumbprint)
    throw new AcmeError('unauthorized', 'keyChange: oldKey is not the account key');
  const print = await thumbprint(inner.header.jwk);
  const state = acme.state(req.ca);
  const taken = await state.accountIdOfKey(req.ca, print);
  if (taken) throw new AcmeError('malformed', 'the new key already belongs to an account', { status: 409, headers: { location: req.urls.account(taken) } });
  const next = { ...account.value, jwk: publicJwk(inner.header.jwk), thumbprint: print };
  await state.changeAccountKey(next, account.version, account.value.thumbprint);
  return next;
}

function parseContact(raw: unknown): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((c) => typeof c !== 'string')) throw new AcmeError('invalidContact', 'contact must be a list of mailto: URLs');
  for (const c of raw as string[]) {
    if (!/^mailto:[^@\s,]+@[^@\s,]+$/.test(c))
      throw new AcmeError(c.startsWith('mailto:') ? 'invalidContact' : 'unsupportedContact', `contact "${c}" is not a mailto: URL of one address`);
  }
  return raw as string[];
}

/** Only the public members of a JWK are kept. */
function publicJwk(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as unknown as JWK;
}
