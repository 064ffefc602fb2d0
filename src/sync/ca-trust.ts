import { X509Certificate, type KeyObject } from 'node:crypto';
import { CertificateError } from './errors';
import { certificateThumbprint } from './signer';

/**
 * The one check of a certificate against the fund's CA(s), shared by both ends: the fund checks
 * the pharmacists' card certificates with it (trust.ts), the terminal checks the fund's
 * signing certificate (fund-verifier.ts). A certificate is accepted when it is issued and signed
 * by one of the CAs (which must be CA certificates, RFC 5280 §4.2.1.9), is not itself a CA, has
 * an ECDSA P-256 key, and is valid at the time asked (within its own and its issuer's validity).
 */

/** Extended key usage of the fund's signing certificate (ITU-T X.667 UUID arc: no registry). */
export const FUND_SIGNING_EKU = '2.25.300306956012372355258226365261619428337';

export interface IssuedCertificate {
  keyId: string;
  der: Buffer;
  cert: X509Certificate;
  publicKey: KeyObject;
  /** The intersection of the certificate's and its issuer's validity, ms since the epoch. */
  validFrom: number;
  validTo: number;
}

/** Parses the CA certificates in PEM text (several per text allowed); refuses a non-CA. */
export function loadCaCertificates(caPems: readonly (string | Buffer)[]): X509Certificate[] {
  const cas = caPems.flatMap((pem) => splitPem(pem)).map((p) => new X509Certificate(p));
  if (cas.length === 0) throw new CertificateError('no-fund-ca', 'no fund CA certificate was given');
  for (const ca of cas) if (!ca.ca) throw new CertificateError('bad-fund-ca', `${ca.subject.replace(/\n/g, ', ')} is not a CA certificate`);
  return cas;
}

/** Checks issuer, signature, CA flag and key type (not the dates: see `checkValidAt`). */
export function checkIssued(cas: readonly X509Certificate[], der: Buffer): IssuedCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new CertificateError('bad-certificate', `not an X.509 certificate: ${(err as Error).message}`);
  }
  const issuer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer)
    throw new CertificateError('cert-untrusted', `certificate ${cert.subject.replace(/\n/g, ', ')} is not issued by the fund's CA`);
  if (cert.ca) throw new CertificateError('cert-untrusted', 'a CA certificate cannot sign documents');
  const details = cert.publicKey.asymmetricKeyDetails;
  if (cert.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1')
    throw new CertificateError('cert-untrusted', 'the certificate key is not ECDSA P-256');
  return {
    keyId: certificateThumbprint(Buffer.from(cert.raw)),
    der: Buffer.from(cert.raw),
    cert,
    publicKey: cert.publicKey,
    validFrom: Math.max(Date.parse(cert.validFrom), Date.parse(issuer.validFrom)),
    validTo: Math.min(Date.parse(cert.validTo), Date.parse(issuer.validTo)),
  };
}

/** Throws CertificateError('cert-expired') unless `at` falls inside the validity window. */
export function checkValidAt(c: { validFrom: number; validTo: number }, at: Date): void {
  const ms = at.getTime();
  if (!(ms >= c.validFrom && ms <= c.validTo)) {
    throw new CertificateError(
      'cert-expired',
      `the certificate is not valid at ${at.toISOString()} (valid ${new Date(c.validFrom).toISOString()} to ${new Date(c.validTo).toISOString()})`,
    );
  }
}

/** True when the certificate's extended key usage lists `oid`. */
export function hasExtendedKeyUsage(cert: X509Certificate, oid: string): boolean {
  // node names the extended key usage list `keyUsage`.
  return (cert.keyUsage ?? []).includes(oid);
}

function splitPem(pem: string | Buffer): string[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return blocks ?? [];
}
