import { X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { CertificateError } from '../sync/errors';
import { certificateThumbprint, pharmacyIdOf } from '../sync/signer';

/**
 * The fund's trust decision for a professional certificate (node's X509 support): issued and
 * signed by one of the fund's CAs (which must be CA certificates), not itself a CA, an ECDSA
 * P-256 key, and valid at the time asked. Results are cached per certificate (the check is done
 * once per batch, the KeyObject reused for every invoice).
 */
export interface TrustedCertificate {
  keyId: string;
  der: Buffer;
  pharmacyId: string;
  publicKey: KeyObject;
  validFrom: number;
  validTo: number;
}

export class TrustStore {
  private readonly cas: X509Certificate[];
  private readonly cache = new Map<string, TrustedCertificate>();

  constructor(caPems: readonly (string | Buffer)[]) {
    this.cas = caPems.flatMap((pem) => splitPem(pem)).map((p) => new X509Certificate(p));
    if (this.cas.length === 0) throw new CertificateError('no-fund-ca', 'the fund needs at least one CA certificate');
    for (const ca of this.cas)
      if (!ca.ca) throw new CertificateError('bad-fund-ca', `${ca.subject.replace(/\n/g, ', ')} is not a CA certificate`);
  }

  static fromFiles(files: readonly string[]): TrustStore {
    return new TrustStore(files.map((f) => fs.readFileSync(f)));
  }

  /** Checks `der`; throws CertificateError (code cert-untrusted / cert-expired / …) if refused. */
  check(der: Buffer, at: Date): TrustedCertificate {
    const keyId = certificateThumbprint(der);
    let t = this.cache.get(keyId);
    if (t === undefined) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(der);
      } catch (err) {
        throw new CertificateError('bad-certificate', `not an X.509 certificate: ${(err as Error).message}`);
      }
      const issuer = this.cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
      if (!issuer)
        throw new CertificateError('cert-untrusted', `certificate ${cert.subject.replace(/\n/g, ', ')} is not issued by the fund's CA`);
      if (cert.ca) throw new CertificateError('cert-untrusted', 'a CA certificate cannot sign invoices');
      const details = cert.publicKey.asymmetricKeyDetails;
      if (cert.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1')
        throw new CertificateError('cert-untrusted', 'the certificate key is not ECDSA P-256');
      const validFrom = Math.max(Date.parse(cert.validFrom), Date.parse(issuer.validFrom));
      const validTo = Math.min(Date.parse(cert.validTo), Date.parse(issuer.validTo));
      t = { keyId, der: Buffer.from(cert.raw), pharmacyId: pharmacyIdOf(cert), publicKey: cert.publicKey, validFrom, validTo };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(keyId, t);
    }
    const ms = at.getTime();
    if (!(ms >= t.validFrom && ms <= t.validTo)) {
      throw new CertificateError(
        'cert-expired',
        `the certificate is not valid at ${at.toISOString()} (valid ${new Date(t.validFrom).toISOString()} to ${new Date(t.validTo).toISOString()})`,
      );
    }
    return t;
  }
}

function splitPem(pem: string | Buffer): string[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return blocks ?? [];
}
