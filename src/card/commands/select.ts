import { SW } from '../status';
import { command, CLA, type Command } from './command';

/**
 * SELECT (INS 'A4', ISO 7816-4 §7.1.1). P1 says how the file is named (table 39), P2 what the card
 * returns (table 40): '04' the FCP template, '0C' nothing. '00' (FCI) is used for applications.
 */
export type SelectResult = { kind: 'selected'; fci: Buffer } | { kind: 'notFound' };

/** What SELECT asks the card to return: the FCP, the FCI, or nothing. */
export type SelectReturn = 'fcp' | 'fci' | 'none';
const P2: Record<SelectReturn, number> = { fci: 0x00, fcp: 0x04, none: 0x0c };

function select(p1: number, data: Uint8Array, ret: SelectReturn, p2Extra = 0): Command<SelectResult> {
  return command('SELECT', { cla: CLA, ins: 0xa4, p1, p2: P2[ret] | p2Extra, data, ...(ret === 'none' ? {} : { ne: 256 }) }, (r) => {
    if (r.ok) return { kind: 'selected', fci: r.data };
    if (r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
    return undefined;
  });
}

function fidBytes(fid: number): Buffer {
  return Buffer.from([(fid >> 8) & 0xff, fid & 0xff]);
}

/** SELECT by file identifier: P1 '00' (MF, DF or EF) or '02' (EF under the current DF). */
export function selectFid(fid: number, ret: SelectReturn = 'fcp', efOnly = false): Command<SelectResult> {
  return select(efOnly ? 0x02 : 0x00, fidBytes(fid), ret);
}

/** SELECT the master file (P1 '00' with FID 3F00). */
export function selectMf(ret: SelectReturn = 'none'): Command<SelectResult> {
  return select(0x00, fidBytes(0x3f00), ret);
}

/** SELECT by DF name / AID (P1 '04'); `next` selects the next occurrence (P2 b2-b1 = 10). */
export function selectAid(aid: Uint8Array, ret: SelectReturn = 'fci', next = false): Command<SelectResult> {
  return select(0x04, aid, ret, next ? 0x02 : 0x00);
}

/** SELECT by path: from the MF (P1 '08', path without 3F00) or from the current DF (P1 '09'). */
export function selectPath(fids: readonly number[], fromMf = true, ret: SelectReturn = 'fcp'): Command<SelectResult> {
  return select(fromMf ? 0x08 : 0x09, Buffer.concat(fids.map(fidBytes)), ret);
}
