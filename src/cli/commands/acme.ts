import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { parseSerial } from '../../core/serial';
import { action, emit, note, type Runtime } from '../runtime';

/** The ACME state of the configured store (`certctl serve` reads the same records). */
function acmeState(rt: Runtime) {
  const { keepsState } = require('../../core/cert-store') as typeof import('../../core/cert-store');
  const { NotSupportedError } = require('../../core/errors') as typeof import('../../core/errors');
  const { AcmeState } = require('../../acme/state') as typeof import('../../acme/state');
  const store = rt.store();
  if (!keepsState(store)) throw new NotSupportedError(`the ${store.kind} store keeps no server state, so it cannot serve ACME; use the file or vault store`);
  return new AcmeState(store);
}

/** `certctl acme eab create`, `certctl acme renew-early`: the operator's side of `certctl serve`'s ACME. */
export function registerAcme(program: Command): void {
  const acme = program.command('acme').description('ACME of `certctl serve`: External Account Binding keys, renewal information');
  acme
    .command('eab')
    .description('External Account Binding keys (RFC 8555 §7.3.4)')
    .command('create')
    .description('make a key id and HMAC key that binds one ACME account to this CA (--ca)')
    .addHelpText(
      'after',
      `
The HMAC key is printed once, on stdout; certctl keeps it in the store for the server. Give both
to the ACME client, e.g. certbot --eab-kid KID --eab-hmac-key KEY, lego --eab --kid KID --hmac KEY.
A CA demands a binding when certctl.yaml says acme: {external_account_required: true}.`,
    )
    .action(
      action(async (rt, globals) => {
        const ca = (await rt.service.requireCa()).name;
        const kid = randomBytes(12).toString('base64url');
        const hmacKey = randomBytes(32).toString('base64url');
        await acmeState(rt).createEabKey(kid, { ca, hmacKey, createdAt: new Date().toISOString() });
        note(globals, `External Account Binding key for CA "${ca}"; it binds one account`);
        emit(globals, { ca, kid, hmacKey }, `key id:   ${kid}\nhmac key: ${hmacKey}`);
      }),
    );
  acme
    .command('renew-early')
    .description('tell ACME clients to renew a certificate now (its renewalInfo window moves to now, RFC 9773)')
    .argument('<serial>', 'as `openssl x509 -serial` prints it')
    .action(
      action(async (rt, globals, serialText: string) => {
        const serial = parseSerial(serialText);
        const found = await rt.service.requireCertificate(serial);
        const now = Date.now();
        const window = { start: new Date(now - 3600_000).toISOString(), end: new Date(now - 60_000).toISOString() };
        await acmeState(rt).setRenewalOverride(found.ca.name, serial, window, { expiresAt: new Date(found.record.notAfter) });
        note(globals, `clients that check renewalInfo (certbot, lego) renew ${serial} at their next run`);
        emit(globals, { serial, suggestedWindow: window });
      }),
    );
}
