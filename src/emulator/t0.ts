import type { ParsedCommand } from '../card/apdu';
import { SW } from '../card/status';
import type { Reply } from './context';

/**
 * Response data the terminal fetches with GET RESPONSE '00 C0 00 00 Le' (ISO 7816-4 §5.3.4), and
 * what a T=0 card does with response data (ISO 7816-3 §10.3.3, seen at the APDU level through a
 * transparent reader such as vpcd):
 *  - T=0: case 1, 3 and 4 commands cannot carry Le in a T=0 TPDU, so the card keeps the response
 *    data and answers '61xx' (xx = bytes available, 00 for 256 or more);
 *  - T=0: a case 2 command whose Le is not the exact length available answers '6Cxx' with that
 *    length and no data; the terminal re-issues it with Le = xx;
 *  - both protocols: a handler's `more` (see Reply) is kept and announced with '61xx' after the
 *    data that fitted.
 * GET RESPONSE answers '61yy' while more is left, then the command's own status word. Any other
 * command drops what is pending. Le larger than what is left: T=0 answers '6Cxx' (the exact Le,
 * ISO 7816-3 §10.3.3); T=1 returns what is left, Ne being the most the terminal accepts (ISO
 * 7816-4 §5.1) — with extended length '6Cxx' could not even say a length above 255.
 */
export class ResponseBuffer {
  private pending: Buffer | null = null;
  private finalSw = SW.OK as number;

  get active(): boolean {
    return this.pending !== null;
  }

  clear(): void {
    this.pending = null;
  }

  shape(cmd: ParsedCommand, reply: Reply, t0: boolean): Reply {
    const data = reply.data ?? Buffer.alloc(0);
    const more = reply.more ?? Buffer.alloc(0);
    if (t0 && data.length > 0 && cmd.case !== 2) return this.hold(Buffer.concat([data, more]), reply.sw);
    if (t0 && data.length > 0 && !cmd.extended && cmd.ne !== undefined && data.length !== cmd.ne) {
      return { sw: 0x6c00 | (data.length & 0xff) };
    }
    if (more.length > 0) {
      const r = this.hold(more, reply.sw);
      return { data, sw: r.sw };
    }
    return { data, sw: reply.sw };
  }

  private hold(bytes: Buffer, finalSw: number): Reply {
    this.pending = Buffer.from(bytes);
    this.finalSw = finalSw;
    return { sw: available(bytes.length) };
  }

  /** GET RESPONSE 'C0'. */
  getResponse(cmd: ParsedCommand, t0: boolean): Reply {
    const pending = this.pending;
    if (!pending) return { sw: SW.CONDITIONS_OF_USE_NOT_SATISFIED };
    if (cmd.p1 !== 0 || cmd.p2 !== 0) return { sw: SW.INCORRECT_P1P2 };
    if (cmd.data.length !== 0) return { sw: SW.WRONG_LENGTH };
    const ne = Math.min(cmd.ne ?? 256, t0 ? Infinity : pending.length);
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
