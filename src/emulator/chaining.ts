import type { ParsedCommand } from '../card/apdu';
import { SW } from '../card/status';

/**
 * Command chaining (ISO 7816-4 §5.1.1.1): CLA b5 = 1 says "more of this command follows". The
 * card keeps each part's data and answers '9000'; the first part without b5 that has the same
 * INS P1 P2 completes the chain and is processed with all the data (and its own Le).
 *
 * A command with another INS/P1/P2 abandons a pending chain and is processed on its own (the
 * terminal gave up on the chain; the card does not punish the next command for it). A chain
 * longer than MAX_CHAIN_DATA bytes answers '6700'.
 */

export const MAX_CHAIN_DATA = 4096;

export type ChainResult = { readonly reply: number } | { readonly command: ParsedCommand };

export class CommandChain {
  private pending: { ins: number; p1: number; p2: number; parts: Buffer[]; size: number } | null = null;

  get active(): boolean {
    return this.pending !== null;
  }

  clear(): void {
    this.pending = null;
  }

  accept(cmd: ParsedCommand, enabled: boolean): ChainResult {
    const chained = (cmd.cla & 0x10) !== 0;
    const p = this.pending;
    const same = p !== null && p.ins === cmd.ins && p.p1 === cmd.p1 && p.p2 === cmd.p2;
    if (!chained) {
      if (!p || !same) {
        this.pending = null;
        return { command: cmd };
      }
      this.pending = null;
      const data = Buffer.concat([...p.parts, cmd.data]);
      if (data.length > MAX_CHAIN_DATA) return { reply: SW.WRONG_LENGTH };
      const hasLe = cmd.ne !== undefined;
      const base = { cla: cmd.cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data, extended: cmd.extended };
      const completed: ParsedCommand = hasLe
        ? { ...base, ne: cmd.ne, case: data.length > 0 ? 4 : 2 }
        : { ...base, case: data.length > 0 ? 3 : 1 };
      return { command: completed };
    }
    if (!enabled) {
      this.pending = null;
      return { reply: SW.CHAINING_NOT_SUPPORTED };
    }
    if (!same) this.pending = { ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, parts: [], size: 0 };
    const cur = this.pending!;
    cur.parts.push(Buffer.from(cmd.data));
    cur.size += cmd.data.length;
    if (cur.size > MAX_CHAIN_DATA) {
      this.pending = null;
      return { reply: SW.WRONG_LENGTH };
    }
    return { reply: SW.OK };
  }
}
