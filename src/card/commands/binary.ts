import { SW } from '../status';
import { command, CLA, type Command } from './command';

/**
 * READ BINARY / UPDATE BINARY (INS 'B0' / 'D6', ISO 7816-4 §7.2.3, §7.2.5). With an SFI, P1 is
 * '100' + the 5-bit SFI and P2 the offset (0..255); without, P1-P2 is a 15-bit offset in the
 * current EF.
 */
export type ReadBinaryResult =
  | { kind: 'ok'; data: Buffer; endOfFile: boolean }
  | { kind: 'securityNotSatisfied' }
  | { kind: 'notFound' }
  | { kind: 'offsetOutOfRange' }
  | { kind: 'wrongLength'; exact?: number };

/** What UPDATE BINARY answers. */
export type UpdateResult = { kind: 'ok' } | { kind: 'securityNotSatisfied' } | { kind: 'notFound' } | { kind: 'outOfRange' };

function offsetParams(offset: number, sfi?: number): { p1: number; p2: number } {
  if (sfi !== undefined) {
    if (!Number.isInteger(sfi) || sfi < 1 || sfi > 30) throw new RangeError(`SFI must be 1..30, got ${sfi}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xff) throw new RangeError(`offset with an SFI must be 0..255, got ${offset}`);
    return { p1: 0x80 | sfi, p2: offset };
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > 0x7fff) throw new RangeError(`offset must be 0..32767, got ${offset}`);
  return { p1: offset >> 8, p2: offset & 0xff };
}

/** READ BINARY from `offset` of the current EF, or of the EF with short identifier `sfi`; `ne` bytes at most (default: as many as fit). */
export function readBinary(opts: { offset?: number; sfi?: number; ne?: number }): Command<ReadBinaryResult> {
  const { p1, p2 } = offsetParams(opts.offset ?? 0, opts.sfi);
  return command('READ BINARY', { cla: CLA, ins: 0xb0, p1, p2, ne: opts.ne ?? 256 }, (r) => {
    if (r.ok) return { kind: 'ok', data: r.data, endOfFile: false };
    if (r.sw === SW.END_OF_FILE) return { kind: 'ok', data: r.data, endOfFile: true };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    if (r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
    if (r.sw === SW.WRONG_P1P2) return { kind: 'offsetOutOfRange' };
    if (r.sw === SW.WRONG_LENGTH) return { kind: 'wrongLength' };
    return undefined;
  });
}

/** UPDATE BINARY: writes `data` at `offset` of the current EF or the EF `sfi`. */
export function updateBinary(opts: { offset?: number; sfi?: number; data: Uint8Array }): Command<UpdateResult> {
  const { p1, p2 } = offsetParams(opts.offset ?? 0, opts.sfi);
  return command('UPDATE BINARY', { cla: CLA, ins: 0xd6, p1, p2, data: opts.data }, (r) => {
    if (r.ok) return { kind: 'ok' };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    if (r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
    if (r.sw === SW.WRONG_P1P2 || r.sw === SW.NOT_ENOUGH_MEMORY) return { kind: 'outOfRange' };
    return undefined;
  });
}
