import { decodeFlat, FlatTlv, hexTag, TlvError } from '../tlv';
import { CardDataError, type DataLocation } from './errors';
import type { IsoDate } from './types';

/**
 * Strict readers for the primitive encodings of the layout (docs/card-layout.md): dates are
 * 4-byte BCD YYYYMMDD, integers unsigned big-endian in 1 to 4 bytes with no leading zero byte,
 * text UTF-8, codes printable ASCII. Each failure is a CardDataError naming file, record, field
 * and the byte offset inside the record.
 *
 * This is the reader's own code: it shares nothing with the emulator's encoder but the tag
 * numbers (layout.ts); golden vectors pin the bytes both sides must agree on.
 */

/**
 * Where each one-byte tag sits among one template's children: filled in one pass the first time
 * a template looks a field up, so eight fields cost one pass, not eight. Shared by all templates
 * (decoding is synchronous); `owner` says whose children it holds, and a template whose index
 * was overwritten (a nested one read in between) fills it again.
 */
const byTag = {
  owner: undefined as object | undefined,
  build: 0,
  /** The build that saw the tag; any other value: the tag is not among the children. */
  seen: new Int32Array(256),
  first: new Int32Array(256),
  /** The second node with the tag, or -1. */
  second: new Int32Array(256),
};

/**
 * A template's children with the location they came from, for errors that point at a byte. A
 * field is named by its node's index in the flat tree (decodeFlat): reading a 400-record ring
 * allocates no node object and no Buffer view per field.
 */
export class Template {
  constructor(
    private readonly tree: FlatTlv,
    /** The constructed node whose children this template reads. */
    private readonly parent: number,
    readonly at: DataLocation,
    /** Where the record starts in the tree's bytes: error offsets count from there. */
    private readonly base = 0,
    /** The nested template's own field ("lines[1]"): built into a location only on failure. */
    private readonly prefix?: { readonly field: string; readonly index?: number; readonly parent?: string },
  ) {}

  private prefixName(): string | undefined {
    const p = this.prefix;
    if (p === undefined) return undefined;
    const own = p.index === undefined ? p.field : `${p.field}[${p.index}]`;
    return p.parent === undefined ? own : `${p.parent}.${own}`;
  }

  /** The bytes the tree was decoded from. */
  get bytes(): Buffer {
    return this.tree.buf;
  }

  start(node: number): number {
    return this.tree.starts[node]!;
  }

  end(node: number): number {
    return this.tree.ends[node]!;
  }

  /** Location of `field` (qualified by the nested template's own field, e.g. "lines[1].quantity"). */
  loc(field: string, node?: number): DataLocation {
    const prefix = this.prefixName();
    const qualified = prefix === undefined ? field : `${prefix}.${field}`;
    return { ...this.at, field: qualified, ...(node !== undefined ? { offset: this.start(node) - this.base } : {}) };
  }

  fail(field: string, message: string, node?: number): never {
    throw new CardDataError(this.loc(field, node), message);
  }

  /** The single node with `tag`; missing or repeated is an error. */
  one(tag: number, field: string): number {
    const n = this.opt(tag, field);
    if (n === undefined) this.fail(field, `missing (tag ${hexTag(tag)})`);
    return n;
  }

  /** The node with `tag` if present; repeated is an error. */
  opt(tag: number, field: string): number | undefined {
    if (tag <= 0xff) {
      // One-byte tags, all of the layout's fields: through the index, one pass per template.
      if (byTag.owner !== this) this.index();
      if (byTag.seen[tag] !== byTag.build) return undefined;
      const second = byTag.second[tag]!;
      if (second >= 0) this.fail(field, `tag ${hexTag(tag)} appears twice`, second);
      return byTag.first[tag];
    }
    const { tags, after } = this.tree;
    let found: number | undefined;
    for (let c = this.parent + 1, stop = after[this.parent]!; c < stop; c = after[c]!) {
      if (tags[c] !== tag) continue;
      if (found !== undefined) this.fail(field, `tag ${hexTag(tag)} appears twice`, c);
      found = c;
    }
    return found;
  }

  /** Fills the shared tag index with this template's children. */
  private index(): void {
    const { tags, after } = this.tree;
    if (++byTag.build === 0x7fffffff) {
      byTag.seen.fill(0);
      byTag.build = 1;
    }
    const build = byTag.build;
    for (let c = this.parent + 1, stop = after[this.parent]!; c < stop; c = after[c]!) {
      const tag = tags[c]!;
      if (tag > 0xff) continue;
      if (byTag.seen[tag] !== build) {
        byTag.seen[tag] = build;
        byTag.first[tag] = c;
        byTag.second[tag] = -1;
      } else if (byTag.second[tag]! < 0) {
        byTag.second[tag] = c;
      }
    }
    byTag.owner = this;
  }

  all(tag: number): number[] {
    const { tags, after } = this.tree;
    const out: number[] = [];
    for (let c = this.parent + 1, stop = after[this.parent]!; c < stop; c = after[c]!) if (tags[c] === tag) out.push(c);
    return out;
  }

