/**
 * The card's non-volatile memory (EEPROM/flash) and its anti-tearing journal.
 *
 * Every persistent byte of the emulated card lives in a named region: an EF's body, a record
 * file's header (record count and ring head), a PIN object's counter and value. A command never
 * writes a region directly: it stages writes and commits them as one transaction. With
 * anti-tearing on (the default, as on every serious card OS), the commit is
 *
 *   step 1  write the journal (a copy of the staged writes)
 *   step 2  set the journal's commit flag          <- the atomic point
 *   step 3… apply the writes, one EEPROM page (32 bytes) per step
 *   last    clear the journal
 *
 * and power-on recovery rolls a committed journal forward and drops an uncommitted one, so a
 * power loss at any step leaves every record wholly old or wholly new. Steps are counted so a
 * fault script can cut the power after exactly k of them ("tearing"); with anti-tearing off the
 * writes go straight to their pages and a tear can leave half a record, which is what a test
 * uses to show the journal matters.
 */

/** One staged write: `bytes` at `offset` of region `region`. */
export interface NvmWrite {
  readonly region: string;
  readonly offset: number;
  readonly bytes: Buffer;
}

export interface NvmJournal {
  readonly writes: readonly NvmWrite[];
  committed: boolean;
}

/** Size of one programming step, like an EEPROM page. */
export const PAGE_SIZE = 32;

/**
 * Thrown from inside a command when an armed tear fires: the power is gone, nothing after this
 * point happens. Only the VirtualCard arms tears and catches this; the card OS never sees one
 * otherwise, so `CardOs.process` still never throws for any input.
 */
export class PowerLoss extends Error {
  constructor() {
    super('power lost (tearing)');
    this.name = 'PowerLoss';
  }
}

export class Nvm {
  private readonly regions = new Map<string, Buffer>();
  journal: NvmJournal | null = null;
  antiTearing: boolean;
  /** Steps completed since the tear counter was last reset. */
  private steps = 0;
  /** Cut the power once this many steps have completed (null: no tear armed). */
  private tearAfter: number | null = null;
  /** Set by every completed step; the persistence layer clears it after writing the state file. */
  dirty = false;
  /** Counts committed transactions (tests use it to tell writing commands from others). */
  commits = 0;
  /**
   * Told of every transaction before it is programmed (the OS uses it to count what a command
   * writes, for the timing model; see os.ts `work`). `journalled` is the anti-tearing setting.
   */
  onCommit: ((writes: readonly NvmWrite[], journalled: boolean) => void) | undefined;

  constructor(antiTearing = true) {
    this.antiTearing = antiTearing;
  }

  define(region: string, bytes: Buffer): Buffer {
    if (this.regions.has(region)) throw new Error(`NVM region ${region} defined twice`);
    this.regions.set(region, bytes);
    return bytes;
  }

  get(region: string): Buffer {
    const r = this.regions.get(region);
    if (!r) throw new Error(`no NVM region ${region}`);
    return r;
  }

  has(region: string): boolean {
    return this.regions.has(region);
  }

  names(): string[] {
    return [...this.regions.keys()];
  }

  /** Commits staged writes as one transaction (see the file comment for the steps). */
  commit(writes: readonly NvmWrite[]): void {
    for (const w of writes) {
      const r = this.get(w.region);
      if (w.offset < 0 || w.offset + w.bytes.length > r.length) {
        throw new Error(`write of ${w.bytes.length} bytes at ${w.offset} outside region ${w.region} (${r.length} bytes)`);
      }
    }
    const pages = splitPages(writes);
    this.onCommit?.(writes, this.antiTearing);
    if (this.antiTearing) {
      const copy = writes.map((w) => ({ region: w.region, offset: w.offset, bytes: Buffer.from(w.bytes) }));
      this.step(() => {
        this.journal = { writes: copy, committed: false };
      });
      this.step(() => {
        this.journal!.committed = true;
      });
      for (const p of pages) this.step(() => this.apply(p));
      this.step(() => {
        this.journal = null;
      });
    } else {
      for (const p of pages) this.step(() => this.apply(p));
    }
    this.commits++;
  }

  /** Writes outside any transaction: only personalization, before the card is issued, does this. */
  writeDirect(writes: readonly NvmWrite[]): void {
    for (const w of writes) this.apply(w);
    this.dirty = true;
  }

  /** Number of steps `commit(writes)` takes (tests iterate a tear over each of them). */
  stepsFor(writes: readonly NvmWrite[]): number {
    const pages = splitPages(writes).length;
    return this.antiTearing ? pages + 3 : pages;
  }

  /** Power-on recovery: roll a committed journal forward, drop an uncommitted one. */
  recover(): 'none' | 'rolled-forward' | 'discarded' {
    const j = this.journal;
    if (!j) return 'none';
    if (j.committed) for (const w of j.writes) this.apply(w);
    this.journal = null;
    this.dirty = true;
    return j.committed ? 'rolled-forward' : 'discarded';
  }

  /** Arms a tear: the power goes after `steps` more completed steps (0 = before the first). */
  armTear(steps: number): void {
    this.steps = 0;
    this.tearAfter = steps;
  }

  disarmTear(): void {
    this.tearAfter = null;
  }

  /** Steps completed since the last armTear() or resetStepCount(). */
  get stepCount(): number {
    return this.steps;
  }

  resetStepCount(): void {
    this.steps = 0;
  }

  private step(fn: () => void): void {
    if (this.tearAfter !== null && this.steps >= this.tearAfter) {
      this.tearAfter = null;
      throw new PowerLoss();
    }
    fn();
    this.steps++;
    this.dirty = true;
  }

  private apply(w: NvmWrite): void {
    w.bytes.copy(this.get(w.region), w.offset);
  }

  /** A deep copy of every region and the journal (for snapshots). */
  dump(): { regions: Record<string, Buffer>; journal: NvmJournal | null } {
    const regions: Record<string, Buffer> = {};
    for (const [k, v] of this.regions) regions[k] = Buffer.from(v);
    const journal = this.journal
      ? { committed: this.journal.committed, writes: this.journal.writes.map((w) => ({ ...w, bytes: Buffer.from(w.bytes) })) }
      : null;
    return { regions, journal };
  }

  /** Overwrites region contents in place (the regions must exist with the same sizes). */
  load(regions: Record<string, Buffer>, journal: NvmJournal | null): void {
    for (const [k, v] of Object.entries(regions)) {
      const r = this.get(k);
      if (r.length !== v.length) throw new Error(`region ${k}: ${v.length} bytes, expected ${r.length}`);
      v.copy(r);
    }
    this.journal = journal
      ? { committed: journal.committed, writes: journal.writes.map((w) => ({ ...w, bytes: Buffer.from(w.bytes) })) }
      : null;
  }
}

/** Splits writes at page boundaries of their region: each piece is one programming step. */
function splitPages(writes: readonly NvmWrite[]): NvmWrite[] {
  const out: NvmWrite[] = [];
  for (const w of writes) {
    let off = w.offset;
    let pos = 0;
    while (pos < w.bytes.length) {
      const room = PAGE_SIZE - (off % PAGE_SIZE);
      const n = Math.min(room, w.bytes.length - pos);
      out.push({ region: w.region, offset: off, bytes: w.bytes.subarray(pos, pos + n) });
      off += n;
      pos += n;
    }
  }
  return out;
}
