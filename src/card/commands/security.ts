import { SW, retriesLeft } from '../status';
import { command, CLA, type Command } from './command';

/**
 * User verification (ISO 7816-4 §7.5): VERIFY '20', CHANGE REFERENCE DATA '24', RESET RETRY
 * COUNTER '2C'. P2 is the reference (b8 = 1: DF-specific). Results are values, never exceptions:
 * a wrong PIN is an expected answer, and the number of tries left comes with it.
 */
export type VerifyResult = { kind: 'ok' } | { kind: 'wrongPin'; retriesLeft: number } | { kind: 'blocked' } | { kind: 'referenceNotFound' };

/** The empty VERIFY (no data field) asks for the state without spending a try (§7.5.6). */
export type RetriesResult =
  { kind: 'verified' } | { kind: 'retries'; retriesLeft: number } | { kind: 'blocked' } | { kind: 'referenceNotFound' };

function secretMap(r: { ok: boolean; sw: number }): VerifyResult | undefined {
  if (r.ok) return { kind: 'ok' };
  const left = retriesLeft(r.sw);
  if (left !== undefined) return left === 0 ? { kind: 'blocked' } : { kind: 'wrongPin', retriesLeft: left };
  // Cards report a blocked PIN either way: the method blocked, or the reference data not usable.
  if (r.sw === SW.AUTH_METHOD_BLOCKED || r.sw === SW.REFERENCE_DATA_NOT_USABLE) return { kind: 'blocked' };
  if (r.sw === SW.REFERENCE_DATA_NOT_FOUND) return { kind: 'referenceNotFound' };
  return undefined;
}

/** VERIFY: presents the reference data (a PIN block) for reference `ref` (P2, e.g. PIN_REF). */
export function verify(ref: number, pinBlock: Uint8Array): Command<VerifyResult> {
  if (pinBlock.length === 0) throw new RangeError('VERIFY with a PIN needs data; use verifyStatus() to query retries');
  return command('VERIFY', { cla: CLA, ins: 0x20, p1: 0, p2: ref, data: pinBlock }, secretMap);
}

/** VERIFY without data: the reference's state (verified, tries left, blocked) without spending a try. */
export function verifyStatus(ref: number): Command<RetriesResult> {
  return command('VERIFY', { cla: CLA, ins: 0x20, p1: 0, p2: ref }, (r) => {
    if (r.ok) return { kind: 'verified' };
    const left = retriesLeft(r.sw);
    if (left !== undefined) return left === 0 ? { kind: 'blocked' } : { kind: 'retries', retriesLeft: left };
    if (r.sw === SW.AUTH_METHOD_BLOCKED) return { kind: 'blocked' };
    if (r.sw === SW.REFERENCE_DATA_NOT_FOUND) return { kind: 'referenceNotFound' };
    return undefined;
  });
}

/** CHANGE REFERENCE DATA, P1 '00': data = current value || new value. */
export function changeReferenceData(ref: number, current: Uint8Array, next: Uint8Array): Command<VerifyResult> {
  return command('CHANGE REFERENCE DATA', { cla: CLA, ins: 0x24, p1: 0, p2: ref, data: Buffer.concat([current, next]) }, secretMap);
}

/**
 * RESET RETRY COUNTER: P1 '00' data = resetting code (PUK) || new reference data;
 * P1 '01' data = resetting code only (the counter is reset, the PIN kept).
 */
export function resetRetryCounter(ref: number, puk: Uint8Array, newPin?: Uint8Array): Command<VerifyResult> {
  const data = newPin ? Buffer.concat([puk, newPin]) : Buffer.from(puk);
  return command('RESET RETRY COUNTER', { cla: CLA, ins: 0x2c, p1: newPin ? 0x00 : 0x01, p2: ref, data }, secretMap);
}
