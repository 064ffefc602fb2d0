import type { KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist';
import { ChifaError } from './errors';

/**
 * A P-256 private key that signs a precomputed SHA-256 digest (ECDSA, FIPS 186-4 §6.4), for the
 * professional card's PSO: COMPUTE DIGITAL SIGNATURE and the software signer that stands in for
 * it. The card receives SHA-256(message), not the message (ISO 7816-8 §11.2.3, "input template:
 * hash code"), and node:crypto can only sign messages (it always hashes), so the curve work is
 * done by @noble/curves (audited, constant-time). Verification stays with node:crypto.
 *
 * Signatures are deterministic (RFC 6979 §3.2 nonces) and low-S (s ≤ n/2), the canonical form,
 * which every verifier accepts. The output is r‖s, 64 bytes (IEEE P1363), the JWS ES256 form
 * (RFC 7518 §3.4) that `crypto.verify` reads with `dsaEncoding: 'ieee-p1363'`.
 */
export class P256SigningKey {
  private constructor(private readonly scalar: Uint8Array) {}

  /** Exports the private scalar once (JWK `d`, RFC 7518 §6.2.2.1). */
  static fromKeyObject(key: KeyObject): P256SigningKey {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ChifaError('bad-signing-key', 'the signing key must be an ECDSA P-256 private key');
    }
    const d = key.export({ format: 'jwk' }).d;
    if (typeof d !== 'string') throw new ChifaError('bad-signing-key', 'cannot export the private scalar');
    return new P256SigningKey(Uint8Array.from(Buffer.from(d, 'base64url')));
  }

  /** Signs `digest` = SHA-256(message); returns r‖s (64 bytes). */
  signDigest(digest: Uint8Array): Buffer {
    if (digest.length !== 32) {
      throw new ChifaError('bad-digest', `a SHA-256 digest is 32 bytes, got ${digest.length}`, { field: 'digest' });
    }
    return Buffer.from(p256.sign(digest, this.scalar, { prehash: false, lowS: true }).toBytes('compact'));
  }
}
