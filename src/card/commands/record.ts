import { SW, SW1 } from '../status';
import { command, CLA, type Command } from './command';

/**
 * Record commands (ISO 7816-4 §7.3): READ RECORD(S) 'B2', UPDATE RECORD 'DC', APPEND RECORD 'E2'.
 * P2 = SFI in b8-b4 (0 = current EF) and the mode in b3-b1 (table 49 / 50).
 */
export const RecordMode = {
  first: 0b000,
  last: 0b001,
  next: 0b010,
  previous: 0b011,
  /** Read record number P1. */
  single: 0b100,
  /** Read all records from P1 up to the last (in a cyclic EF, record 1 is the newest). */
  fromP1ToLast: 0b101,
  /** Read all records from the last up to P1. */
  fromLastToP1: 0b110,
} as const;
/** A READ RECORD(S) mode by name: see RecordMode. */
export type RecordModeName = keyof typeof RecordMode;

/**
 * `endOfRecords`: '6282', the card says the last record was reached. `chained`: '61xx', the card
 * holds the rest of its answer for GET RESPONSE (response chaining, ISO 7816-4 §5.3.4) — the
 * channel fetched parts of it up to Ne, and the rest is there for the caller to ask for.
 */
export type ReadRecordResult =
  | { kind: 'ok'; data: Buffer; endOfRecords: boolean; chained: boolean }
  | { kind: 'recordNotFound' }
  | { kind: 'securityNotSatisfied' }
  | { kind: 'notFound' }
  | { kind: 'wrongLength' };

/** What UPDATE RECORD and APPEND RECORD answer (`fileFull` for a full linear file). */
export type WriteRecordResult =
  | { kind: 'ok' }
  | { kind: 'securityNotSatisfied' }
  | { kind: 'notFound' }
  | { kind: 'recordNotFound' }
  | { kind: 'fileFull' }
  | { kind: 'wrongLength' };

function p2For(sfi: number | undefined, mode: number): number {
  if (sfi === undefined) return mode;
  if (!Number.isInteger(sfi) || sfi < 1 || sfi > 30) throw new RangeError(`SFI must be 1..30, got ${sfi}`);
  return (sfi << 3) | mode;
}

function checkRecord(record: number): void {
  if (!Number.isInteger(record) || record < 0 || record > 0xfe) throw new RangeError(`record number must be 0..254, got ${record}`);
}

/** READ RECORD(S) of record `record` in the current EF or the EF `sfi`, in `mode` (default: that single record). */
export function readRecord(opts: { record: number; sfi?: number; mode?: RecordModeName; ne?: number }): Command<ReadRecordResult> {
  checkRecord(opts.record);
  const p2 = p2For(opts.sfi, RecordMode[opts.mode ?? 'single']);
  return command('READ RECORD', { cla: CLA, ins: 0xb2, p1: opts.record, p2, ne: opts.ne ?? 256 }, (r) => {
    if (r.ok) return { kind: 'ok', data: r.data, endOfRecords: false, chained: false };
    if (r.sw === SW.END_OF_FILE) return { kind: 'ok', data: r.data, endOfRecords: true, chained: false };
    if (r.sw1 === SW1.BYTES_AVAILABLE) return { kind: 'ok', data: r.data, endOfRecords: false, chained: true };
    if (r.sw === SW.RECORD_NOT_FOUND) return { kind: 'recordNotFound' };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    if (r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
    if (r.sw === SW.WRONG_LENGTH) return { kind: 'wrongLength' };
    return undefined;
  });
}

function writeMap(r: { ok: boolean; sw: number }): WriteRecordResult | undefined {
  if (r.ok) return { kind: 'ok' };
  if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
  if (r.sw === SW.FILE_NOT_FOUND) return { kind: 'notFound' };
  if (r.sw === SW.RECORD_NOT_FOUND) return { kind: 'recordNotFound' };
  if (r.sw === SW.NOT_ENOUGH_MEMORY) return { kind: 'fileFull' };
  if (r.sw === SW.WRONG_LENGTH) return { kind: 'wrongLength' };
  return undefined;
}

/** UPDATE RECORD: replaces record `record` of the current EF or the EF `sfi`. */
export function updateRecord(opts: { record: number; sfi?: number; data: Uint8Array }): Command<WriteRecordResult> {
  checkRecord(opts.record);
  return command(
    'UPDATE RECORD',
    { cla: CLA, ins: 0xdc, p1: opts.record, p2: p2For(opts.sfi, RecordMode.single), data: opts.data },
    writeMap,
  );
}

/** APPEND RECORD: P1 '00', P2 = SFI b8-b4 and b3-b1 = 000 (§7.3.7). In a cyclic EF the new record becomes number 1. */
export function appendRecord(opts: { sfi?: number; data: Uint8Array }): Command<WriteRecordResult> {
  return command('APPEND RECORD', { cla: CLA, ins: 0xe2, p1: 0, p2: p2For(opts.sfi, 0), data: opts.data }, writeMap);
}
