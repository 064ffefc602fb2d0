import { type CommandApdu, ResponseApdu, encodeCommand, parseResponse, MAX_EXTENDED_NE, MAX_SHORT_NC, MAX_SHORT_NE } from '../apdu';
import type { CardCapabilities, CardTransport } from './transport';
import { TransportError } from './transport';
import { SECRET_INS } from './trace';
import { SW1 } from '../status';

/**
 * One APDU exchange at the command/response level. Processors wrap an Exchange and return
 * another (after yubikit's ApduProcessor chain), so each T=0 / length quirk lives in one place.
 */
export type Exchange = (command: CommandApdu) => Promise<ResponseApdu>;
/**
 * A layer of the transport stack: wraps the next exchange (e.g. T=0 GET RESPONSE, chaining). Give
 * extra ones in ChannelOptions.processors.
 */
export type ApduProcessor = (next: Exchange) => Exchange;

/** The bottom of the stack: encode, transmit, parse. */
export function transportExchange(transport: CardTransport): Exchange {
  return async (command) => parseResponse(await transport.transmit(encodeCommand(command)));
}

/** ISO 7816-4 §5.3.4: the chaining bit b5 of an interindustry CLA. */
export const CLA_CHAINING = 0x10;

/** How many GET RESPONSE rounds we accept before calling the card broken (64 × 256 > 16 KB). */
export const MAX_GET_RESPONSE_ROUNDS = 300;

/**
 * '61xx': response bytes remain (T=0, or response chaining, ISO 7816-4 §5.3.4); fetch them with
 * GET RESPONSE (INS 'C0', §7.6.1) using the original CLA (minus the chaining bit) — until the
 * command's Ne bytes are in hand (no Le: up to 65536). Each GET RESPONSE asks for
 * min(SW2, what Ne still allows); SW2 '00' means 256 or more remain, so it asks for all that Ne
 * still allows (the length processor lowers that to 256 on a card without extended length).
 * What the card holds beyond Ne stays there: the answer ends with '61xx' and the caller may fetch
 * more with its own GET RESPONSE, or leave it (reading a long record file a chunk at a time does).
 * Bounded: a card that keeps answering 61xx beyond MAX_GET_RESPONSE_ROUNDS or 64 KiB gets a
 * TransportError.
 */
export const getResponseProcessor: ApduProcessor = (next) => async (command) => {
  let resp = await next(command);
  if (resp.sw1 !== SW1.BYTES_AVAILABLE) return resp;
  const limit = command.ne ?? MAX_EXTENDED_NE;
  const parts: Buffer[] = [resp.data];
  let total = resp.data.length;
  const cla = command.cla & ~CLA_CHAINING;
  for (let round = 0; resp.sw1 === SW1.BYTES_AVAILABLE && total < limit; round++) {
    if (round >= MAX_GET_RESPONSE_ROUNDS || total > MAX_EXTENDED_NE) {
      throw new TransportError('get-response-loop', `card kept answering 61xx after ${round} GET RESPONSE rounds (${total} bytes)`);
    }
    const ne = Math.min(resp.sw2 === 0 ? MAX_EXTENDED_NE : resp.sw2, limit - total);
    resp = await next({ cla, ins: 0xc0, p1: 0, p2: 0, ne });
    parts.push(resp.data);
    total += resp.data.length;
  }
  return new ResponseApdu(Buffer.concat(parts, total), resp.sw1, resp.sw2);
};

/**
 * '6Cxx': wrong Le, the exact length is SW2 (ISO 7816-4 §5.6 / 7816-3 §10.3.4). Re-issue the same
 * command once with that Le; a second 6Cxx is returned to the caller as is.
 */
export const wrongLengthProcessor: ApduProcessor = (next) => async (command) => {
  const resp = await next(command);
  if (resp.sw1 !== SW1.WRONG_LE) return resp;
  // Only a command that expects data (cases 2 and 4) can have a wrong Le. Never re-send a
  // PIN-bearing command: a second VERIFY would spend a second try.
  if (command.ne === undefined || SECRET_INS.has(command.ins)) return resp;
  return next({ ...command, ne: resp.sw2 === 0 ? MAX_SHORT_NE : resp.sw2 });
};

/**
 * Lengths the card cannot take in one short APDU. With extended length (card capabilities, ATR)
 * the encoder uses the extended form. Without it: data above 255 bytes goes out as a command chain
 * (CLA b5 on every command but the last, ISO 7816-4 §5.3.4), and Ne above 256 is lowered to 256
 * (the card then answers 61xx for the rest, or the caller reads on in further commands).
 */
export function lengthProcessor(caps: CardCapabilities): ApduProcessor {
  // With extended length every command goes out as it is: no layer at all, not a pass-through one.
  if (caps.extendedLength) return (next) => next;
  return (next) => async (command) => {
    const ne = command.ne !== undefined && command.ne > MAX_SHORT_NE ? MAX_SHORT_NE : command.ne;
    const data = command.data ?? new Uint8Array(0);
    if (data.length <= MAX_SHORT_NC) return next({ ...command, ne, extended: false });
    if (!caps.chaining) {
      throw new TransportError(
        'data-too-long',
        `${data.length} bytes of command data need extended length or command chaining, and the card offers neither`,
      );
    }
    let offset = 0;
    for (;;) {
      const chunk = data.subarray(offset, offset + MAX_SHORT_NC);
      offset += chunk.length;
      const last = offset >= data.length;
      const resp = await next({
        cla: last ? command.cla : command.cla | CLA_CHAINING,
        ins: command.ins,
        p1: command.p1,
        p2: command.p2,
        data: chunk,
        ...(last && ne !== undefined ? { ne } : {}),
        extended: false,
      });
      if (last || !resp.ok) return resp;
    }
  };
}

/** Stacks processors; the first in the list is the outermost. */
export function stack(base: Exchange, processors: readonly ApduProcessor[]): Exchange {
  return processors.reduceRight<Exchange>((next, p) => p(next), base);
}
