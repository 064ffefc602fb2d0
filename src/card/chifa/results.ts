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
