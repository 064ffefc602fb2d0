import { PIN_BLOCK_LENGTH, PIN_LENGTH, PUK_LENGTH } from '../layout';
import { PinFormatError } from './errors';

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
