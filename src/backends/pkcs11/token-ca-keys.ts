import { X509Certificate, createPrivateKey, randomBytes, verify } from 'node:crypto';
import { inject, injectable } from 'inversify';
import type { CaKeys, NewCaKey } from '../../core/ca-keys';
import { ConflictError, InvalidInputError, NotFoundError, NotSupportedError, PolicyError } from '../../core/errors';
import { keyTypeOf } from '../../core/keys';
import type { CaSpec } from '../../core/signer';
import type { CaRecord, KeyType } from '../../core/types';
import { caSignatureAlgorithm, type DerSigner } from '../../core/x509/signing';
import {
  CKK_EC_EDWARDS,
  generationTemplates,
  importTemplates,
  keyTypeOfObject,
  mechanismsFor,
  privateKeyPolicy,
  publicKeyPolicy,
  readUlong,
  shapeAttributes,
  spkiOfPublicObject,
  tokenDerSigner,
} from './key-shapes';
import { Pkcs11Options } from './options';
import { Pkcs11Token, type ObjectHandle } from './token';

/** inversify token of the {@link Pkcs11Token} a container's key source signs with. */
export const Pkcs11TokenToken = Symbol.for('certctl.pkcs11.Pkcs11Token');

/** A CA key found in the token. */
interface TokenKey {
  handle: ObjectHandle;
  keyType: KeyType;
  label: string;
}

/**
 * CA keys inside a PKCS#11 token (issue #14): generated there as private, sensitive,
 * non-extractable, sign-only objects (or an existing key taken by label), and used through
 * handles, so certctl never holds a CA private key. LocalSigner builds the certificates and CRLs
 * around the token's signatures.
 */
@injectable()
export class TokenCaKeys implements CaKeys {
  constructor(
    @inject(Pkcs11TokenToken) private readonly token: Pkcs11Token,
    @inject(Pkcs11Options) private readonly options: Pkcs11Options,
  ) {}

  get where(): string {
    return `PKCS#11 token "${this.token.label}"`;
  }

  async create(spec: CaSpec): Promise<NewCaKey> {
    const key = spec.existingKeyLabel !== undefined ? this.existing(spec.existingKeyLabel, spec.keyType) : this.generate(spec.name, spec.keyType);
    const spki = this.publicSpki(key);
    if (!spki)
      throw new NotSupportedError(
        `${this.where}: key "${key.label}" has no public key object (same CKA_ID or label) to read its public key from; create the key pair with its public half`,
      );
    return {
      spkiDer: spki,
      signer: this.signerFor(key),
      keyEncrypted: false,
      notes: [
        `CA key ${spec.existingKeyLabel !== undefined ? 'taken from' : 'generated in'} ${this.where} as "${key.label}" (sensitive, not extractable); the store keeps no CA key`,
      ],
    };
  }

  async load(record: CaRecord): Promise<DerSigner> {
    const label = this.options.keyLabel(record.name);
    const key = this.byLabel(label) ?? this.byCertificate(record);
    if (!key) {
      throw new NotFoundError(
        `the key of CA "${record.name}" is not in ${this.where}: no private key labelled "${label}" nor one matching the CA certificate's public key`,
      );
    }
    const signer = this.signerFor(key);
    if (!this.verifies(signer, key.keyType, record)) {
      throw new InvalidInputError(
        `the key "${key.label}" in ${this.where} does not match the certificate of CA "${record.name}"; point pkcs11.key_label at the CA's key`,
      );
    }
    return signer;
  }

  /**
   * Checks, writing nothing, that the token can take CA `record`'s key: no other key under its label.
   * @throws ConflictError when another key holds the label; NotSupportedError when the token lacks the mechanism.
   */
  checkImportable(record: CaRecord): void {
    this.requireMechanisms(record.keyType);
    const label = this.options.keyLabel(record.name);
    const present = this.byLabel(label);
    if (present && !this.verifies(this.signerFor(present), present.keyType, record)) {
      throw new ConflictError(`${this.where} already holds another key labelled "${label}"; remove it or set pkcs11.key_label`);
    }
  }

