import type { CardData } from './types';

/** Outcome of presenting a PIN. A wrong PIN is an answer, not an exception. */
export type PinResult =
  { readonly kind: 'ok' } | { readonly kind: 'wrongPin'; readonly retriesLeft: number } | { readonly kind: 'blocked' };

/** PIN state read without spending a try (empty VERIFY). */
export type PinStatus =
  { readonly kind: 'verified' } | { readonly kind: 'notVerified'; readonly retriesLeft: number } | { readonly kind: 'blocked' };

/** Outcome of RESET RETRY COUNTER with the PUK. */
export type UnblockResult =
  { readonly kind: 'ok' } | { readonly kind: 'wrongPuk'; readonly retriesLeft: number } | { readonly kind: 'blocked' };

/** Outcome of the professional authentication on the insured card. */
export type ProfessionalAuthResult =
  | { readonly kind: 'ok' }
  /** PSO: VERIFY CERTIFICATE refused the professional's certificate (not from the fund's CA, expired...). */
  | { readonly kind: 'certificateRejected'; readonly sw: number }
  /** EXTERNAL AUTHENTICATE refused the signature over the challenge. */
  | { readonly kind: 'signatureRejected' }
  | { readonly kind: 'blocked' };

/** A full read: the data, or why the PIN did not open it. */
export type FullReadResult = { readonly kind: 'ok'; readonly data: CardData } | Exclude<PinResult, { kind: 'ok' }>;

/**
 * Outcome of writing the fund's signed rights document to the card (docs/card-layout.md §6a).
 * `refused` says why the card would not take it; the card's rights are then unchanged.
 */
export type RightsUpdateResult =
  | { readonly kind: 'ok' }
  /** PSO: VERIFY CERTIFICATE refused the fund's signing certificate (not from the fund CA, expired...). */
  | { readonly kind: 'certificateRejected'; readonly sw: number }
  | {
      readonly kind: 'refused';
      /**
       * `not-a-fund-key`: the certificate was accepted but is not the fund's signing key;
       * `bad-signature`: the signature does not verify; `malformed`: not a rights document, or
       * another card's; `not-current`: outside its validity, or not newer than the card's rights;
       * `too-large`: does not fit in EF.RIGHTS; `not-supported`: the card has no signed rights.
       */
      readonly reason: 'not-a-fund-key' | 'bad-signature' | 'malformed' | 'not-current' | 'too-large' | 'not-supported';
      readonly sw: number;
    };
