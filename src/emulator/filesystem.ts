import type { FileSpec } from '../card/layout';
import { type Nvm, type NvmWrite } from './nvm';

/**
 * The card's file system (ISO 7816-4 §7.1): a master file, dedicated files (applications, with a
 * DF name = AID) and elementary files — transparent, linear-fixed and cyclic record files.
 *
 * Definitions (`DfDef`, `EfDef`) are plain data so a card's structure can be written to a state
 * file and rebuilt; the bytes live in NVM regions (see nvm.ts), so every change goes through a
 * transaction and is tearing-safe.
 *
 * Record files keep a 4-byte header region: record count (2 bytes) and, for cyclic files, the
 * slot index of record number 1 (2 bytes). A cyclic file is a true ring buffer: APPEND RECORD
 * writes the slot after the head, moves the head there, and once the file is full that slot held
 * the oldest record, which is thereby dropped (ISO 7816-4 §7.3.1: "the new record becomes record
 * number 1"). Record n (1 = newest) is at slot (head − n + 1) mod capacity.
 */

/** An EF definition has the layout's shape (SFI 0 for a file without one, in custom test file systems). */
export type EfDef = FileSpec;

export interface DfDef {
  readonly name: string;
  readonly fid: number;
  /** DF name (AID), hex; absent for the MF. */
  readonly aid?: string;
  readonly efs: readonly EfDef[];
  readonly dfs?: readonly DfDef[];
}

export const MF_FID = 0x3f00;

export class TransparentEf {
  readonly kind = 'transparent' as const;
  constructor(
    readonly def: EfDef,
    readonly parent: Df,
    private readonly nvm: Nvm,
    readonly region: string,
  ) {}

  get size(): number {
    return this.def.size;
  }

  /** The file's bytes (a live view: do not modify, stage writes instead). */
  get data(): Buffer {
    return this.nvm.get(this.region);
  }

  stageWrite(offset: number, bytes: Buffer): NvmWrite[] {
    return [{ region: this.region, offset, bytes: Buffer.from(bytes) }];
  }
}

export class RecordEf {
  readonly kind: 'linear-fixed' | 'cyclic';
  constructor(
    readonly def: EfDef,
    readonly parent: Df,
    private readonly nvm: Nvm,
    readonly region: string,
    readonly headerRegion: string,
  ) {
    this.kind = def.kind === 'cyclic' ? 'cyclic' : 'linear-fixed';
  }

  get recordLength(): number {
    return this.def.size;
  }

  get capacity(): number {
    return this.def.maxRecords ?? 0;
  }

  /** Number of records currently in the file. */
  get count(): number {
    return this.nvm.get(this.headerRegion).readUInt16BE(0);
  }

  /** Slot of record number 1 (cyclic files). */
  get head(): number {
    return this.nvm.get(this.headerRegion).readUInt16BE(2);
  }

  /** `head` saves reading the header again when many records are looked up at once. */
  private slotOf(n: number, head?: number): number {
    if (this.kind === 'cyclic') return ((head ?? this.head) - (n - 1) + this.capacity * 2) % this.capacity;
    return n - 1;
  }

  /** Record n (1-based; 1 = newest in a cyclic file) as a view, or undefined beyond the count. */
  record(n: number): Buffer | undefined {
    if (!Number.isInteger(n) || n < 1 || n > this.count) return undefined;
    const len = this.recordLength;
    const off = this.slotOf(n) * len;
    return this.nvm.get(this.region).subarray(off, off + len);
  }

  /**
   * Copies `n` records into `out` from offset 0, numbered from record `first` upward
   * (`step` 1) or downward (`step` -1): READ RECORD(S) answers of hundreds of records, with the
   * file's header and memory looked up once.
   */
  copyRecords(out: Buffer, first: number, n: number, step: 1 | -1): void {
    const len = this.recordLength;
    const views = this.slotViews();
    const head = this.kind === 'cyclic' ? this.head : undefined;
    for (let i = 0, num = first; i < n; i++, num += step) out.set(views[this.slotOf(num, head)]!, i * len);
  }

  /**
   * A view of each slot, made once: TypedArray.set from a view copies a record at memcpy speed,
   * where Buffer.copy checks its arguments in JavaScript every time. The region's Buffer is fixed
   * for the life of the card (writes change its bytes, never replace it), so the views stay true.
   */
  private slotViews(): Buffer[] {
    const mem = this.nvm.get(this.region);
    if (this.views?.mem !== mem) {
      const len = this.recordLength;
      this.views = { mem, slots: Array.from({ length: mem.length / len }, (_, i) => mem.subarray(i * len, i * len + len)) };
    }
    return this.views.slots;
  }

  private views: { mem: Buffer; slots: Buffer[] } | undefined;

  /** Writes for UPDATE RECORD n (record must exist); `bytes` is padded with 00 to the record length. */
  stageUpdate(n: number, bytes: Buffer): NvmWrite[] {
    const off = this.slotOf(n) * this.recordLength;
    return [{ region: this.region, offset: off, bytes: pad(bytes, this.recordLength) }];
  }

  /** Writes for APPEND RECORD, or 'full' for a full linear file (ISO: '6A84'). */
  stageAppend(bytes: Buffer): NvmWrite[] | 'full' {
    const count = this.count;
    const cap = this.capacity;
    const rec = pad(bytes, this.recordLength);
    const header = Buffer.alloc(4);
    if (this.kind === 'linear-fixed') {
      if (count >= cap) return 'full';
      header.writeUInt16BE(count + 1, 0);
      return [
        { region: this.region, offset: count * this.recordLength, bytes: rec },
        { region: this.headerRegion, offset: 0, bytes: header },
      ];
    }
    const slot = count === 0 ? 0 : (this.head + 1) % cap;
    header.writeUInt16BE(Math.min(count + 1, cap), 0);
    header.writeUInt16BE(slot, 2);
    // Record bytes first, header last: without a journal, a tear between them leaves the old
    // header pointing at a half-written slot, which is exactly what anti-tearing prevents.
    return [
      { region: this.region, offset: slot * this.recordLength, bytes: rec },
      { region: this.headerRegion, offset: 0, bytes: header },
    ];
  }
}

