import type { CardCapabilities } from '../transport/transport';
import type { CardSession } from '../transport/channel';
import { readBinary, readRecord } from '../commands';
import type { FileSpec } from '../layout';
import { readTlvHeader, TlvError } from '../tlv';
import { AccessDeniedError, CardDataError, CardProtocolError } from './errors';

/**
 * How the terminal reads the card's files in few APDUs.
 *
 * Record files: READ RECORD(S) with P2 mode '101' (all records from P1 to the last, ISO 7816-4
 * §7.3.3) returns as many whole records as fit in Ne. With extended length (Ne = 65536) a whole
 * file comes in one APDU; with short APDUs (Ne = 256) it comes 256 bytes at a time, and the read
 * stops when a response is not full or the file's capacity is reached — so a full ring costs no
 * extra '6A83' APDU. Past record 254 (the last P1 can name) the card chains the rest of the
 * answer ('61xx'), which the channel fetches with GET RESPONSE. The 'naive' strategy reads one
 * record per READ RECORD wherever P1 can name it: a baseline for tests and the benchmark.
 *
 * Transparent files: READ BINARY by SFI, as much as one APDU carries; if the template's own
 * length (from its TLV header) says more follows, read on from the current EF with 15-bit
 * offsets, and only up to the template's end, never the padding after it.
 */
export type ReadStrategy = 'multi-record' | 'naive';

/** The highest record number P1 can carry ('FF' is reserved, ISO 7816-4 §7.3.2). */
export const MAX_P1 = 254;

export interface ReadOptions {
  readonly capabilities: CardCapabilities;
  readonly strategy?: ReadStrategy;
}

function denied(file: FileSpec): never {
  throw new AccessDeniedError('pin-required', `${file.name} can only be read after the PIN is verified`);
}

/**
 * Total encoded length of the data object at the start of `b`, from its header alone (the value
 * may not have been read yet); undefined if `b` ends inside the header, 0 if `b` is empty, starts
 * with padding or with a malformed header (then there is nothing more to read, and the decoder
 * reports the bad byte).
 */
export function objectExtent(b: Buffer): number | undefined {
  if (b.length === 0 || b[0] === 0x00 || b[0] === 0xff) return 0;
  try {
    const h = readTlvHeader(b);
    return h.valueStart + h.length;
  } catch (err) {
    if (!(err instanceof TlvError)) throw err;
    return err.code === 'truncated-tag' || err.code === 'truncated-length' ? undefined : 0;
  }
}

/** Reads a transparent EF up to the end of its template (see the module comment). */
export async function readTransparent(s: CardSession, file: FileSpec, opts: ReadOptions): Promise<Buffer> {
  const maxNe = opts.capabilities.extendedLength ? 65536 : 256;
  const first = await s.run(readBinary({ sfi: file.sfi, offset: 0, ne: Math.min(file.size, maxNe) }));
  if (first.kind === 'securityNotSatisfied') denied(file);
  if (first.kind !== 'ok') throw new CardProtocolError(`READ BINARY ${file.name}: ${first.kind}`);
  const parts = [first.data];
  let have = first.data.length;
  let eof = first.endOfFile;
  for (;;) {
    const want = Math.min(file.size, objectExtent(Buffer.concat(parts, have)) ?? have + 1);
    if (have >= want || eof || have >= file.size) break;
    // The SFI form only reaches offsets 0..255; the first read made this EF current, so go on
    // with the 15-bit offset form (P1 b8 = 0).
    const r = await s.run(readBinary({ offset: have, ne: Math.min(want - have, maxNe) }));
    if (r.kind === 'securityNotSatisfied') denied(file);
    if (r.kind !== 'ok') throw new CardProtocolError(`READ BINARY ${file.name} at ${have}: ${r.kind}`);
    if (r.data.length === 0) break;
    parts.push(r.data);
    have += r.data.length;
    eof = r.endOfFile;
  }
  return Buffer.concat(parts, have);
}

/** An answer of whole records cut into records (views, no copies), record 1 first. */
function splitRecords(answer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < answer.length; at += size) out.push(answer.subarray(at, at + size));
  return out;
}

/** Reads all records of a record EF, record 1 first (the newest in a cyclic file). */
export async function readRecords(s: CardSession, file: FileSpec, opts: ReadOptions): Promise<Buffer[]> {
  const len = file.size;
  const max = file.maxRecords ?? 254;
  const out: Buffer[] = [];
  if (opts.strategy === 'naive') {
    for (let n = 1; n <= Math.min(max, MAX_P1); n++) {
      const r = await s.run(readRecord({ record: n, sfi: file.sfi, mode: 'single', ne: len }));
      if (r.kind === 'recordNotFound') return out;
      if (r.kind === 'securityNotSatisfied') denied(file);
      if (r.kind !== 'ok') throw new CardProtocolError(`READ RECORD ${file.name} #${n}: ${r.kind}`);
      out.push(checkLength(r.data, len, file, n));
    }
    if (out.length < MAX_P1 || max <= MAX_P1) return out;
    // Records past 254 have no P1: even the naive way must ask for them from record 254 on, and
    // the card chains them (61xx); record 254 comes again first.
    const r = await s.run(readRecord({ record: MAX_P1, sfi: file.sfi, mode: 'fromP1ToLast', ne: len }));
    if (r.kind !== 'ok' || r.data.length % len !== 0) throw new CardProtocolError(`READ RECORD(S) ${file.name} from #${MAX_P1}: ${r.kind}`);
    // The file holds `max` records: anything after them in the answer is not one of its records.
    return out.concat(splitRecords(r.data.subarray(len), len)).slice(0, max);
  }
  const ne = opts.capabilities.extendedLength ? 65536 : 256;
  const perApdu = Math.max(1, Math.floor(ne / len));
  let next = 1;
  while (out.length < max) {
    if (next > MAX_P1) {
      // P1 is one byte and 'FF' is reserved: record 255 and beyond cannot be named. A card that
      // holds more must return them in one READ RECORD(S) — extended length, or a short answer
      // continued by '61xx' / GET RESPONSE (which the channel follows) — and this one did not.
      throw new CardProtocolError(
        `${file.name}: records from ${next} on cannot be addressed by READ RECORD (P1 stops at ${MAX_P1}) and the card ` +
          'did not return them by extended length or response chaining (61xx)',
      );
    }
    const r = await s.run(readRecord({ record: next, sfi: file.sfi, mode: 'fromP1ToLast', ne: Math.max(ne, len) }));
    if (r.kind === 'recordNotFound') break;
    if (r.kind === 'securityNotSatisfied') denied(file);
    if (r.kind !== 'ok') throw new CardProtocolError(`READ RECORD(S) ${file.name} from #${next}: ${r.kind}`);
    const n = r.data.length / len;
    if (r.data.length === 0 || !Number.isInteger(n)) {
      throw new CardDataError(
        { file: file.name, record: next },
        `READ RECORD(S) returned ${r.data.length} bytes, not a whole number of ${len}-byte records`,
      );
    }
    out.push(...splitRecords(r.data, len));
    next += n;
    if (n < perApdu || r.endOfRecords) break;
  }
  if (out.length > max) throw new CardDataError({ file: file.name, record: max + 1 }, `more than the ${max} records the file can hold`);
  return out;
}

function checkLength(data: Buffer, len: number, file: FileSpec, record: number): Buffer {
  if (data.length !== len) throw new CardDataError({ file: file.name, record }, `record of ${data.length} bytes, expected ${len}`);
  return data;
}