  /**
   * Imports a software CA key into the token as a private, sensitive, non-extractable, sign-only
   * object (with its public half), then makes a test signature in the token and verifies it with
   * the CA certificate; on a mismatch the new objects are destroyed. Idempotent: a key already
   * there that verifies is kept.
   * @returns notes for the operator.
   * @throws ConflictError when the label holds another key or the test signature fails.
   */
  importKey(record: CaRecord, keyPem: string): string[] {
    this.checkImportable(record);
    const label = this.options.keyLabel(record.name);
    if (this.byLabel(label)) return [`CA "${record.name}": its key is already in ${this.where} as "${label}"`];
    const software = createPrivateKey(keyPem);
    const keyType = keyTypeOf(software, `the key of CA "${record.name}"`);
    const lib = this.token.lib;
    const id = randomBytes(16);
    const [pubShape, privShape] = importTemplates(lib, software, keyType);
    const doing = `importing the key of CA "${record.name}"`;
    const pub = this.token.run(doing, (p, s) => p.C_CreateObject(s, [...pubShape, ...publicKeyPolicy(lib, label, id)]));
    let priv: ObjectHandle | undefined;
    try {
      priv = this.token.run(doing, (p, s) => p.C_CreateObject(s, [...privShape, ...privateKeyPolicy(lib, label, id)]));
      if (!this.verifies(this.signerFor({ handle: priv, keyType, label }), keyType, record)) {
        throw new ConflictError(
          `the key of CA "${record.name}" signed in ${this.where}, but the signature does not verify with the CA certificate; the imported key was removed`,
        );
      }
    } catch (err) {
      for (const h of [priv, pub]) if (h) this.token.run(`removing the half-imported key of CA "${record.name}"`, (p, s) => p.C_DestroyObject(s, h));
      throw err;
    }
    return [
      `CA "${record.name}": key imported into ${this.where} as "${label}" (sensitive, not extractable); a test signature made there verified with the CA certificate`,
    ];
  }

  private generate(ca: string, keyType: KeyType): TokenKey {
    const mechanisms = this.requireMechanisms(keyType);
    const label = this.options.keyLabel(ca);
    if (this.find(label, 'private').length) {
      throw new ConflictError(
        `${this.where} already holds a key labelled "${label}"; make the CA with it (\`certctl init --key-label ${label}\`) or remove it, or set pkcs11.key_label`,
      );
    }
    const lib = this.token.lib;
    const id = randomBytes(16);
    const [pubShape, privShape] = generationTemplates(lib, keyType);
    const pair = this.token.run(`generating a ${keyType} key`, (p, s) =>
      p.C_GenerateKeyPair(
        s,
        { mechanism: mechanisms.generate },
        [...pubShape, ...publicKeyPolicy(lib, label, id)],
        [...privShape, ...privateKeyPolicy(lib, label, id)],
      ),
    );
    return { handle: pair.privateKey, keyType, label };
  }

  /** The key `label` names, checked: the type asked for, sensitive, not extractable, able to sign. */
  private existing(label: string, keyType: KeyType): TokenKey {
    const found = this.find(label, 'private');
    if (found.length === 0) throw new NotFoundError(`${this.where} has no private key labelled "${label}"`);
    if (found.length > 1) throw new ConflictError(`${this.where} has ${found.length} private keys labelled "${label}"; label the CA key uniquely`);
    const lib = this.token.lib;
    const attrs = this.shape(found[0], 'private', `reading key "${label}"`, [lib.CKA_SENSITIVE, lib.CKA_EXTRACTABLE, lib.CKA_SIGN]);
    const actual = keyTypeOfObject(lib, attrs, `key "${label}" in ${this.where}`);
    if (actual !== keyType) throw new InvalidInputError(`key "${label}" in ${this.where} is ${actual}, not ${keyType}; give --key-type ${actual}`);
    const flag = (t: number) => attrs.get(t)?.[0] === 1;
    if (!flag(lib.CKA_SENSITIVE) || flag(lib.CKA_EXTRACTABLE)) {
      throw new PolicyError(
        `key "${label}" in ${this.where} can leave the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true); certctl signs only with keys that cannot`,
      );
    }
    if (!flag(lib.CKA_SIGN)) throw new PolicyError(`key "${label}" in ${this.where} is not allowed to sign (CKA_SIGN false)`);
    this.requireMechanisms(keyType);
    return { handle: found[0], keyType, label };
  }

  /** CKA_KEY_TYPE and the attributes that describe a key of that type (see shapeAttributes). */
  private shape(object: ObjectHandle, klass: 'public' | 'private', doing: string, extra: number[] = []): Map<number, Buffer> {
    const lib = this.token.lib;
    const head = this.token.attributes(object, [lib.CKA_KEY_TYPE, ...extra], doing);
    const ckk = readUlong(head.get(lib.CKA_KEY_TYPE));
    const known = ckk === lib.CKK_RSA || ckk === lib.CKK_EC || ckk === CKK_EC_EDWARDS;
    const rest = known ? this.token.attributes(object, shapeAttributes(lib, klass, ckk), doing) : new Map<number, Buffer>();
    return new Map([...head, ...rest]);
  }

