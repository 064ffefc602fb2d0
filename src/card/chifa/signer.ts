import type { ProfessionalCard } from './professional';

/**
 * The professional card as an invoice signer. Its shape matches src/sync's `Signer` interface
 * structurally (certificate, keyId, sign(digest) → r‖s) without importing src/sync: the card SDK
 * stays below the sync layer. `message` is accepted and ignored — the card signs the digest.
 */
export interface CardSigner {
  /** The professional's X.509 certificate, DER. */
  readonly certificate: Buffer;
  /** base64url SHA-256 of the certificate (the JWS `x5t#S256`). */
  readonly keyId: string;
  /** Signs a SHA-256 digest on the card: the raw 64-byte r‖s. `message` is ignored. */
  sign(digest: Buffer, message?: Buffer): Promise<Buffer>;
}

/** Wraps a professional card (PIN verified) as the `Signer` that `chifa-terminal/sync` signs invoices with. */
export function professionalCardSigner(card: ProfessionalCard): CardSigner {
  return {
    certificate: card.certificate,
    keyId: card.keyId,
    sign: (digest: Buffer) => card.signDigest(digest),
  };
}
