import type { ProfessionalCard } from './professional';

/**
 * The professional card as an invoice signer. Its shape matches src/sync's `Signer` interface
 * structurally (certificate, keyId, sign(digest) → r‖s) without importing src/sync: the card SDK
 * stays below the sync layer. `message` is accepted and ignored — the card signs the digest.
 */
export interface CardSigner {
  readonly certificate: Buffer;
  readonly keyId: string;
  sign(digest: Buffer, message?: Buffer): Promise<Buffer>;
}

export function professionalCardSigner(card: ProfessionalCard): CardSigner {
  return {
    certificate: card.certificate,
    keyId: card.keyId,
    sign: (digest: Buffer) => card.signDigest(digest),
  };
}
