import type { KeyObject, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { checkIssued, checkValidAt, FUND_SIGNING_EKU, hasExtendedKeyUsage, loadCaCertificates } from './ca-trust';
import { CertificateError } from './errors';
import { certificateThumbprint, pharmacyIdOf } from './signer';

/**
 * The fund's trust decision for a professional certificate: the shared CA check (issued and
 * signed by one of the fund's CAs, not a CA, ECDSA P-256, valid at the time asked: see
 * ca-trust.ts), a pharmacy identifier as subject CN, and not the fund's own signing
 * certificate. Results are cached per certificate (the check is done once per batch or request,
 * the KeyObject reused for every invoice).
 *
 * The fund decides with it what it accepts (src/fund); the journal asks the same question before
 * it signs, so that it never signs with a certificate the fund would refuse.
 */
export interface TrustedCertificate {
  keyId: string;
  der: Buffer;
  pharmacyId: string;
  publicKey: KeyObject;
  validFrom: number;
  validTo: number;
}

/** The fund's CA(s), and the check of a pharmacist's certificate against them (see above). */
export class TrustStore {
  private readonly cas: X509Certificate[];
  private readonly cache = new Map<string, TrustedCertificate>();

  constructor(caPems: readonly (string | Buffer)[]) {
    this.cas = loadCaCertificates(caPems);
  }

  /** The CA certificates (PEM) in `files`. */
  static fromFiles(files: readonly string[]): TrustStore {
    return new TrustStore(
      files.map((f) => {
        try {
          return fs.readFileSync(f);
        } catch (err) {
          throw new CertificateError('bad-fund-ca', `cannot read the fund CA ${f}: ${(err as Error).message}`);
        }
      }),
    );
  }

  /** Checks `der`; throws CertificateError (code cert-untrusted / cert-expired / …) if refused. */
  check(der: Buffer, at: Date): TrustedCertificate {
    const keyId = certificateThumbprint(der);
    let t = this.cache.get(keyId);
    if (t === undefined) {
      const c = checkIssued(this.cas, der);
      if (hasExtendedKeyUsage(c.cert, FUND_SIGNING_EKU))
        throw new CertificateError('cert-untrusted', "the fund's own signing certificate does not speak for a pharmacy");
      t = { keyId, der: c.der, pharmacyId: pharmacyIdOf(c.cert), publicKey: c.publicKey, validFrom: c.validFrom, validTo: c.validTo };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(keyId, t);
    }
    checkValidAt(t, at);
    return t;
  }
}