  /**
   * A constructed child as its own Template (same bytes, so offsets stay record-relative); its
   * fields are named `field[index].x` in errors.
   */
  nested(node: number, field: string, index?: number): Template {
    const name = index === undefined ? field : `${field}[${index}]`;
    if (!this.tree.constructed[node]) this.fail(name, `tag ${hexTag(this.tree.tags[node]!)} should be constructed`, node);
    return new Template(this.tree, node, this.at, this.base, { field, index, parent: this.prefixName() });
  }

  date(tag: number, field: string, repeats = false): IsoDate {
    return readDate(this, this.one(tag, field), field, repeats);
  }

  uint(tag: number, field: string, min = 0, max = 0xffffffff): number {
    return readUint(this, this.one(tag, field), field, min, max);
  }

  text(tag: number, field: string, maxBytes = 255): string {
    return readText(this, this.one(tag, field), field, maxBytes);
  }

  code(tag: number, field: string, maxBytes = 32, repeats = false): string {
    return readCode(this, this.one(tag, field), field, maxBytes, repeats);
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Interned strings, for values passed with `repeats`: a card's rings repeat the same few dates,
 * pharmacies and products hundreds of times, and a direct-mapped cache (checked byte for byte,
 * so a collision only costs a miss) hands back the string built the first time instead of
 * building it again for every record. Values that identify a person (the holder's number,
 * names, birth dates) are never passed with `repeats`: they must not outlive the objects that
 * hold them.
 */
const DATE_CACHE_SIZE = 1024;
const dateKeys = new Int32Array(DATE_CACHE_SIZE).fill(-1);
const dateValues: (string | undefined)[] = new Array<string | undefined>(DATE_CACHE_SIZE).fill(undefined);
const CODE_CACHE_SIZE = 1024;
const codeValues: (string | undefined)[] = new Array<string | undefined>(CODE_CACHE_SIZE).fill(undefined);

/** The cached string equal to the ASCII bytes `v[at, end)` in `slot`, if that is what it holds. */
function cachedAscii(slot: number, v: Buffer, at: number, end: number): string | undefined {
  const c = codeValues[slot];
  if (c === undefined || c.length !== end - at) return undefined;
  for (let i = at; i < end; i++) if (c.charCodeAt(i - at) !== v[i]) return undefined;
  return c;
}

function readDate(t: Template, node: number, field: string, repeats = false): IsoDate {
  const v = t.bytes;
  const at = t.start(node);
  const n = t.end(node) - at;
  if (n !== 4) t.fail(field, `a date is 4 BCD bytes, got ${n}`, node);
  let digits = 0;
  for (let i = at; i < at + 4; i++) {
    const b = v[i]!;
    const hi = b >> 4;
    const lo = b & 0x0f;
    if (hi > 9 || lo > 9) t.fail(field, `byte ${b.toString(16).padStart(2, '0')} is not BCD`, node);
    digits = digits * 100 + hi * 10 + lo;
  }
  const y = Math.floor(digits / 10000);
  const m = Math.floor(digits / 100) % 100;
  const d = digits % 100;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = m === 2 && leap ? 29 : DAYS_IN_MONTH[m - 1];
  if (dim === undefined || d < 1 || d > dim) t.fail(field, `${String(digits).padStart(8, '0')} is not a calendar date`, node);
  const slot = digits & (DATE_CACHE_SIZE - 1);
  if (repeats && dateKeys[slot] === digits) return dateValues[slot]!;
  // The BCD nibbles are the digits of YYYY-MM-DD: one string from ten char codes.
  const digit = (i: number, shift: number): number => 0x30 + ((v[at + i]! >> shift) & 0x0f);
  const iso = String.fromCharCode(
    digit(0, 4),
    digit(0, 0),
    digit(1, 4),
    digit(1, 0),
    0x2d,
    digit(2, 4),
    digit(2, 0),
    0x2d,
    digit(3, 4),
    digit(3, 0),
  );
  if (repeats) {
    dateKeys[slot] = digits;
    dateValues[slot] = iso;
  }
  return iso;
}

function readUint(t: Template, node: number, field: string, min = 0, max = 0xffffffff): number {
  const v = t.bytes;
  const at = t.start(node);
  const end = t.end(node);
  const len = end - at;
  if (len < 1 || len > 4) t.fail(field, `an integer is 1 to 4 bytes, got ${len}`, node);
  if (len > 1 && v[at] === 0) t.fail(field, 'integer not in its shortest form (leading 00)', node);
  let n = 0;
  for (let i = at; i < end; i++) n = n * 256 + v[i]!;
  if (n < min || n > max) t.fail(field, `${n} is out of range ${min}..${max}`, node);
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readText(t: Template, node: number, field: string, maxBytes = 255): string {
  const v = t.bytes;
  const at = t.start(node);
  const end = t.end(node);
  const len = end - at;
  if (len === 0) t.fail(field, 'empty text', node);
  if (len > maxBytes) t.fail(field, `text of ${len} bytes exceeds ${maxBytes}`, node);
  let ascii = true;
  let control = false;
  for (let i = at; i < end; i++) {
    const b = v[i]!;
    // UTF-8 encodes U+0000..U+007F as those bytes, and no multi-byte sequence holds one.
    if (b < 0x20 || b === 0x7f) control = true;
    else if (b > 0x7f) ascii = false;
  }
  let s: string | undefined;
  if (!ascii) {
    try {
      s = utf8.decode(v.subarray(at, end));
    } catch {
      t.fail(field, 'not valid UTF-8', node);
    }
  }
  // Control characters in a name would corrupt receipts and logs.
  if (control) t.fail(field, 'contains a control character', node);
  return s ?? asciiString(v, at, end, false);
}

export function readCode(t: Template, node: number, field: string, maxBytes = 32, repeats = false): string {
  const v = t.bytes;
  const at = t.start(node);
  const end = t.end(node);
  if (end === at) t.fail(field, 'empty code', node);
  if (end - at > maxBytes) t.fail(field, `code of ${end - at} bytes exceeds ${maxBytes}`, node);
  for (let i = at; i < end; i++) {
    const b = v[i]!;
    if (b < 0x20 || b > 0x7e) t.fail(field, `byte ${b.toString(16).padStart(2, '0')} is not printable ASCII`, node);
  }
  return asciiString(v, at, end, repeats);
}

/** The string of ASCII bytes `v[at, end)`; interned if it `repeats`. */
function asciiString(v: Buffer, at: number, end: number, repeats: boolean): string {
  let slot = -1;
  if (repeats) {
    // FNV-1a over the bytes picks the cache slot.
    let h = 0x811c9dc5;
    for (let i = at; i < end; i++) h = Math.imul(h ^ v[i]!, 0x01000193);
    slot = (h >>> 0) & (CODE_CACHE_SIZE - 1);
    const hit = cachedAscii(slot, v, at, end);
    if (hit !== undefined) return hit;
  }
  // Short strings: a char at a time beats a latin1 slice's call into C++.
  let s = '';
  for (let i = at; i < end; i++) s += String.fromCharCode(v[i]!);
  if (slot >= 0) codeValues[slot] = s;
  return s;
}

/**
 * The one tree every decode reuses: decoding is synchronous and a Template is read to the end
 * before the next readTemplate, so 450 records need no 450 sets of arrays.
 */
const scratch = new FlatTlv();

/**
 * Decodes a record or transparent file, `bytes[start, end)`, with `read`: one constructed
 * template with the expected tag, then only 00 padding; `read` gets its children as a Template.
 * Afterwards the shared tree and tag index let go of the bytes: card data (names, medical
 * notes) must not stay reachable from a module-level scratch once its decoding is over.
 */
export function decodeTemplate<T>(
  bytes: Buffer,
  templateTag: number,
  at: DataLocation,
  read: (t: Template) => T,
  start = 0,
  end = bytes.length,
): T {
  try {
    return read(readTemplate(bytes, templateTag, at, start, end));
  } finally {
    scratch.buf = EMPTY;
    byTag.owner = undefined;
  }
}

const EMPTY = Buffer.alloc(0);

/** The Template of decodeTemplate, valid until the next readTemplate. */
function readTemplate(bytes: Buffer, templateTag: number, at: DataLocation, start = 0, end = bytes.length): Template {
  let tree: FlatTlv;
  try {
    tree = decodeFlat(bytes, { allowTrailing: true, start, end }, scratch);
  } catch (err) {
    if (err instanceof TlvError) {
      const offset = err.offset - start;
      throw new CardDataError({ ...at, offset }, `malformed TLV: ${err.reason} at offset ${offset}`, { cause: err });
    }
    throw err;
  }
  if (tree.count === 0) throw new CardDataError(at, 'empty (padding only)');
  if (tree.tags[0] !== templateTag) {
    throw new CardDataError({ ...at, offset: 0 }, `expected template ${hexTag(templateTag)}, found tag ${hexTag(tree.tags[0]!)}`);
  }
  if (tree.after[0] !== tree.count) throw new CardDataError({ ...at, offset: tree.ends[0]! - start }, 'data after the template');
  if (!tree.constructed[0]) throw new CardDataError({ ...at, offset: 0 }, 'the template is not constructed');
  return new Template(tree, 0, at, start);
}

/** Inverse lookup for the layout's code tables: { insured: 1, ... } → 1 → 'insured'. */
export function enumOf<K extends string>(table: Readonly<Record<K, number>>, t: Template, node: number, field: string): K {
  const n = readUint(t, node, field, 0, 0xff);
  const name = inverse(table)[n];
  return name ?? t.fail(field, `unknown code ${n}`, node);
}

const inverses = new WeakMap<object, readonly (string | undefined)[]>();

/** A code table turned around, value → name, built once per table. */
function inverse<K extends string>(table: Readonly<Record<K, number>>): readonly (K | undefined)[] {
  let inv = inverses.get(table);
  if (!inv) {
    const out = new Array<K | undefined>(256).fill(undefined);
    for (const [k, v] of Object.entries(table) as [K, number][]) out[v] = k;
    inverses.set(table, (inv = out));
  }
  return inv as readonly (K | undefined)[];
}