  private requireMechanisms(keyType: KeyType) {
    const m = mechanismsFor(this.token.lib, keyType);
    const missing = [m.generate, m.sign].map((mech, i) => (this.token.offers(mech) ? undefined : m.names[i])).filter(Boolean);
    if (missing.length) {
      throw new NotSupportedError(
        `${this.where} does not offer ${missing.join(' or ')}, which ${keyType} CA keys need; choose another --key-type (ec-p256, ec-p384, rsa-2048/3072/4096)`,
      );
    }
    return m;
  }

  private find(label: string, klass: 'private' | 'public', extra: { type: number; value: Buffer }[] = []): ObjectHandle[] {
    const lib = this.token.lib;
    const cko = klass === 'private' ? lib.CKO_PRIVATE_KEY : lib.CKO_PUBLIC_KEY;
    const template = [{ type: lib.CKA_CLASS, value: cko }, ...(label ? [{ type: lib.CKA_LABEL, value: label }] : []), ...extra];
    return this.token.find(template, `looking for ${klass} key "${label}"`);
  }

  private byLabel(label: string): TokenKey | undefined {
    const found = this.find(label, 'private');
    if (found.length !== 1) return undefined;
    const attrs = this.shape(found[0], 'private', `reading key "${label}"`);
    return { handle: found[0], keyType: keyTypeOfObject(this.token.lib, attrs, `key "${label}" in ${this.where}`), label };
  }

  /** The private key whose public half (same CKA_ID) is the CA certificate's key: for a CA made with `init --key-label`. */
  private byCertificate(record: CaRecord): TokenKey | undefined {
    const lib = this.token.lib;
    const spki = new X509Certificate(record.certPem).publicKey.export({ type: 'spki', format: 'der' });
    for (const pub of this.find('', 'public')) {
      const attrs = this.shape(pub, 'public', 'reading public keys', [lib.CKA_ID, lib.CKA_LABEL]);
      let matches = false;
      try {
        matches = keyTypeOfObject(lib, attrs, 'a public key') === record.keyType && spkiOfPublicObject(lib, attrs, record.keyType, 'a public key').equals(spki);
      } catch {
        continue; // a key of a type certctl does not use: not the CA's
      }
      const id = attrs.get(lib.CKA_ID);
      if (!matches || !id?.length) continue;
      const priv = this.find('', 'private', [{ type: lib.CKA_ID, value: id }]);
      if (priv.length === 1) return { handle: priv[0], keyType: record.keyType, label: attrs.get(lib.CKA_LABEL)?.toString('utf8') ?? '' };
    }
    return undefined;
  }

  /** The SPKI of a key's public object (same CKA_ID, else same label), or undefined when there is none. */
  private publicSpki(key: TokenKey): Buffer | undefined {
    const lib = this.token.lib;
    const id = this.token.attributes(key.handle, [lib.CKA_ID], `reading key "${key.label}"`).get(lib.CKA_ID);
    const pubs = id?.length ? this.find('', 'public', [{ type: lib.CKA_ID, value: id }]) : this.find(key.label, 'public');
    if (pubs.length !== 1) return undefined;
    const attrs = this.shape(pubs[0], 'public', `reading the public key of "${key.label}"`);
    return spkiOfPublicObject(lib, attrs, key.keyType, `the public key of "${key.label}" in ${this.where}`);
  }

  private signerFor(key: TokenKey): DerSigner {
    const mechanism = mechanismsFor(this.token.lib, key.keyType).sign;
    const doing = `signing with key "${key.label}"`;
    return tokenDerSigner(key.keyType, (data, maxLength) => this.token.sign(key.handle, mechanism, data, maxLength, doing));
  }

  /** Whether a test signature made with `signer` verifies with the CA certificate's public key. */
  private verifies(signer: DerSigner, keyType: KeyType, record: CaRecord): boolean {
    const challenge = randomBytes(32);
    const signature = signer.sign(challenge);
    return verify(caSignatureAlgorithm(keyType).hash ?? null, challenge, { key: new X509Certificate(record.certPem).publicKey, dsaEncoding: 'der' }, signature);
  }
}
