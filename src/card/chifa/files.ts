import type { CardCapabilities } from '../transport/transport';
import type { CardSession } from '../transport/channel';
import { getResponse, readBinary, readRecord } from '../commands';
import type { FileSpec } from '../layout';
import { readTlvHeader, TlvError } from '../tlv';
import { AccessDeniedError, CardDataError, CardProtocolError } from './errors';

/**
 * How the terminal reads the card's files: in few APDUs, and no further than it needs.
 *
 * Record files (RecordReader): READ RECORD(S) with P2 mode '101' (all records from P1 to the last,
 * ISO 7816-4 §7.3.3) and Ne = the records wanted × the record length, so the card returns exactly
 * that many whole records (fewer at the end of the file): a whole file in one APDU with extended
 * length, or a chunk of it when the caller may stop early; with short APDUs 256 bytes at a time.
 * In a cyclic file record 1 is the newest, so the records come newest first. P1 is one byte and
 * 'FF' is reserved: past record 254 the card chains the rest of its answer ('61xx', whole
 * records, docs/card-layout.md §9) and the reader goes on with GET RESPONSE, again Ne at a time.
 * The 'naive' strategy reads one record per READ RECORD wherever P1 can name it: a baseline for
 * tests and the benchmark.
 *
 * Transparent files: READ BINARY by SFI of the template's header first (HEADER_PROBE bytes), then
 * exactly the rest of the template its length announces, from the current EF with 15-bit
 * offsets: never the padding after it (on a 9,600 bit/s card the padding of one 256-byte file
 * costs more than the extra APDU; docs/emulator.md, "Timing").
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

/**
 * Bytes the first READ BINARY of a transparent file asks for: a one-byte tag and a length field
 * of up to three bytes ('82 LL LL'); a longer header is completed by the next read.
 */
export const HEADER_PROBE = 4;

