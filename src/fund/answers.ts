import { X509Certificate } from 'node:crypto';
import { testKeyFile } from '../common/paths';
import { FUND_SIGNING_EKU, hasExtendedKeyUsage } from '../sync/ca-trust';
import { SyncError } from '../sync/errors';
import { signCompact, type JwsType } from '../sync/jws';
import type { DownlinkSignature, SignedAnswer } from '../sync/protocol';
import { sha256b64u } from '../sync/request-auth';
import { SoftwareSigner, type Signer } from '../sync/signer';
import type { DownlinkDocument } from './downlink';

/**
 * What the fund signs, with its own key (docs/sync.md, "Authentication"): every JSON answer is
 * sent as `{ jws, certificate }`, the answer being the JWS's canonical payload; a downlink
 * document travels as it is, with a signature over its name, ETag and SHA-256 in a header
 * (signed once per version). One signature per answer: a batch acknowledgement is one JWS over
 * all its per-invoice results.
 */
export class AnswerSigner {
  readonly signer: Signer;
  /** The fund's signing certificate, base64 DER, as sent with every signed answer. */
  readonly certificate: string;
  private readonly downlink = new Map<string, Promise<string>>();

  constructor(signer: Signer) {
    const cert = new X509Certificate(signer.certificate);
    if (!hasExtendedKeyUsage(cert, FUND_SIGNING_EKU))
      throw new SyncError(
        'bad-fund-signing-cert',
        `${cert.subject.replace(/\n/g, ', ')} lacks the fund-signing extended key usage ${FUND_SIGNING_EKU}: terminals would refuse its signatures`,
      );
    this.signer = signer;
    this.certificate = signer.certificate.toString('base64');
  }

  /** The TEST ONLY key and certificate of fixtures/keys (the reference fund's default). */
  static testOnly(): AnswerSigner {
    return new AnswerSigner(SoftwareSigner.fromFiles(testKeyFile('fund-signing.key.pem'), testKeyFile('fund-signing.cert.pem')));
  }

  async answer(payload: unknown, typ: JwsType): Promise<SignedAnswer> {
    return { jws: await signCompact(payload, typ, this.signer), certificate: this.certificate };
  }

  /** The signature header of a downlink document version. */
  downlinkSignature(name: string, doc: DownlinkDocument): Promise<string> {
    const k = `${name} ${doc.etag}`;
    let s = this.downlink.get(k);
    if (s === undefined) {
      const payload: DownlinkSignature = { v: 1, name, etag: doc.etag, sha256: sha256b64u(doc.body) };
      s = signCompact(payload, 'chifa-downlink+jws', this.signer);
      s.catch(() => this.downlink.delete(k));
      if (this.downlink.size > 64) this.downlink.clear();
      this.downlink.set(k, s);
    }
    return s;
  }
}
