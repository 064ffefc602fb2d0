import { addDays, daysBetween, type IsoDate } from '../../common/calendar-date';
import type { DispensationRecord } from './card-data';
import type { HistoryProgress } from './events';

/**
 * The card's dispensation history as far as the counter has read it, and how far it must read.
 *
 * The ring holds up to 400 records, newest first. The duplicate-dispensing warning only needs the
 * supplies that may still be running (docs/counter.md, "Reading the card"), so after the PIN the
 * counter reads newest first and stops at the **horizon**: the first record that
 *
 *   - has run out (its date + its treatment duration is not after today), and
 *   - is older than the longest treatment + a margin: today − (longest + margin) or before,
 *
 * where "longest" is the longest treatment duration seen on the card so far (this record
 * included), and at least `longestDays` — and at least the window of the rules' per-period
 * limits, which count the dispensations of that window. A basket against a prescription on the
 * card also needs the dispensations made against it: back to the prescription's date (`sinceRule`). Records are in the order they were appended, which is
 * date order as long as the pharmacies' clocks are right; the margin absorbs a record dated up to
 * `marginDays` out of that order. A record still running is never where the read stops: the read
 * goes on as far as the card makes it (to record 400 if need be). What lies past the horizon is
 * read when the history is opened (`readAll`).
 */

export interface HorizonOptions {
  /** The shortest "longest treatment" assumed, days: a card showing longer ones pushes it further. */
  longestDays: number;
  /** Days added for records appended out of date order. */
  marginDays: number;
}

export const DEFAULT_HORIZON: HorizonOptions = { longestDays: 90, marginDays: 30 };

/** Progress is reported every this many records (the SDK's chunk) and at the end of each read. */
const PROGRESS_EVERY = 8;

/**
 * A stop rule for the horizon: called on each record in order (newest first), true at the first
 * record the duplicate check no longer needs, nor any older one. Stateful: make one per read.
 */
export function horizonRule(
  today: IsoDate,
  options: HorizonOptions = DEFAULT_HORIZON,
  /** Days back the rules also count dispensations in (a per-period limit's window; 0: none). */
  windowDays = 0,
): (r: DispensationRecord) => boolean {
  let longest = Math.max(options.longestDays, windowDays);
  return (r) => {
    longest = Math.max(longest, r.durationDays);
    if (addDays(r.date, r.durationDays) > today) return false; // still running
    return daysBetween(r.date, today) >= longest + options.marginDays;
  };
}

/**
 * A stop rule for finding an invoice's records again (recovery): the first record dated more than
 * `marginDays` before `date`. The invoice's records carry its date and were appended after every
 * record older than them.
 */
export function sinceRule(date: IsoDate, options: HorizonOptions = DEFAULT_HORIZON): (r: DispensationRecord) => boolean {
  const from = addDays(date, -options.marginDays);
  return (r) => r.date < from;
}

export class CardHistory {
  private list: DispensationRecord[] = [];
  private done = false;
  private source: AsyncGenerator<DispensationRecord> | undefined;
  /** Records read when progress was last reported. */
  private reported = 0;

  constructor(
    /** The card's records newest first from record number `from` (InsuredCardPort.dispensations). */
    private readonly open: (from: number) => AsyncGenerator<DispensationRecord>,
    /** What the ring can hold (400). */
    readonly capacity: number,
    private readonly onProgress: (p: HistoryProgress) => void = () => undefined,
  ) {}

  /** What has been read, newest first: records 1..n of the card. */
  get records(): readonly DispensationRecord[] {
    return this.list;
  }

  /** The whole ring has been read. */
  get complete(): boolean {
    return this.done;
  }

  get progress(): HistoryProgress {
    return { read: this.list.length, of: this.done ? this.list.length : this.capacity, complete: this.done };
  }

  /**
   * Reads on, newest first, until `enough` is true for a record (that record is kept: it was
   * read) or the ring ends. The records already read are looked at first: nothing is read again.
   */
  async readUntil(enough: (r: DispensationRecord) => boolean): Promise<void> {
    for (const r of this.list) if (enough(r)) return;
    await this.read(enough);
  }

  /** True when `enough` holds for a record already read, or the whole ring is read: `readUntil` would read nothing. */
  reaches(enough: (r: DispensationRecord) => boolean): boolean {
    return this.done || this.list.some(enough);
  }

  /** Reads what is left of the ring. */
  readAll(): Promise<void> {
    return this.read(() => false);
  }

  /**
   * This counter appended `written` (in the order appended: the last one is now record 1). Every
   * record's number moved, so a read in progress cannot go on where it was: the next one starts
   * after what is known. A full ring dropped its oldest records.
   */
  appended(written: readonly DispensationRecord[]): void {
    if (written.length === 0) return;
    this.dropSource();
    this.list = [...[...written].reverse(), ...this.list];
    if (this.list.length > this.capacity) this.list = this.list.slice(0, this.capacity);
  }

  /** What was read no longer tells what is on the card (a write failed midway): read again from record 1. */
  forget(): void {
    this.dropSource();
    this.list = [];
    this.done = false;
    this.reported = 0;
  }

  private async read(enough: (r: DispensationRecord) => boolean): Promise<void> {
    if (this.done) return;
    this.source ??= this.open(this.list.length + 1);
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done) {
          this.done = true;
          this.source = undefined;
          break;
        }
        this.list.push(next.value);
        // A ring holds no more than its capacity: the last record read is its oldest.
        if (this.list.length >= this.capacity) {
          this.done = true;
          this.dropSource();
        }
        if (this.list.length - this.reported >= PROGRESS_EVERY) this.report();
        if (this.done || enough(next.value)) break;
      }
    } catch (err) {
      // A failed step leaves the reader where nobody knows: start again after what is known.
      this.source = undefined;
      throw err;
    } finally {
      this.report();
    }
  }

  private report(): void {
    this.reported = this.list.length;
    this.onProgress(this.progress);
  }

  private dropSource(): void {
    const s = this.source;
    this.source = undefined;
    // Nothing more is read from it; closing it only ends the SDK's iterator.
    if (s) void s.return(undefined).catch(() => undefined);
  }
}
