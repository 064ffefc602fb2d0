import { SW, SW1, retriesLeft } from '../status';
import { command, CLA, type Command } from './command';

/**
 * Authentication (ISO 7816-4 §7.5.2-§7.5.4): GET CHALLENGE '84', INTERNAL AUTHENTICATE '88',
 * EXTERNAL AUTHENTICATE '82'.
 */
export type ChallengeResult = { kind: 'ok'; challenge: Buffer } | { kind: 'wrongLength' };

/** GET CHALLENGE: `length` random bytes from the card, for a later EXTERNAL AUTHENTICATE. */
export function getChallenge(length: number): Command<ChallengeResult> {
  return command('GET CHALLENGE', { cla: CLA, ins: 0x84, p1: 0, p2: 0, ne: length }, (r) => {
    if (r.ok) return { kind: 'ok', challenge: r.data };
    if (r.sw === SW.WRONG_LENGTH || r.sw1 === SW1.WRONG_LE) return { kind: 'wrongLength' };
    return undefined;
  });
}

/** What INTERNAL AUTHENTICATE answers. */
export type InternalAuthResult = { kind: 'ok'; response: Buffer } | { kind: 'securityNotSatisfied' } | { kind: 'keyNotFound' };

/** INTERNAL AUTHENTICATE: the card computes authentication data over `data` with key `keyRef` (P2). */
export function internalAuthenticate(data: Uint8Array, keyRef: number): Command<InternalAuthResult> {
  return command('INTERNAL AUTHENTICATE', { cla: CLA, ins: 0x88, p1: 0, p2: keyRef, data, ne: 256 }, (r) => {
    if (r.ok) return { kind: 'ok', response: r.data };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    if (r.sw === SW.REFERENCE_DATA_NOT_FOUND) return { kind: 'keyNotFound' };
    return undefined;
  });
}

/** What EXTERNAL AUTHENTICATE answers (`failed` may carry the tries left). */
export type ExternalAuthResult =
  { kind: 'ok' } | { kind: 'failed'; retriesLeft?: number } | { kind: 'noChallenge' } | { kind: 'blocked' } | { kind: 'keyNotFound' };

/** EXTERNAL AUTHENTICATE: presents `data` (e.g. a signature over the card's challenge). */
export function externalAuthenticate(data: Uint8Array, keyRef = 0): Command<ExternalAuthResult> {
  return command('EXTERNAL AUTHENTICATE', { cla: CLA, ins: 0x82, p1: 0, p2: keyRef, data }, (r) => {
    if (r.ok) return { kind: 'ok' };
    if (r.sw === SW.VERIFICATION_FAILED) return { kind: 'failed' };
    const left = retriesLeft(r.sw);
    if (left !== undefined) return { kind: 'failed', retriesLeft: left };
    // Conditions of use not satisfied: there is no challenge (GET CHALLENGE) to check the data against.
    if (r.sw === SW.CONDITIONS_OF_USE_NOT_SATISFIED) return { kind: 'noChallenge' };
    if (r.sw === SW.AUTH_METHOD_BLOCKED) return { kind: 'blocked' };
    if (r.sw === SW.REFERENCE_DATA_NOT_FOUND) return { kind: 'keyNotFound' };
    return undefined;
  });
}
