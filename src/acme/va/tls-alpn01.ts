/**
 * tls-alpn-01 (RFC 8737; RFC 8738 for IP identifiers): a TLS handshake with the identifier's own
 * address on the tls-alpn-01 port, SNI = the identifier (an IP's reverse-DNS name), offering only
 * the ALPN protocol acme-tls/1; the certificate presented is checked by alpn-certificate.ts.
 */
import { connect } from 'node:tls';
import { endpoint, resolveAddresses, reverseDnsName } from './addresses';
import { checkAlpnCertificate } from './alpn-certificate';
import { connectTimeout, firstConnecting } from './connect';
import type { Deadline } from './deadline';
import { ChallengeFailure, networkFailure } from './problems';
import type { ChallengeToValidate, ValidationSettings } from './types';

/** The ALPN protocol of RFC 8737 §6.2. */
export const ACME_TLS_1 = 'acme-tls/1';

/** What the handshake gave: the negotiated ALPN protocol and the leaf certificate's DER. */
interface Handshake {
  alpnProtocol: string | false | null;
  certificate?: Buffer;
}

function presented(handshake: Handshake, where: string): Buffer {
  if (handshake.alpnProtocol !== ACME_TLS_1) {
    throw new ChallengeFailure('unauthorized', `${where} did not negotiate the ALPN protocol ${ACME_TLS_1} (got ${handshake.alpnProtocol || 'none'})`);
  }
  if (!handshake.certificate) throw new ChallengeFailure('incorrectResponse', `${where} presented no certificate`);
  return handshake.certificate;
}

/** A TLS handshake with `address:port` offering acme-tls/1 only, with `servername` as SNI. */
function alpnHandshake(address: string, port: number, servername: string, connectTimeoutMs: number, deadline: Deadline): Promise<Handshake> {
  const where = endpoint(address, port);
  // The certificate is self-signed by design: verification is the check of its contents.
  const socket = connect({ host: address, port, servername, ALPNProtocols: [ACME_TLS_1], rejectUnauthorized: false, minVersion: 'TLSv1.2' });
  connectTimeout(socket, connectTimeoutMs, where);
  const handshake = new Promise<Handshake>((resolve, reject) => {
    socket.on('error', (err) => reject(networkFailure(err, where)));
    socket.once('secureConnect', () => {
      // An empty object when the server sent no certificate.
      const certificate = socket.getPeerCertificate().raw as Buffer | undefined;
      resolve({ alpnProtocol: socket.alpnProtocol, certificate });
      socket.destroy();
    });
  });
  return deadline.race(
    handshake,
    () => new ChallengeFailure('connection', `timeout after ${deadline.ms} ms waiting for a TLS handshake with ${where}`),
    () => socket.destroy(),
  );
}

/**
 * Validates a tls-alpn-01 challenge; resolves to the address that answered.
 * @throws ChallengeFailure with the problem when it does not validate; ConfigError for a bad dnsResolver.
 */
export async function validateTlsAlpn01(ch: ChallengeToValidate, settings: ValidationSettings, deadline: Deadline): Promise<string> {
  const addresses = await resolveAddresses(ch.identifier, settings.dnsResolver, deadline);
  const servername = ch.identifier.type === 'ip' ? reverseDnsName(ch.identifier.value) : ch.identifier.value;
  const port = settings.tlsAlpn01Port;
  const { value, address } = await firstConnecting(addresses, deadline, (a, connectMs) => alpnHandshake(a, port, servername, connectMs, deadline));
  const where = endpoint(address, port);
  checkAlpnCertificate(presented(value, where), ch.identifier, ch.keyAuthorization, where);
  return address;
}
