import { SW } from '../../card/status';
import { fit, ok, sw, type Command, type CommandContext, type Reply } from '../context';
import { accessAllowed } from '../security';
import { resolveEf } from './resolve';

/**
 * READ BINARY 'B0' and UPDATE BINARY 'D6' on transparent EFs (ISO 7816-4 §11.3.3, §11.3.5).
 * P1 b8 = 1: b5-b1 are an SFI (b7-b6 must be 0) and P2 is the offset (0..255);
 * P1 b8 = 0: P1-P2 is a 15-bit offset into the current EF.
 * The odd-INS forms (B1, D7: offset data objects) are not supported ('6D00').
 */
function address(cmd: Command): { sfi: number; offset: number } | number {
  if (cmd.p1 & 0x80) {
    if (cmd.p1 & 0x60) return SW.INCORRECT_P1P2;
    const sfi = cmd.p1 & 0x1f;
    if (sfi === 0 || sfi === 0x1f) return SW.INCORRECT_P1P2;
    return { sfi, offset: cmd.p2 };
  }
  return { sfi: 0, offset: ((cmd.p1 & 0x7f) << 8) | cmd.p2 };
}

export function readBinary(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.data.length !== 0) return sw(SW.WRONG_LENGTH);
  const a = address(cmd);
  if (typeof a === 'number') return sw(a);
  const ef = resolveEf(ctx, a.sfi);
  if (typeof ef === 'number') return sw(ef);
  if (ef.kind !== 'transparent') return sw(SW.INCOMPATIBLE_FILE_STRUCTURE);
  if (!accessAllowed(ef.def.read, ctx.security)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (a.offset >= ef.size) return sw(SW.WRONG_P1P2);
  const n = Math.min(cmd.ne, ef.size - a.offset);
  const data = Buffer.from(ef.data.subarray(a.offset, a.offset + n));
  // Fewer bytes than Ne: '6282' end of file reached before reading Ne bytes (§5.6).
  return fit(data, cmd.ne, n < cmd.ne ? SW.END_OF_FILE : SW.OK);
}

export function updateBinary(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.data.length === 0) return sw(SW.WRONG_LENGTH);
  const a = address(cmd);
  if (typeof a === 'number') return sw(a);
  const ef = resolveEf(ctx, a.sfi);
  if (typeof ef === 'number') return sw(ef);
  if (ef.kind !== 'transparent') return sw(SW.INCOMPATIBLE_FILE_STRUCTURE);
  if (!accessAllowed(ef.def.update, ctx.security)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (a.offset >= ef.size) return sw(SW.WRONG_P1P2);
  if (a.offset + cmd.data.length > ef.size) return sw(SW.WRONG_LENGTH);
  ctx.nvm.commit(ef.stageWrite(a.offset, cmd.data));
  return ok();
}
