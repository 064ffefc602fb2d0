import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { P256SigningKey } from '../common/p256';
import { b64uEncode } from './base64url';
import { CertificateError, SyncError } from './errors';

/**
 * Who signs invoices and batch manifests: the pharmacist's professional card (ECDSA P-256, key
 * inside the card, PSO: COMPUTE DIGITAL SIGNATURE over a SHA-256 digest), or a software key in
 * tests. The interface is shaped after the card: it signs a 32-byte digest and returns the raw
 * 64-byte r‖s (the JWS ES256 form, RFC 7518 §3.4), so a card implementation is a thin wrapper
 * around one APDU.
 */
export interface Signer {
  /** The signer's X.509 certificate, DER, issued by the fund's CA (subject CN = pharmacy id). */
  readonly certificate: Buffer;
  /** base64url SHA-256 of `certificate`: the JWS `x5t#S256` header (RFC 7515 §4.1.8). */
  readonly keyId: string;
  /**
   * Signs `digest` = SHA-256(message). `message`, when given, is the message whose digest this
   * is: a signer that can only sign messages (node:crypto hashes internally) uses it; a card
   * ignores it. Returns r‖s, 64 bytes.
   */
  sign(digest: Buffer, message?: Buffer): Promise<Buffer>;
}

/** base64url(SHA-256(DER)): the certificate thumbprint used as the JWS key id. */
export function certificateThumbprint(der: Buffer): string {
  return b64uEncode(createHash('sha256').update(der).digest());
}

const PHARMACY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The pharmacy identifier a certificate speaks for: its subject CN. */
export function pharmacyIdOf(cert: X509Certificate): string {
  const cn = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  const id = cn?.slice(3) ?? '';
  if (!PHARMACY_ID.test(id)) {
    throw new CertificateError('bad-certificate-subject', `certificate subject CN ${JSON.stringify(id)} is not a pharmacy identifier`);
  }
  return id;
}

/** Reads a certificate given as PEM or DER bytes; returns the DER. */
export function certificateDer(pemOrDer: Buffer | string): Buffer {
  try {
    return new X509Certificate(pemOrDer).raw;
  } catch (err) {
    throw new CertificateError('bad-certificate', `not an X.509 certificate: ${(err as Error).message}`);
  }
}

/**
 * A signer holding a P-256 private key in memory. TEST and integration use only: the real key
 * lives on the professional card (and the fund's in its own key store; the reference fund signs
 * with the TEST ONLY fixtures/keys/fund-signing.key.pem). With `message` it signs through OpenSSL;
 * with a digest alone it signs the digest the way the card does (`P256SigningKey`). Both verify as
 * the same ES256 JWS.
 */
export class SoftwareSigner implements Signer {
  readonly certificate: Buffer;
  readonly keyId: string;
  private readonly key: KeyObject;
  private readonly digestKey: P256SigningKey;

  constructor(privateKey: KeyObject, certificate: Buffer) {
    if (
      privateKey.type !== 'private' ||
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new SyncError('bad-signing-key', 'the signing key must be an ECDSA P-256 private key');
    }
    const cert = new X509Certificate(certificate);
    const certSpki = cert.publicKey.export({ format: 'der', type: 'spki' });
    const keySpki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    if (!certSpki.equals(keySpki)) throw new SyncError('key-certificate-mismatch', 'the private key does not match the certificate');
    this.key = privateKey;
    this.digestKey = P256SigningKey.fromKeyObject(privateKey);
    this.certificate = cert.raw;
    this.keyId = certificateThumbprint(cert.raw);
  }

  /** The pharmacy the certificate speaks for (throws for a certificate that is not a pharmacy's, e.g. the fund's). */
  get pharmacyId(): string {
    return pharmacyIdOf(new X509Certificate(this.certificate));
  }

  /** From PEM (or DER certificate) text; the key may be PKCS#8 or SEC1 PEM. */
  static fromPem(keyPem: string | Buffer, certPemOrDer: string | Buffer): SoftwareSigner {
    let key: KeyObject;
    try {
      key = createPrivateKey(keyPem);
    } catch (err) {
      throw new SyncError('bad-signing-key', `cannot read the private key: ${(err as Error).message}`);
    }
    return new SoftwareSigner(key, certificateDer(certPemOrDer));
  }

  /** From a PEM key file and a PEM or DER certificate file. */
  static fromFiles(keyPath: string, certPath: string): SoftwareSigner {
    return SoftwareSigner.fromPem(fs.readFileSync(keyPath), fs.readFileSync(certPath));
  }

  async sign(digest: Buffer, message?: Buffer): Promise<Buffer> {
    return this.signSync(digest, message);
  }

  /** Synchronous form (bulk test data). */
  signSync(digest: Buffer, message?: Buffer): Buffer {
    if (digest.length !== 32) throw new SyncError('bad-digest', `a SHA-256 digest is 32 bytes, got ${digest.length}`);
    if (message !== undefined && createHash('sha256').update(message).digest().equals(digest)) {
      return cryptoSign('sha256', message, { key: this.key, dsaEncoding: 'ieee-p1363' });
    }
    return this.digestKey.signDigest(digest);
  }
}
