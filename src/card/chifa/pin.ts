import type { RetriesResult, VerifyResult } from '../commands';
import { PIN_BLOCK_LENGTH, PIN_LENGTH, PIN_MAX_TRIES, PUK_LENGTH } from '../layout';
import { CardProtocolError, PinFormatError } from './errors';
import type { PinResult, PinStatus } from './results';

/**
 * PIN and PUK blocks (docs/card-layout.md): the ASCII digits, padded with FF to 8 bytes. A PIN
 * string lives only from the API edge to this function: callers turn it into a block at once and
 * the string goes nowhere else — no logs, no error messages (PinFormatError says what shape is
 * expected, never what was given). Traces redact the data field of VERIFY-like commands.
 */
export function pinBlock(pin: string, what: 'PIN' | 'new PIN' = 'PIN'): Buffer {
  if (typeof pin !== 'string' || pin.length !== PIN_LENGTH || !/^[0-9]+$/.test(pin)) throw new PinFormatError(what, PIN_LENGTH);
  const block = Buffer.alloc(PIN_BLOCK_LENGTH, 0xff);
  block.write(pin, 0, 'latin1');
  return block;
}

export function pukBlock(puk: string): Buffer {
  if (typeof puk !== 'string' || puk.length !== PUK_LENGTH || !/^[0-9]+$/.test(puk)) throw new PinFormatError('PUK', PUK_LENGTH);
  const block = Buffer.alloc(PIN_BLOCK_LENGTH, 0xff);
  block.write(puk, 0, 'latin1');
  return block;
}

/** Overwrites a block once it has been sent (best effort: the bytes do not linger in our buffers). */
export function wipe(block: Buffer): void {
  block.fill(0);
}

/**
 * What a VERIFY with the PIN came to, for ChifaCard and ProfessionalCard alike. A card without
 * the PIN reference is not a Chifa card as the layout says: a CardProtocolError with `noPin`.
 */
export function pinResult(r: VerifyResult, noPin: string): PinResult {
  if (r.kind === 'referenceNotFound') throw new CardProtocolError(noPin);
  return r;
}

/** The PIN's state from the empty VERIFY (no try spent); `noPin` as for pinResult. */
export function pinStatusOf(r: RetriesResult, noPin: string): PinStatus {
  switch (r.kind) {
    case 'verified':
      return { kind: 'verified' };
    case 'retries':
      return { kind: 'notVerified', retriesLeft: r.retriesLeft };
    case 'blocked':
      return { kind: 'blocked' };
    default:
      throw new CardProtocolError(noPin);
  }
}

/** Tries left before the PIN blocks (a verified PIN has all of them: success resets the counter). */
export function retriesLeftOf(st: PinStatus): number {
  return st.kind === 'verified' ? PIN_MAX_TRIES : st.kind === 'blocked' ? 0 : st.retriesLeft;
}
