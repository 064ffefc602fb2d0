import { SW, SW1 } from '../status';
import { command, CLA, type Command } from './command';

/**
 * GET DATA (INS 'CA', ISO 7816-4 §7.4.2): P1-P2 is a tag of a data object held by the card
 * ('5F52' historical bytes, '7F66' extended length information, '9F7F' card production data...).
 */
export type GetDataResult = { kind: 'ok'; data: Buffer } | { kind: 'notFound' } | { kind: 'securityNotSatisfied' };

/** GET DATA: the data object with tag `tag` (ISO/IEC 7816-4 §7.4.2). */
export function getData(tag: number, ne = 256): Command<GetDataResult> {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) throw new RangeError(`GET DATA tag must be 0000..FFFF, got ${tag}`);
  return command('GET DATA', { cla: CLA, ins: 0xca, p1: tag >> 8, p2: tag & 0xff, ne }, (r) => {
    if (r.ok) return { kind: 'ok', data: r.data };
    if (r.sw === SW.REFERENCE_DATA_NOT_FOUND || r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    return undefined;
  });
}

/**
 * PUT DATA (INS 'DA', ISO 7816-4 §7.4.3): P1-P2 is the tag of the data object, the data field its
 * new content — or, for an object the card writes only in a signed form (the Chifa rights,
 * docs/card-layout.md §6a), the signed document that carries it. Long data goes with command
 * chaining or extended length (the channel chooses).
 */
export type PutDataResult =
  | { kind: 'ok' }
  /** '6982': the card wants a prior step (for signed rights: the fund's certificate). */
  | { kind: 'securityNotSatisfied' }
  /** '6300': the signature over the data does not verify. */
  | { kind: 'verificationFailed' }
  /** '6A80': the data is malformed or not for this card. */
  | { kind: 'wrongData' }
  /** '6985': not now (out of its validity, or not newer than what the card holds). */
  | { kind: 'conditionsNotSatisfied' }
  /** '6A84': it does not fit. */
  | { kind: 'notEnoughMemory' }
  /** '6A88': the card has no such data object. */
  | { kind: 'notFound' };

const PUT_DATA_SW: ReadonlyMap<number, PutDataResult> = new Map<number, PutDataResult>([
  [SW.SECURITY_STATUS_NOT_SATISFIED, { kind: 'securityNotSatisfied' }],
  [SW.VERIFICATION_FAILED, { kind: 'verificationFailed' }],
  [SW.WRONG_DATA, { kind: 'wrongData' }],
  [SW.CONDITIONS_OF_USE_NOT_SATISFIED, { kind: 'conditionsNotSatisfied' }],
  [SW.NOT_ENOUGH_MEMORY, { kind: 'notEnoughMemory' }],
  [SW.REFERENCE_DATA_NOT_FOUND, { kind: 'notFound' }],
]);

export function putData(tag: number, data: Uint8Array): Command<PutDataResult> {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) throw new RangeError(`PUT DATA tag must be 0000..FFFF, got ${tag}`);
  if (data.length === 0) throw new RangeError('PUT DATA needs data');
  return command('PUT DATA', { cla: CLA, ins: 0xda, p1: tag >> 8, p2: tag & 0xff, data }, (r) =>
    r.ok ? { kind: 'ok' } : PUT_DATA_SW.get(r.sw),
  );
}

/**
 * GET RESPONSE (INS 'C0', §7.6.1): the next part of an answer the card announced with '61xx'
 * (T=0, or response chaining §5.3.4). The channel fetches such parts for you up to the Ne you
 * asked for; send it yourself to go on with an answer you took only part of. `chained`: the card
 * still holds more ('61xx' again). '6985': nothing is pending (another command came between).
 */
export type GetResponseResult = { kind: 'ok'; data: Buffer; chained: boolean } | { kind: 'nothingPending' };

export function getResponse(ne: number, cla = CLA): Command<GetResponseResult> {
  return command('GET RESPONSE', { cla, ins: 0xc0, p1: 0, p2: 0, ne }, (r) => {
    if (r.ok) return { kind: 'ok', data: r.data, chained: false };
    if (r.sw1 === SW1.BYTES_AVAILABLE) return { kind: 'ok', data: r.data, chained: true };
    if (r.sw === SW.CONDITIONS_OF_USE_NOT_SATISFIED) return { kind: 'nothingPending' };
    return undefined;
  });
}
