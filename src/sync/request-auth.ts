import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { b64uEncode } from './base64url';
import { SyncError } from './errors';
import { signCompact } from './jws';
import { AUTH_SCHEME, CERTIFICATE_HEADER, MAX_TOKEN_LIFETIME_S, type RequestToken } from './protocol';
import { pharmacyIdOf, type Signer } from './signer';

/**
 * The pharmacy's side of request authentication (docs/sync.md, "Authentication"): each request
 * to the fund carries a short-lived token — a compact JWS (ES256, typ chifa-request+jws) over
 * {pharmacyId, method, path, body digest, iat, exp, jti} — signed by the pharmacist's card, and
 * the card's certificate. The card only ever signs a 32-byte digest (PSO: COMPUTE DIGITAL
 * SIGNATURE), so its key never leaves it, and the scheme works over plain HTTP on loopback in
 * tests as well as behind TLS. A token is made per attempt: the fund refuses a `jti` it has seen.
 */

/**
 * Lends the card's signer for one use, under whatever lock guards the card (the counter's
 * `withProfessionalSigner`); resolves undefined when the card is absent or locked.
 */
export type SignerAccess = <T>(use: (signer: Signer) => Promise<T>) => Promise<T | undefined>;

/** Options of RequestAuthenticator. */
export interface RequestAuthOptions {
  /** Token lifetime in seconds (default 120, at most MAX_TOKEN_LIFETIME_S). */
  lifetimeSeconds?: number;
  /** The clock the tokens are dated with. */
  now?: () => Date;
}

export const EMPTY_BODY_SHA256 = sha256b64u(Buffer.alloc(0));

export function sha256b64u(data: Buffer): string {
  return b64uEncode(createHash('sha256').update(data).digest());
}

/** Signs each request to the fund with a fresh short-lived token (the pharmacist's card, or a Signer). */
export class RequestAuthenticator {
  private readonly source: Signer | SignerAccess;
  private readonly lifetime: number;
  private readonly now: () => Date;
  private readonly pharmacyIds = new WeakMap<Signer, string>();

  constructor(source: Signer | SignerAccess, options: RequestAuthOptions = {}) {
    this.source = source;
    this.lifetime = options.lifetimeSeconds ?? 120;
    if (!Number.isInteger(this.lifetime) || this.lifetime < 1 || this.lifetime > MAX_TOKEN_LIFETIME_S)
      throw new SyncError('bad-token-lifetime', `a request token lives 1 to ${MAX_TOKEN_LIFETIME_S} s`, 'lifetimeSeconds');
    this.now = options.now ?? (() => new Date());
  }

  /** The headers that authenticate `method target` with `body` (target: path and query). */
  async headers(method: string, target: string, body?: Buffer): Promise<Record<string, string>> {
    const bodySha256 = body && body.length > 0 ? sha256b64u(body) : EMPTY_BODY_SHA256;
    const sign = async (signer: Signer): Promise<Record<string, string>> => {
      const iat = Math.floor(this.now().getTime() / 1000);
      const token: RequestToken = {
        v: 1,
        pharmacyId: this.pharmacyOf(signer),
        method: method.toUpperCase(),
        path: target,
        bodySha256,
        iat,
        exp: iat + this.lifetime,
        jti: b64uEncode(randomBytes(16)),
      };
      const jws = await signCompact(token, 'chifa-request+jws', signer);
      return { authorization: `${AUTH_SCHEME} ${jws}`, [CERTIFICATE_HEADER]: signer.certificate.toString('base64') };
    };
    if (typeof this.source !== 'function') return sign(this.source);
    const h = await this.source(sign);
    if (h === undefined)
      throw new SyncError(
        'no-credentials',
        "the professional card is absent or locked: the fund authenticates every request with the pharmacist's card",
      );
    return h;
  }

  private pharmacyOf(signer: Signer): string {
    let id = this.pharmacyIds.get(signer);
    if (id === undefined) {
      id = pharmacyIdOf(new X509Certificate(signer.certificate));
      this.pharmacyIds.set(signer, id);
    }
    return id;
  }
}
