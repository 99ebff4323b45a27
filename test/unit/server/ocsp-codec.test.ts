/**
 * The OCSP request reader (the hand-read hot path and the @peculiar/asn1-ocsp parse agree, on
 * requests openssl builds) and the CRL date reader.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../../src/core/errors';
import { buildCrlDer } from '../../../src/core/x509/crl-builder';
import { encodeName } from '../../../src/core/x509/fields';
import { toPem } from '../../../src/core/x509/pem';
import { createDerSigner } from '../../../src/core/x509/signing';
import { parseOcspRequest, quickCertId } from '../../../src/server/revocation/ocsp-request';
import { servedCrl } from '../../../src/server/revocation/crl-cache';
import { statusResponse } from '../../../src/server/revocation/ocsp-response';
import { OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { opensslEcReq } from '../../support/cli';
import { nodeKeyPair } from '../../support/test-keys';

describe('OCSP requests as openssl sends them', () => {
  let dir: string;
  const request = (args: string[]) => {
    const out = join(dir, 'req.der');
    execFileSync('openssl', ['ocsp', '-issuer', join(dir, 'ca.pem'), ...args, '-reqout', out]);
    return readFileSync(out);
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certctl-ocsp-req-'));
    opensslEcReq(dir, join(dir, 'ca.key'), ['-x509', '-out', join(dir, 'ca.pem'), '-subj', '/CN=Req CA', '-days', '2']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a one-certificate request without nonce on the hot path, as the full parse does', () => {
    const der = request(['-serial', '0x00A1B2', '-no_nonce']);
    const parsed = parseOcspRequest(der);
    expect(parsed.nonce).toBeUndefined();
    expect(parsed.certIds).toHaveLength(1);
    expect(quickCertId(der)?.equals(parsed.certIds[0].der)).toBe(true);
    expect(parsed.certIds[0]).toMatchObject({ hashAlgorithm: '1.3.14.3.2.26', serial: 'A1B2' });
    expect(parsed.certIds[0].issuerNameHash).toHaveLength(20);
  });

  it('leaves a nonce, several certificates or another hash to the full parse', () => {
    const withNonce = request(['-serial', '0x01']);
    expect(quickCertId(withNonce)).toBeUndefined();
    const parsed = parseOcspRequest(withNonce);
    // openssl's nonce: an OCTET STRING of 16 random octets inside extnValue.
    expect(parsed.nonce?.subarray(0, 2).toString('hex')).toBe('0410');
    const two = request(['-serial', '0x01', '-serial', '0x02', '-no_nonce']);
    expect(quickCertId(two)).toBeUndefined();
    expect(parseOcspRequest(two).certIds.map((c) => c.serial)).toEqual(['01', '02']);
    const sha256 = parseOcspRequest(request(['-sha256', '-serial', '0x03', '-no_nonce']));
    expect(sha256.certIds[0]).toMatchObject({ hashAlgorithm: '2.16.840.1.101.3.4.2.1', serial: '03' });
    expect(sha256.certIds[0].issuerKeyHash).toHaveLength(32);
  });

  it('refuses what is not an OCSP request', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from('3003020101', 'hex'), Buffer.from('not DER at all')]) {
      expect(quickCertId(bad)).toBeUndefined();
      expect(() => parseOcspRequest(bad)).toThrow(InvalidInputError);
    }
  });

  it('has fixed, unsigned error answers (RFC 6960 2.3)', () => {
    expect(statusResponse(OCSPResponseStatus.malformedRequest).toString('hex')).toBe('30030a0101');
    expect(statusResponse(OCSPResponseStatus.unauthorized).toString('hex')).toBe('30030a0106');
  });
});

describe('servedCrl', () => {
  it('reads thisUpdate (UTCTime) and nextUpdate (GeneralizedTime past 2049) of a certctl CRL', () => {
    const signer = createDerSigner(nodeKeyPair('ec-p256').privateKey);
    const thisUpdate = new Date('2026-01-02T03:04:05Z');
    const nextUpdate = new Date('2051-06-07T08:09:10Z');
    const der = buildCrlDer(
      { issuerDer: encodeName([{ type: 'CN', value: 'X' }]), thisUpdate, nextUpdate, crlNumber: 7n, authorityKeyId: Buffer.alloc(20, 1), entries: [] },
      signer,
    );
    const crl = servedCrl(toPem(der, 'X509 CRL'));
    expect(crl.der.equals(der)).toBe(true);
    expect(crl.thisUpdate.toISOString()).toBe(thisUpdate.toISOString());
    expect(crl.nextUpdate?.toISOString()).toBe(nextUpdate.toISOString());
    expect(crl.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });
});
