import { SW } from '../../card/status';
import { fit, ok, sw, type Command, type CommandContext, type Reply } from '../context';
import type { RecordEf } from '../filesystem';
import { accessAllowed } from '../security';
import { resolveEf } from './resolve';

/**
 * READ RECORD(S) 'B2', UPDATE RECORD 'DC', APPEND RECORD 'E2' (ISO 7816-4 §11.4).
 *
 * P2 b8-b4: SFI (00000 = current EF; 11111 is reserved: '6A86'); b3-b1: the mode.
 * Records are addressed by number only (this card OS keeps no record pointer and no record
 * identifiers), so READ RECORD accepts
 *   100  read record P1
 *   101  read all records from P1 up to the last
 *   110  read all records from the last up to P1
 * with P1 ≥ 1; P1 = 00 or any other mode answers '6A86'. In a cyclic file record 1 is the newest.
 * The multi-record modes return the concatenation of whole records, as many as fit in Ne
 * (256 for short Le '00', 65536 for extended '0000'), with '9000'; if not even one fits the card
 * answers '6Cxx' with the record length. P1 beyond the last record answers '6A83'.
 *
 * P1 is one byte and 'FF' is reserved, so record numbers stop at 254 (MAX_RECORD_NUMBER). When a
 * multi-record read leaves records the terminal could not name in a following READ RECORD(S)
 * (a 400-record ring read with short APDUs), the card answers what fits with '61xx' and keeps
 * the remaining whole records for GET RESPONSE (response chaining, ISO 7816-4 §5.3.4), in T=1 as
 * in T=0. Records that a next P1 can still reach are left to the next command, with '9000'.
 */

/** The highest record number P1 can carry ('FF' is reserved). */
export const MAX_RECORD_NUMBER = 254;

const MODE_P1 = 0x04;
const MODE_P1_TO_LAST = 0x05;
const MODE_LAST_TO_P1 = 0x06;

function recordFile(ctx: CommandContext, p2: number): RecordEf | number {
  const sfi = p2 >> 3;
  if (sfi === 0x1f) return SW.INCORRECT_P1P2;
  const ef = resolveEf(ctx, sfi);
  if (typeof ef === 'number') return ef;
  if (ef.kind === 'transparent') return SW.INCOMPATIBLE_FILE_STRUCTURE;
  return ef;
}

export function readRecord(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.data.length !== 0) return sw(SW.WRONG_LENGTH);
  const mode = cmd.p2 & 0x07;
  if (mode !== MODE_P1 && mode !== MODE_P1_TO_LAST && mode !== MODE_LAST_TO_P1) return sw(SW.INCORRECT_P1P2);
  if (cmd.p1 === 0 || cmd.p1 > MAX_RECORD_NUMBER) return sw(SW.INCORRECT_P1P2);
  const ef = recordFile(ctx, cmd.p2);
  if (typeof ef === 'number') return sw(ef);
  if (!accessAllowed(ef.def.read, ctx.security)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  const count = ef.count;
  if (cmd.p1 > count) return sw(SW.RECORD_NOT_FOUND);
  const len = ef.recordLength;
  if (mode === MODE_P1) return fit(Buffer.from(ef.record(cmd.p1)!), cmd.ne);

  const available = count - cmd.p1 + 1;
  const n = Math.min(available, Math.floor(cmd.ne / len));
  if (n === 0) return sw(0x6c00 | (len & 0xff));
  const number = (i: number): number => (mode === MODE_P1_TO_LAST ? cmd.p1 + i : count - i);
  const collect = (from: number, to: number): Buffer => {
    const out = Buffer.allocUnsafe((to - from) * len);
    ef.copyRecords(out, number(from), to - from, mode === MODE_P1_TO_LAST ? 1 : -1);
    return out;
  };
  // The first record left out: can a following READ RECORD(S) name it?
  const unreachable = n < available && number(n) > MAX_RECORD_NUMBER;
  if (unreachable) return { data: collect(0, n), sw: SW.OK, more: collect(n, available) };
  return ok(collect(0, n));
}

export function updateRecord(ctx: CommandContext, cmd: Command): Reply {
  if ((cmd.p2 & 0x07) !== MODE_P1 || cmd.p1 === 0 || cmd.p1 > MAX_RECORD_NUMBER) return sw(SW.INCORRECT_P1P2);
  const ef = recordFile(ctx, cmd.p2);
  if (typeof ef === 'number') return sw(ef);
  if (cmd.data.length === 0 || cmd.data.length > ef.recordLength) return sw(SW.WRONG_LENGTH);
  if (!accessAllowed(ef.def.update, ctx.security)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (cmd.p1 > ef.count) return sw(SW.RECORD_NOT_FOUND);
  ctx.nvm.commit(ef.stageUpdate(cmd.p1, cmd.data));
  return ok();
}

export function appendRecord(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 !== 0 || (cmd.p2 & 0x07) !== 0) return sw(SW.INCORRECT_P1P2);
  const ef = recordFile(ctx, cmd.p2);
  if (typeof ef === 'number') return sw(ef);
  if (cmd.data.length === 0 || cmd.data.length > ef.recordLength) return sw(SW.WRONG_LENGTH);
  if (!accessAllowed(ef.def.append, ctx.security)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  const writes = ef.stageAppend(cmd.data);
  if (writes === 'full') return sw(SW.NOT_ENOUGH_MEMORY);
  ctx.nvm.commit(writes);
  return ok();
}