/** Reads a transparent EF up to the end of its template (see the module comment). */
export async function readTransparent(s: CardSession, file: FileSpec, opts: ReadOptions): Promise<Buffer> {
  const maxNe = opts.capabilities.extendedLength ? 65536 : 256;
  const first = await s.run(readBinary({ sfi: file.sfi, offset: 0, ne: Math.min(file.size, HEADER_PROBE) }));
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

/**
 * Reads a record EF record 1 first (in a cyclic file, the newest first), `next(s, n)` records at
 * a time, so that a caller can stop as soon as older records no longer matter. It remembers
 * where it is between calls: the next record number, and whether the card still holds the rest
 * of a chained answer. When that answer is lost between two calls (any other command makes the
 * card drop it, GET RESPONSE then answers '6985'), it asks again from record 254 — the last one
 * P1 can name — and skips the records it already gave.
 */
export class RecordReader {
  /** Records handed out so far: numbers 1..delivered. */
  private delivered: number;
  /** The card holds the records after `delivered` for GET RESPONSE. */
  private chained = false;
  /** Records to drop from the next answers (asked again after a lost chain). */
  private skip = 0;
  private done = false;
  /** The most records one answer carries: Ne 65536 with extended length, else 256. */
  readonly perApdu: number;

  /** `first`: the number of the first record to deliver. */
  constructor(
    readonly file: FileSpec,
    capabilities: CardCapabilities,
    first = 1,
  ) {
    this.delivered = first - 1;
    this.perApdu = Math.max(1, Math.floor((capabilities.extendedLength ? 65536 : 256) / file.size));
  }

  /** The number of the record the next call delivers first. */
  get position(): number {
    return this.delivered + 1;
  }

  /** No more records: the end of the file was reached. */
  get finished(): boolean {
    return this.done;
  }

  /** Up to `want` more records, in order; fewer only at the end of the file (then `finished`). */
  async next(s: CardSession, want: number): Promise<Buffer[]> {
    if (!Number.isInteger(want) || want < 1) throw new RangeError(`records to read must be a positive integer, got ${want}`);
    const file = this.file;
    const len = file.size;
    const max = file.maxRecords ?? MAX_P1;
    const perApdu = this.perApdu;
    const out: Buffer[] = [];
    while (!this.done && out.length < want) {
      const need = Math.min(want - out.length, max - this.delivered);
      if (need <= 0) {
        this.done = true;
        break;
      }
      let answer: { data: Buffer; chained: boolean; last: boolean; asked: number };
      if (this.chained) {
        const asked = Math.min(this.skip + need, perApdu);
        const r = await s.run(getResponse(asked * len));
        if (r.kind === 'nothingPending') {
          this.chained = false;
          continue;
        }
        // The end of a chained answer is the end of the file: the card chained all that was left.
        answer = { data: r.data, chained: r.chained, last: !r.chained, asked };
      } else {
        // Past record 254 only a chained answer reaches: ask again from 254 and skip what was given.
        const p1 = Math.min(this.delivered + 1, MAX_P1);
        this.skip = this.delivered + 1 - p1;
        const asked = Math.min(this.skip + need, perApdu);
        const r = await s.run(readRecord({ record: p1, sfi: file.sfi, mode: 'fromP1ToLast', ne: asked * len }));
        if (r.kind === 'recordNotFound') {
          this.done = true;
          break;
        }
        if (r.kind === 'securityNotSatisfied') denied(file);
        if (r.kind !== 'ok') throw new CardProtocolError(`READ RECORD(S) ${file.name} from #${p1}: ${r.kind}`);
        const n = r.data.length / len;
        // Fewer records than asked, or a full answer that reaches past 254 without chaining the
        // rest (a card chains whatever a next P1 could not name): the file ends here.
        const last = !r.chained && (n < asked || r.endOfRecords || p1 + n > MAX_P1);
        answer = { data: r.data, chained: r.chained, last, asked };
      }
      const n = answer.data.length / len;
      if (answer.data.length === 0 || !Number.isInteger(n) || n > answer.asked) {
        throw new CardDataError(
          { file: file.name, record: this.delivered + 1 },
          `the card returned ${answer.data.length} bytes for ${answer.asked} records of ${len} bytes`,
        );
      }
      const records = splitRecords(answer.data, len);
      const dropped = Math.min(this.skip, records.length);
      this.skip -= dropped;
      const fresh = records.slice(dropped);
      out.push(...fresh);
      this.delivered += fresh.length;
      this.chained = answer.chained;
      if (answer.last || this.delivered >= max) this.done = true;
    }
    return out;
  }
}

/** Reads all records of a record EF, record 1 first (the newest in a cyclic file). */
export async function readRecords(s: CardSession, file: FileSpec, opts: ReadOptions): Promise<Buffer[]> {
  const max = file.maxRecords ?? MAX_P1;
  if (opts.strategy !== 'naive') return new RecordReader(file, opts.capabilities).next(s, max);
  const len = file.size;
  const out: Buffer[] = [];
  for (let n = 1; n <= Math.min(max, MAX_P1); n++) {
    const r = await s.run(readRecord({ record: n, sfi: file.sfi, mode: 'single', ne: len }));
    if (r.kind === 'recordNotFound') return out;
    if (r.kind === 'securityNotSatisfied') denied(file);
    if (r.kind !== 'ok') throw new CardProtocolError(`READ RECORD ${file.name} #${n}: ${r.kind}`);
    out.push(checkLength(r.data, len, file, n));
  }
  if (out.length < MAX_P1 || max <= MAX_P1) return out;
  // Records past 254 have no P1: even the naive way asks from record 254 on and takes the card's
  // chained answer one record per GET RESPONSE.
  const tail = new RecordReader(file, opts.capabilities, MAX_P1 + 1);
  while (!tail.finished) out.push(...(await tail.next(s, 1)));
  return out;
}

function checkLength(data: Buffer, len: number, file: FileSpec, record: number): Buffer {
  if (data.length !== len) throw new CardDataError({ file: file.name, record }, `record of ${data.length} bytes, expected ${len}`);
  return data;
}