export type Ef = TransparentEf | RecordEf;

export class Df {
  readonly efs: Ef[] = [];
  readonly dfs: Df[] = [];
  readonly aid: Buffer | undefined;
  constructor(
    readonly def: DfDef,
    readonly parent: Df | undefined,
    readonly path: string,
  ) {
    this.aid = def.aid ? Buffer.from(def.aid, 'hex') : undefined;
  }

  get fid(): number {
    return this.def.fid;
  }

  efByFid(fid: number): Ef | undefined {
    return this.efs.find((e) => e.def.fid === fid);
  }

  efBySfi(sfi: number): Ef | undefined {
    return this.efs.find((e) => e.def.sfi === sfi);
  }

  childDf(fid: number): Df | undefined {
    return this.dfs.find((d) => d.fid === fid);
  }
}

/** ISO 7816-4 §7.1.1: record lengths, sizes and identifiers a definition must respect. */
export function checkDef(df: DfDef, seen = new Set<number>()): void {
  if (!Number.isInteger(df.fid) || df.fid < 0 || df.fid > 0xffff) throw new Error(`${df.name}: bad FID`);
  const fids = new Set<number>();
  const sfis = new Set<number>();
  for (const ef of df.efs) {
    if (fids.has(ef.fid)) throw new Error(`${df.name}: FID ${ef.fid.toString(16)} used twice`);
    fids.add(ef.fid);
    if (ef.fid === MF_FID || ef.fid === 0xffff || ef.fid === 0x3fff) throw new Error(`${ef.name}: reserved FID`);
    if (ef.sfi !== 0) {
      if (ef.sfi < 1 || ef.sfi > 30) throw new Error(`${ef.name}: SFI must be 1..30`);
      if (sfis.has(ef.sfi)) throw new Error(`${df.name}: SFI ${ef.sfi} used twice`);
      sfis.add(ef.sfi);
    }
    if (ef.kind === 'transparent') {
      if (ef.size < 1 || ef.size > 0x7fff) throw new Error(`${ef.name}: size must be 1..32767`);
    } else {
      // READ RECORD returns a record in one response: at most 255 bytes keeps short APDUs usable.
      if (ef.size < 1 || ef.size > 255) throw new Error(`${ef.name}: record length must be 1..255`);
      if (!ef.maxRecords || ef.maxRecords < 1 || ef.maxRecords > 0xfffe) throw new Error(`${ef.name}: maxRecords must be 1..65534`);
    }
  }
  for (const sub of df.dfs ?? []) {
    if (fids.has(sub.fid)) throw new Error(`${df.name}: FID ${sub.fid.toString(16)} used twice`);
    fids.add(sub.fid);
    checkDef(sub, seen);
  }
}

/** Builds the runtime tree and defines its NVM regions (zero-filled, empty record files). */
export function buildFileSystem(mf: DfDef, nvm: Nvm): Df {
  checkDef(mf);
  const build = (def: DfDef, parent: Df | undefined): Df => {
    const path = parent ? `${parent.path}/${hex4(def.fid)}` : hex4(def.fid);
    const df = new Df(def, parent, path);
    for (const ef of def.efs) {
      const region = `${path}/${hex4(ef.fid)}`;
      if (ef.kind === 'transparent') {
        nvm.define(region, Buffer.alloc(ef.size));
        df.efs.push(new TransparentEf(ef, df, nvm, region));
      } else {
        nvm.define(region, Buffer.alloc(ef.size * (ef.maxRecords ?? 0)));
        nvm.define(`${region}#hdr`, Buffer.alloc(4));
        df.efs.push(new RecordEf(ef, df, nvm, region, `${region}#hdr`));
      }
    }
    for (const sub of def.dfs ?? []) df.dfs.push(build(sub, df));
    return df;
  };
  return build(mf, undefined);
}

/** Every DF of the tree, MF first (depth-first). */
export function allDfs(mf: Df): Df[] {
  const out: Df[] = [];
  const walk = (d: Df): void => {
    out.push(d);
    d.dfs.forEach(walk);
  };
  walk(mf);
  return out;
}

/**
 * Checks the structural invariants a command must never break: record counts within capacity,
 * ring heads within the file, linear files without gaps. Returns the problems found (empty: sane).
 */
export function fsProblems(mf: Df): string[] {
  const out: string[] = [];
  for (const df of allDfs(mf)) {
    for (const ef of df.efs) {
      if (ef.kind === 'transparent') continue;
      if (ef.count > ef.capacity) out.push(`${ef.def.name}: ${ef.count} records > capacity ${ef.capacity}`);
      if (ef.kind === 'cyclic' && ef.count > 0 && ef.head >= ef.capacity) out.push(`${ef.def.name}: head ${ef.head} outside the ring`);
      if (ef.kind === 'linear-fixed' && ef.head !== 0) out.push(`${ef.def.name}: linear file with a ring head`);
    }
  }
  return out;
}

export function pad(bytes: Buffer, length: number): Buffer {
  if (bytes.length > length) throw new Error(`${bytes.length} bytes do not fit in ${length}`);
  const out = Buffer.alloc(length);
  bytes.copy(out);
  return out;
}

export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
