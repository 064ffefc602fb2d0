import { parseCompact, verifySignature } from '../sync/jws';
import { AUTH_SCHEME, MAX_TOKEN_LIFETIME_S, requestTokenSchema, type RequestToken } from '../sync/protocol';
import { EMPTY_BODY_SHA256, sha256b64u } from '../sync/request-auth';
import type { FundStore } from './store';
import type { TrustStore } from '../sync/trust';

/**
 * The fund's side of request authentication (docs/sync.md, "Authentication"). A request carries
 * `Authorization: Chifa <compact JWS>` (typ chifa-request+jws, ES256) and `Chifa-Certificate:
 * <base64 DER>`, the pharmacist's card certificate. Accepted when: the certificate passes the
 * fund's own check (TrustStore: issued by the fund CA, valid now); the JWS names that
 * certificate and its signature verifies; the payload is for this pharmacy, this method, this
 * path and query, and (once read) this body; it is inside its validity (at most
 * MAX_TOKEN_LIFETIME_S long, with `skewSeconds` of clock tolerance); and its `jti` was never seen
 * (remembered in the store until the token could no longer be accepted).
 */

export class AuthRefusal extends Error {
  constructor(
    readonly status: 401,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface AuthenticatedRequest {
  pharmacyId: string;
  /** base64url SHA-256 the token says the body has: checked once the body is read. */
  bodySha256: string;
  jti: string;
}

export interface RequestVerifierOptions {
  trust: TrustStore;
  store: FundStore;
  now: () => Date;
  /** Clock difference tolerated between the pharmacy and the fund, seconds (default 60). */
  skewSeconds?: number;
}

const refuse = (code: string, message: string, field?: string): never => {
  throw new AuthRefusal(401, code, message, field);
};

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class RequestVerifier {
  private readonly o: RequestVerifierOptions;
  private readonly skew: number;

  constructor(o: RequestVerifierOptions) {
    this.o = o;
    this.skew = o.skewSeconds ?? 60;
  }

  /**
   * Checks the token of a request for `method target` (target: path and query as received);
   * throws AuthRefusal. Consumes the token: a second request with it is refused as a replay.
   */
  check(method: string, target: string, authorization: string | undefined, certificate: string | undefined): AuthenticatedRequest {
    if (authorization === undefined || authorization === '')
      refuse('AUTH_MISSING', `every request but /v1/health needs "Authorization: ${AUTH_SCHEME} <token>"`, 'Authorization');
    const sp = authorization!.indexOf(' ');
    const scheme = sp < 0 ? authorization! : authorization!.slice(0, sp);
    const jws = sp < 0 ? '' : authorization!.slice(sp + 1).trim();
    if (scheme.toLowerCase() !== AUTH_SCHEME.toLowerCase() || !TOKEN.test(jws) || jws.length > 8192)
      refuse('AUTH_MALFORMED', `expected "Authorization: ${AUTH_SCHEME} <compact JWS>"`, 'Authorization');
    if (certificate === undefined || certificate === '')
      refuse('AUTH_MISSING', "the Chifa-Certificate header (the card's certificate, base64 DER) is required", 'Chifa-Certificate');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(certificate!) || certificate!.length > 8192)
      refuse('AUTH_MALFORMED', 'Chifa-Certificate: expected base64 DER', 'Chifa-Certificate');

    const now = this.o.now();
    let cert;
    try {
      cert = this.o.trust.check(Buffer.from(certificate!, 'base64'), now);
    } catch (err) {
      const e = err as { code?: string; message: string };
      return refuse((e.code ?? 'cert-untrusted').toUpperCase().replace(/-/g, '_'), e.message, 'Chifa-Certificate');
    }

    let p;
    try {
      p = parseCompact(jws, 'Authorization', 'chifa-request+jws');
    } catch (err) {
      return refuse('AUTH_MALFORMED', (err as Error).message, 'Authorization');
    }
    if (p.header['x5t#S256'] !== cert.keyId)
      refuse('AUTH_BAD_SIGNATURE', 'the token names another key than the certificate sent', 'Authorization');
    if (!verifySignature(p.signingInput, p.signature, cert.publicKey))
      refuse('AUTH_BAD_SIGNATURE', 'the token signature does not verify with the certificate sent', 'Authorization');
    const r = requestTokenSchema.safeParse(p.payload);
    if (!r.success) {
      const i = r.error.issues[0]!;
      return refuse('AUTH_MALFORMED', `token ${i.path.join('.') || '(root)'}: ${i.message}`, 'Authorization');
    }
    const t: RequestToken = r.data;
    if (t.pharmacyId !== cert.pharmacyId)
      refuse('AUTH_BAD_SIGNATURE', `the token is for pharmacy ${t.pharmacyId}, the certificate for ${cert.pharmacyId}`, 'Authorization');
    if (t.method !== method.toUpperCase() || t.path !== target)
      refuse('AUTH_WRONG_REQUEST', `the token is for ${t.method} ${t.path}, not this request`, 'Authorization');

    const nowS = Math.floor(now.getTime() / 1000);
    if (t.exp <= t.iat || t.exp - t.iat > MAX_TOKEN_LIFETIME_S)
      refuse('AUTH_MALFORMED', `a token lives at most ${MAX_TOKEN_LIFETIME_S} s (exp − iat = ${t.exp - t.iat})`, 'Authorization');
    if (t.iat > nowS + this.skew)
      refuse('AUTH_NOT_YET_VALID', "the token is issued in the future: check the terminal's clock", 'Authorization');
    if (nowS > t.exp + this.skew) refuse('AUTH_EXPIRED', `the token expired at ${new Date(t.exp * 1000).toISOString()}`, 'Authorization');
    // Kept until the token could no longer pass the expiry check above.
    if (!this.o.store.rememberToken(t.pharmacyId, t.jti, t.exp + this.skew, nowS))
      refuse('AUTH_REPLAYED', 'this token was already used: sign each request anew', 'Authorization');
    return { pharmacyId: t.pharmacyId, bodySha256: t.bodySha256, jti: t.jti };
  }

  /** Checks the body read against the token's digest. */
  checkBody(auth: AuthenticatedRequest, body: Buffer | undefined): void {
    const actual = body && body.length > 0 ? sha256b64u(body) : EMPTY_BODY_SHA256;
    if (actual !== auth.bodySha256) refuse('AUTH_BODY_MISMATCH', 'the body is not the one the token was signed for', 'Authorization');
  }
}
