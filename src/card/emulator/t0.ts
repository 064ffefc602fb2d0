import type { ParsedCommand } from '../apdu';
import { SW } from '../status';
import type { Reply } from './context';

/**
 * What a T=0 card does with response data (ISO 7816-3 §10.3.3, ISO 7816-4 §5.3.4 — seen at the
 * APDU level through a transparent reader such as vpcd):
 *  - case 3 and case 4 commands cannot carry Le in a T=0 TPDU, so the card keeps the response
 *    data and answers '61xx' (xx = bytes available, 00 for 256 or more); the terminal fetches
 *    them with GET RESPONSE '00 C0 00 00 Le', which answers '61yy' again while more is left and
 *    finally the command's own status word;
 *  - a case 2 command whose Le is not the exact length available answers '6Cxx' with that length
 *    and no data; the terminal re-issues it with Le = xx.
 * The pending data is dropped by any other command.
 */
export class T0Responder {
  private pending: Buffer | null = null;
  private finalSw = SW.OK as number;

  clear(): void {
    this.pending = null;
  }

  /** Applies T=0 rules to a handler's reply. */
  shape(cmd: ParsedCommand, reply: Reply): Reply {
    const data = reply.data;
    if (!data || data.length === 0) return reply;
    if (cmd.case === 1 || cmd.case === 3 || cmd.case === 4) {
      this.pending = Buffer.from(data);
      this.finalSw = reply.sw;
      return { sw: available(data.length) };
    }
    if (!cmd.extended && cmd.ne !== undefined && data.length !== cmd.ne) return { sw: 0x6c00 | (data.length & 0xff) };
    return reply;
  }

  /** GET RESPONSE 'C0'. */
  getResponse(cmd: ParsedCommand): Reply {
    const pending = this.pending;
    if (!pending) return { sw: SW.CONDITIONS_OF_USE_NOT_SATISFIED };
    if (cmd.p1 !== 0 || cmd.p2 !== 0) return { sw: SW.INCORRECT_P1P2 };
    if (cmd.data.length !== 0) return { sw: SW.WRONG_LENGTH };
    const ne = cmd.ne ?? 256;
    if (ne > pending.length) return { sw: 0x6c00 | (pending.length & 0xff) };
    const out = pending.subarray(0, ne);
    const rest = pending.subarray(ne);
    if (rest.length > 0) {
      this.pending = rest;
      return { data: Buffer.from(out), sw: available(rest.length) };
    }
    this.pending = null;
    return { data: Buffer.from(out), sw: this.finalSw };
  }
}

function available(n: number): number {
  return 0x6100 | (n >= 256 ? 0 : n);
}
