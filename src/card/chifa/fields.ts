import { isIsoDate } from '../../common/calendar-date';
import { isUtf8 } from 'node:buffer';
import { decodeTlv, hexTag, TlvError, type TlvNode } from '../tlv';
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

/** A template's children with the location they came from, for errors that point at a byte. */
export class Template {
  constructor(
    readonly children: readonly TlvNode[],
    /** The record or file the nodes are views of: offsets in errors count from its first byte. */
    private readonly base: Buffer,
    /** Where the template sits; `field` is set for a nested template ("lines[1]"). */
    readonly at: DataLocation,
  ) {}

  offsetOf(node: TlvNode): number {
    return node.value.byteOffset - this.base.byteOffset;
  }

  /** Location of `field` (qualified by the nested template's own field, e.g. "lines[1].quantity"). */
  loc(field: string, node?: TlvNode): DataLocation {
    const qualified = this.at.field === undefined ? field : `${this.at.field}.${field}`;
    return { ...this.at, field: qualified, ...(node ? { offset: this.offsetOf(node) } : {}) };
  }

  fail(field: string, message: string, node?: TlvNode): never {
    throw new CardDataError(this.loc(field, node), message);
  }

  /** The single node with `tag`; missing or repeated is an error. */
  one(tag: number, field: string): TlvNode {
    const n = this.opt(tag, field);
    if (!n) this.fail(field, `missing (tag ${hexTag(tag)})`);
    return n;
  }

  /** The node with `tag` if present; repeated is an error. */
  opt(tag: number, field: string): TlvNode | undefined {
    let found: TlvNode | undefined;
    for (const c of this.children) {
      if (c.tag !== tag) continue;
      if (found) this.fail(field, `tag ${hexTag(tag)} appears twice`, c);
      found = c;
    }
    return found;
  }

  all(tag: number): TlvNode[] {
    return this.children.filter((c) => c.tag === tag);
  }

  /** A constructed child as its own Template (same base, so offsets stay record-relative). */
  nested(node: TlvNode, field: string, index?: number): Template {
    const name = index === undefined ? field : `${field}[${index}]`;
    if (!node.children) this.fail(name, `tag ${hexTag(node.tag)} should be constructed`, node);
    return new Template(node.children, this.base, this.loc(name));
  }

  date(tag: number, field: string): IsoDate {
    return readDate(this, this.one(tag, field), field);
  }

  uint(tag: number, field: string, min = 0, max = 0xffffffff): number {
    return readUint(this, this.one(tag, field), field, min, max);
  }

  text(tag: number, field: string, maxBytes = 255): string {
    return readText(this, this.one(tag, field), field, maxBytes);
  }

  code(tag: number, field: string, maxBytes = 32): string {
    return readCode(this, this.one(tag, field), field, maxBytes);
  }
}

function readDate(t: Template, node: TlvNode, field: string): IsoDate {
  const v = node.value;
  if (v.length !== 4) t.fail(field, `a date is 4 BCD bytes, got ${v.length}`, node);
  let digits = 0;
  for (const b of v) {
    const hi = b >> 4;
    const lo = b & 0x0f;
    if (hi > 9 || lo > 9) t.fail(field, `byte ${b.toString(16).padStart(2, '0')} is not BCD`, node);
    digits = digits * 100 + hi * 10 + lo;
  }
  const yyyymmdd = String(digits).padStart(8, '0');
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6)}`;
  if (!isIsoDate(iso)) t.fail(field, `${yyyymmdd} is not a calendar date`, node);
  return iso;
}

function readUint(t: Template, node: TlvNode, field: string, min = 0, max = 0xffffffff): number {
  const v = node.value;
  if (v.length < 1 || v.length > 4) t.fail(field, `an integer is 1 to 4 bytes, got ${v.length}`, node);
  if (v.length > 1 && v[0] === 0) t.fail(field, 'integer not in its shortest form (leading 00)', node);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  if (n < min || n > max) t.fail(field, `${n} is out of range ${min}..${max}`, node);
  return n;
}

export function readText(t: Template, node: TlvNode, field: string, maxBytes = 255): string {
  const v = node.value;
  if (v.length === 0) t.fail(field, 'empty text', node);
  if (v.length > maxBytes) t.fail(field, `text of ${v.length} bytes exceeds ${maxBytes}`, node);
  if (!isUtf8(v)) t.fail(field, 'not valid UTF-8', node);
  // Control characters in a name would corrupt receipts and logs. UTF-8 encodes U+0000..U+007F
  // as those very bytes, and no multi-byte sequence contains one, so the bytes tell.
  if (v.some((b) => b < 0x20 || b === 0x7f)) t.fail(field, 'contains a control character', node);
  return v.toString('utf8');
}

export function readCode(t: Template, node: TlvNode, field: string, maxBytes = 32): string {
  const v = node.value;
  if (v.length === 0) t.fail(field, 'empty code', node);
  if (v.length > maxBytes) t.fail(field, `code of ${v.length} bytes exceeds ${maxBytes}`, node);
  for (const b of v) {
    if (b < 0x20 || b > 0x7e) t.fail(field, `byte ${b.toString(16).padStart(2, '0')} is not printable ASCII`, node);
  }
  return v.toString('latin1');
}

/**
 * Decodes a record or transparent file: one constructed template with the expected tag, then only
 * 00 padding. Returns its children as a Template; offsets in errors count from the first byte of
 * `bytes`.
 */
export function readTemplate(bytes: Buffer, templateTag: number, at: DataLocation): Template {
  let nodes: TlvNode[];
  try {
    nodes = decodeTlv(bytes, { allowTrailing: true });
  } catch (err) {
    if (err instanceof TlvError) throw new CardDataError({ ...at, offset: err.offset }, `malformed TLV: ${err.message}`, { cause: err });
    throw err;
  }
  const node = nodes[0];
  if (node === undefined) throw new CardDataError(at, 'empty (padding only)');
  if (node.tag !== templateTag) {
    throw new CardDataError({ ...at, offset: 0 }, `expected template ${hexTag(templateTag)}, found tag ${hexTag(node.tag)}`);
  }
  if (nodes.length > 1) {
    throw new CardDataError({ ...at, offset: node.value.byteOffset - bytes.byteOffset + node.value.length }, 'data after the template');
  }
  if (!node.children) throw new CardDataError({ ...at, offset: 0 }, 'the template is not constructed');
  return new Template(node.children, bytes, at);
}

/** Inverse lookup for the layout's code tables: { insured: 1, ... } → 1 → 'insured'. */
export function enumOf<K extends string>(table: Readonly<Record<K, number>>, t: Template, node: TlvNode, field: string): K {
  const n = readUint(t, node, field, 0, 0xff);
  for (const [name, code] of Object.entries(table) as [K, number][]) if (code === n) return name;
  return t.fail(field, `unknown code ${n}`, node);
}
