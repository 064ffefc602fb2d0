import * as fs from 'node:fs';
import { testKeyFile } from '../common/paths';
import { checkIssued, checkValidAt, FUND_SIGNING_EKU, hasExtendedKeyUsage, loadCaCertificates, type IssuedCertificate } from './ca-trust';
import { SyncError } from './errors';
import { isLoopbackHost } from '../common/loopback';
import { parseCompact, verifySignature, type JwsType } from './jws';
import { downlinkSignatureSchema, signedAnswerSchema, type DownlinkSignature } from './protocol';
import { sha256b64u } from './request-auth';

/**
 * The terminal's check of what the fund signs (docs/sync.md, "Authentication"): the fund's
 * signing certificate must chain to the fund CA the terminal is configured with (the shared
 * check in ca-trust.ts), carry the fund-signing extended key usage (a pharmacist's card, from
 * the same CA, does not), and be valid now; the JWS must be of the expected type, name that
 * certificate and verify. Nothing the fund says is acted on before this passes.
 */

export interface VerifiedAnswer {
  /** The signed payload (canonical JSON, parsed). */
  payload: unknown;
  /** What to keep as proof: the compact JWS and the fund's certificate (DER). */
  jws: string;
  certificate: Buffer;
}

/** Checks the fund's signed answers against the fund CA the terminal is configured with. */
export class FundVerifier {
  private readonly cas;
  private readonly now: () => Date;
  private readonly cache = new Map<string, IssuedCertificate>();

  constructor(caPems: readonly (string | Buffer)[], options: { now?: () => Date } = {}) {
    this.cas = loadCaCertificates(caPems);
    this.now = options.now ?? (() => new Date());
  }

  /** A verifier trusting the CA certificates (PEM) in `files`. */
  static fromFiles(files: readonly string[], options: { now?: () => Date } = {}): FundVerifier {
    return new FundVerifier(
      files.map((f) => fs.readFileSync(f)),
      options,
    );
  }

  /** @internal Verifies a compact JWS of type `typ` signed with the certificate `certificateB64` (base64 DER). */
  verify(jws: string, certificateB64: string, typ: JwsType, what: string): VerifiedAnswer {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(certificateB64))
      throw new SyncError('bad-fund-answer', `${what}: the fund's certificate is not base64`);
    const der = Buffer.from(certificateB64, 'base64');
    const cert = this.certificate(der, what);
    let p;
    try {
      p = parseCompact(jws, what, typ);
    } catch (err) {
      throw new SyncError('bad-fund-signature', `${what}: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (p.header['x5t#S256'] !== cert.keyId)
      throw new SyncError('bad-fund-signature', `${what}: signed with another key than the certificate sent with it`);
    if (!verifySignature(p.signingInput, p.signature, cert.publicKey))
      throw new SyncError('bad-fund-signature', `${what}: the fund's signature does not verify`);
    return { payload: p.payload, jws, certificate: cert.der };
  }

  /** @internal Verifies a JSON answer body `{ jws, certificate }`. */
  verifyAnswer(body: Buffer, typ: JwsType, what: string): VerifiedAnswer {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new SyncError('bad-fund-answer', `${what}: the fund answered with something that is not JSON`);
    }
    const r = signedAnswerSchema.safeParse(json);
    if (!r.success) throw new SyncError('bad-fund-answer', `${what}: expected a signed answer {jws, certificate}`);
    return this.verify(r.data.jws, r.data.certificate, typ, what);
  }

  /**
   * @internal
   * Verifies a downlink document: the signature header must name this document and its ETag
   * and carry the SHA-256 of exactly these bytes.
   */
  verifyDownlink(
    name: string,
    body: Buffer,
    etag: string,
    signature: string | undefined,
    certificateB64: string | undefined,
  ): VerifiedAnswer {
    const what = `downlink ${name}`;
    if (signature === undefined || certificateB64 === undefined)
      throw new SyncError('bad-fund-signature', `${what}: the fund sent the document unsigned`);
    const v = this.verify(signature, certificateB64, 'chifa-downlink+jws', what);
    const r = downlinkSignatureSchema.safeParse(v.payload);
    if (!r.success) throw new SyncError('bad-fund-signature', `${what}: the signature payload is malformed`);
    const s: DownlinkSignature = r.data;
    if (s.name !== name) throw new SyncError('bad-fund-signature', `${what}: the signature is for ${JSON.stringify(s.name)}`);
    if (s.etag !== etag) throw new SyncError('bad-fund-signature', `${what}: the signature is for version ${s.etag}, not ${etag}`);
    if (s.sha256 !== sha256b64u(body)) throw new SyncError('bad-fund-signature', `${what}: the document differs from what the fund signed`);
    return v;
  }

  private certificate(der: Buffer, what: string): IssuedCertificate {
    const key = der.toString('base64');
    let c = this.cache.get(key);
    if (c === undefined) {
      try {
        c = checkIssued(this.cas, der);
      } catch (err) {
        throw new SyncError('fund-cert-untrusted', `${what}: the fund's signing certificate: ${(err as Error).message}`, undefined, {
          cause: err,
        });
      }
      if (!hasExtendedKeyUsage(c.cert, FUND_SIGNING_EKU))
        throw new SyncError(
          'fund-cert-untrusted',
          `${what}: signed by ${c.cert.subject.replace(/\n/g, ', ')}, which is not the fund's signing key`,
        );
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(key, c);
    }
    try {
      checkValidAt(c, this.now());
    } catch (err) {
      throw new SyncError('fund-cert-expired', `${what}: the fund's signing certificate: ${(err as Error).message}`);
    }
    return c;
  }
}

/**
 * The fund CA to verify the fund's answers with: the given PEM file; else, only for a fund on a
 * loopback address (the reference fund or the demo on this machine), the TEST ONLY
 * fixtures/keys/fund-ca.pem, reported as such so the caller can say so. Any other fund needs it.
 */
export function fundCaFor(fundUrl: string, caFile: string | undefined, option = '--fund-signer-ca'): { file: string; testOnly: boolean } {
  if (caFile !== undefined) return { file: caFile, testOnly: false };
  let host: string;
  try {
    host = new URL(fundUrl).hostname;
  } catch {
    throw new SyncError('bad-fund-url', `--fund: ${JSON.stringify(fundUrl)} is not a URL`, 'fund');
  }
  if (!isLoopbackHost(host))
    throw new SyncError(
      'no-fund-signer-ca',
      `${option}: the PEM of the fund CA that issues the fund's signing certificate is required for ${host} (the TEST ONLY default is for a fund on loopback)`,
      option.replace(/^--/, ''),
    );
  return { file: testKeyFile('fund-ca.pem'), testOnly: true };
}
