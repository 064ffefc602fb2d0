import { z } from 'zod';
import { isoDateSchema, type IsoDate } from '../common/calendar-date';
import { clip } from '../common/display';
import { SyncError } from './errors';
import { NetworkError, request, type FundEndpoint } from './http';
import { signCompact } from './jws';
import type { Signer } from './signer';

/**
 * The fund's signed rights documents (docs/sync.md, "Rights"): a card's current rights, signed by
 * the fund, that a counter fetches when it faces an expired card or expired rights, prices with,
 * and writes to the card, which verifies the same signature before it replaces its EF.RIGHTS
 * (docs/card-layout.md §6a). One document per card serial, with a sequence number the card
 * requires to grow (no rollback) and a validity window (`issuedOn` … `validUntil`) outside which
 * the card refuses it. The rights are in the card's own codes: the fund and category codes of
 * EF.RIGHTS (the rules files map category codes to categories).
 *
 *   GET /v1/rights/:cardSerial  →  { jws, certificate }   (JWS typ chifa-rights+jws)
 */

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A code as the card stores it: printable ASCII, no space at either end. */
const code = (max: number) =>
  z
    .string()
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, { message: 'expected printable ASCII' })
    .max(max);

export const cardRightsSchema = z.strictObject({
  /** Fund code (1 CNAS, 2 CASNOS). */
  fund: int(1, 255),
  /** Category code as the card stores it. */
  category: int(1, 255),
  rateBp: int(0, 10_000),
  rightsEnd: isoDateSchema,
  /** The card may be used until this day, past the expiry date printed in its holder file. */
  cardValidUntil: isoDateSchema.optional(),
  chronic: z.array(z.strictObject({ code: code(16), validUntil: isoDateSchema })).max(8),
  beneficiaryRights: z
    .array(z.strictObject({ rank: int(1, 15), category: int(1, 255), rateBp: int(0, 10_000), rightsEnd: isoDateSchema }))
    .max(10),
});

export const rightsDocumentSchema = z
  .strictObject({
    v: z.literal(1),
    cardSerial: code(16),
    /** Grows with every change of the card's rights at the fund; the card refuses anything not above what it holds. */
    sequence: int(1, 0xffffffff),
    issuedOn: isoDateSchema,
    /** Last day a card accepts this document. */
    validUntil: isoDateSchema,
    rights: cardRightsSchema,
  })
  .refine((d) => d.issuedOn <= d.validUntil, { message: 'validUntil is before issuedOn', path: ['validUntil'] });

export type CardRightsData = z.infer<typeof cardRightsSchema>;
export type RightsDocument = z.infer<typeof rightsDocumentSchema>;

/** A rights document as the counter received it: its payload, and what the card needs to check it. */
export interface SignedRights {
  document: RightsDocument;
  /** The compact JWS, exactly as the fund signed it (the card verifies this text). */
  jws: string;
  /** The fund's signing certificate (DER): PSO: VERIFY CERTIFICATE before the document. */
  certificate: Buffer;
}

/** Why the counter could not get a card's current rights from the fund. */
export class RightsUnavailableError extends SyncError {}

/** Signs a rights document with the fund's key (the reference fund; tests). */
export function signRightsDocument(doc: RightsDocument, signer: Signer): Promise<string> {
  const checked = rightsDocumentSchema.parse(doc);
  return signCompact(checked, 'chifa-rights+jws', signer);
}

/**
 * Fetches and verifies the current rights of `cardSerial` (the endpoint authenticates the request
 * and verifies the fund's answer). Throws RightsUnavailableError with code `fund-unreachable`
 * (the network), `unknown-card` (the fund has no rights for the card), `fund-refused` (another
 * answer), or the verifier's `bad-fund-signature` / `fund-cert-untrusted` / `fund-cert-expired`
 * / `bad-fund-answer` when the answer is not the fund's — never returns unverified rights.
 */
export async function fetchRights(ep: FundEndpoint, cardSerial: string): Promise<SignedRights> {
  if (!ep.verifier) throw new SyncError('no-fund-verifier', "configure the fund CA: the fund's signed rights cannot be checked without it");
  let res;
  try {
    res = await request(ep, 'GET', `v1/rights/${encodeURIComponent(cardSerial)}`);
  } catch (err) {
    if (err instanceof NetworkError)
      throw new RightsUnavailableError('fund-unreachable', `the fund cannot be reached: ${err.message}`, undefined, { cause: err });
    throw err;
  }
  if (res.status === 404) throw new RightsUnavailableError('unknown-card', 'the fund has no rights for this card');
  if (res.status !== 200) throw new RightsUnavailableError('fund-refused', `the fund answered HTTP ${res.status}${errorOf(res.body)}`);
  const v = ep.verifier.verifyAnswer(res.body, 'chifa-rights+jws', 'rights');
  const r = rightsDocumentSchema.safeParse(v.payload);
  if (!r.success) throw new SyncError('bad-fund-answer', 'rights: the signed document is not a rights document');
  if (r.data.cardSerial !== cardSerial) throw new SyncError('bad-fund-answer', 'rights: the fund signed the rights of another card');
  return { document: r.data, jws: v.jws, certificate: v.certificate };
}

/** The fund's error body `{ error: { code, message, field? } }`, shown cut, or nothing. */
function errorOf(body: Buffer): string {
  try {
    const e = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown; field?: unknown } }).error;
    if (!e || typeof e.code !== 'string') return '';
    const field = typeof e.field === 'string' ? `${clip(e.field)}: ` : '';
    return ` ${clip(e.code)}: ${field}${typeof e.message === 'string' ? clip(e.message, 200) : ''}`;
  } catch {
    return '';
  }
}

/** Whether a rights document can still be written to a card on `date`. */
export function rightsDocumentCurrent(doc: RightsDocument, date: IsoDate): boolean {
  return doc.issuedOn <= date && date <= doc.validUntil;
}
