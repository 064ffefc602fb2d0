import { ChifaError } from '../common/errors';

/**
 * A strict BER-TLV codec for the data objects of ISO/IEC 7816-4 §6.3 (encoding rules of
 * ISO/IEC 8825-1 / X.690 §8.1 restricted to definite lengths).
 *
 * Strict means: every byte string yields either a tree or a TlvError naming the offset; there is
 * no silent truncation and no "repair", so what decodes re-encodes to the same bytes. Values are
 * views (subarray) of the input, so an offset into a record is a difference of byte offsets. Tags are numbers holding their encoded bytes (0x9F27, 0x7F4E,
 * 0xE1...), the way card specifications write them.
 */

export interface TlvPrimitive {
  readonly tag: number;
  readonly value: Buffer;
  readonly children?: undefined;
}
/** A constructed data object: its children, in order. */
export interface TlvConstructed {
  readonly tag: number;
  readonly children: readonly TlvNode[];
  /** The encoded contents of the constructed object (its children's bytes). */
  readonly value: Buffer;
}
/** A decoded BER-TLV data object. */
export type TlvNode = TlvPrimitive | TlvConstructed;

/** What a caller gives to encode: a primitive value or a list of children. */
export type TlvInput = { tag: number; value: Uint8Array } | { tag: number; children: readonly TlvInput[] };

/** The `code` of a TlvError: what is wrong with the encoding. */
export type TlvErrorCode =
  | 'truncated-tag'
  | 'tag-too-long'
  | 'non-minimal-tag'
  | 'invalid-tag'
  | 'truncated-length'
  | 'indefinite-length'
  | 'length-too-long'
  | 'non-minimal-length'
  | 'length-beyond-buffer'
  | 'value-truncated'
  | 'trailing-bytes'
  | 'too-deep'
  | 'invalid-input';

/** Bad BER-TLV bytes; `offset` is where decoding stopped. */
export class TlvError extends ChifaError {
  readonly offset: number;
  constructor(code: TlvErrorCode, reason: string, offset: number) {
    super(code, `${reason} at offset ${offset}`);
    this.offset = offset;
  }
}

/** Options of decodeTlv and decodeOne. */
export interface DecodeOptions {
  /** Accept bytes after the last object (e.g. record padding). Default false. */
  allowTrailing?: boolean;
  /** Decode constructed objects' children. Default true. */
  deep?: boolean;
  /** Maximum nesting depth. Default 16. */
  maxDepth?: number;
}

/** Tags up to 4 bytes: enough for every ISO 7816 and EMV tag, and fits a 32-bit number. */
const MAX_TAG_BYTES = 4;
/** Lengths up to 4 subsequent bytes (§ X.690 8.1.3.5), i.e. '84' + 4 bytes. */
const MAX_LENGTH_BYTES = 4;

/** Whether the tag's first byte has the constructed bit (b6) set. */
export function isConstructed(tag: number): boolean {
  return (firstTagByte(tag) & 0x20) !== 0;
}

function firstTagByte(tag: number): number {
  if (tag > 0xffffff) return tag >>> 24;
  if (tag > 0xffff) return tag >>> 16;
  if (tag > 0xff) return tag >>> 8;
  return tag;
}

/**
 * Decodes a sequence of BER-TLV objects from `input`. Throws TlvError on the first malformed
 * byte. With allowTrailing, decoding stops at the first byte that is '00' or 'FF' where a tag
 * would start (ISO 7816-4 §6.3 padding) — everything after must then be padding too.
 */
export function decodeTlv(input: Uint8Array, options: DecodeOptions = {}): TlvNode[] {
  const buf = asBuffer(input);
  const allowTrailing = options.allowTrailing === true;
  const out: TlvNode[] = [];
  const stop = parseSequence(buf, 0, buf.length, options.deep !== false, options.maxDepth ?? 16, 0, out, allowTrailing);
  if (stop < buf.length && !allowTrailing) {
    throw new TlvError('trailing-bytes', `${buf.length - stop} unexpected bytes after the last object`, stop);
  }
  return out;
}

/** Decodes exactly one object (trailing bytes are an error unless allowed). */
export function decodeOne(input: Uint8Array, options: DecodeOptions = {}): TlvNode {
  const nodes = decodeTlv(input, options);
  if (nodes.length === 0) throw new TlvError('truncated-tag', 'expected a data object', 0);
  if (nodes.length > 1 && options.allowTrailing !== true) {
    throw new TlvError('trailing-bytes', 'more than one data object', encodedLength(nodes[0]!));
  }
  return nodes[0]!;
}

/** The tag and length fields of one data object, as readTlvHeader found them. */
export interface TlvHeader {
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the length field: where an error about the length points. */
  readonly lengthAt: number;
  readonly valueStart: number;
  /** The length as encoded; the value may run past the bytes given (decodeTlv checks that it does not). */
  readonly length: number;
}

/**
 * Reads, strictly, the tag and length fields of the data object at `pos` (X.690 §8.1.2, §8.1.3:
 * minimal tag and length encodings, definite lengths only), looking no further than `end`.
 * A header cut short by `end` is a 'truncated-tag' or 'truncated-length' TlvError.
 */
export function readTlvHeader(input: Uint8Array, pos = 0, end = input.length): TlvHeader {
  const start = pos;
  if (pos >= end) throw new TlvError('truncated-tag', 'expected a data object', pos);
  let b = input[pos]!;
  if (b === 0x00) throw new TlvError('invalid-tag', "tag '00' is not a data object", pos);
  let tag = b;
  const constructed = (b & 0x20) !== 0;
  pos++;
  if ((b & 0x1f) === 0x1f) {
    // Subsequent tag bytes: b8 set means another byte follows (X.690 8.1.2.4).
    if (pos >= end) throw new TlvError('truncated-tag', 'tag ends before its subsequent bytes', pos);
    b = input[pos]!;
    if (b === 0x80) throw new TlvError('non-minimal-tag', 'first subsequent tag byte is 80', pos);
    let n = 1;
    tag = (tag << 8) | b;
    pos++;
    while (b & 0x80) {
      if (++n >= MAX_TAG_BYTES) throw new TlvError('tag-too-long', `tag longer than ${MAX_TAG_BYTES} bytes`, start);
      if (pos >= end) throw new TlvError('truncated-tag', 'tag ends before its last byte', pos);
      b = input[pos++]!;
      tag = (tag << 8) | b;
    }
    tag >>>= 0;
    if (n === 1 && b < 0x1f) throw new TlvError('non-minimal-tag', 'tag number below 31 in the long form', start);
  }
  if (pos >= end) throw new TlvError('truncated-length', 'missing length', pos);
  const lengthAt = pos;
  let length = input[pos]!;
  pos++;
  if (length & 0x80) {
    const k = length & 0x7f;
    if (k === 0) throw new TlvError('indefinite-length', 'indefinite length is not allowed', lengthAt);
    if (k > MAX_LENGTH_BYTES) throw new TlvError('length-too-long', `length field of ${k} bytes`, lengthAt);
    if (pos + k > end) throw new TlvError('truncated-length', 'length field ends early', pos);
    length = 0;
    for (let i = 0; i < k; i++) length = length * 256 + input[pos + i]!;
    // Minimal encoding: the long form only from 128, and no leading zero byte.
    if (length < 0x80 || input[pos] === 0) {
      throw new TlvError('non-minimal-length', `length ${length} not in its shortest form`, lengthAt);
    }
    pos += k;
  }
  return { tag, constructed, lengthAt, valueStart: pos, length };
}

/**
 * With allowPadding, whether `pos` starts ISO 7816-4 §6.3 padding ('00' or 'FF' where a tag would
 * start); if so, everything up to `end` must be padding too, or it is trailing garbage.
 */
function atPadding(buf: Buffer, pos: number, end: number): boolean {
  const b = buf[pos];
  if (b !== 0x00 && b !== 0xff) return false;
  for (let i = pos; i < end; i++) {
    if (buf[i] !== 0x00 && buf[i] !== 0xff) throw new TlvError('trailing-bytes', 'data after padding', i);
  }
  return true;
}

/** Decodes the objects in `buf[pos, end)` into `out`; returns where it stopped (before padding). */
function parseSequence(
  buf: Buffer,
  pos: number,
  end: number,
  deep: boolean,
  maxDepth: number,
  depth: number,
  out: TlvNode[],
  allowPadding: boolean,
): number {
  while (pos < end) {
    if (allowPadding && depth === 0 && atPadding(buf, pos, end)) return pos;
    const h = readTlvHeader(buf, pos, end);
    const left = end - h.valueStart;
    if (h.length > left) {
      // At the top an overlong length runs past the input, below it past the parent.
      if (depth === 0) throw new TlvError('length-beyond-buffer', `length ${h.length} exceeds the ${left} bytes left`, h.lengthAt);
      throw new TlvError('value-truncated', `length ${h.length} exceeds its parent's ${left} bytes left`, h.lengthAt);
    }
    const valueEnd = h.valueStart + h.length;
    const value = buf.subarray(h.valueStart, valueEnd);
    if (h.constructed && deep) {
      if (depth + 1 > maxDepth) throw new TlvError('too-deep', `nesting deeper than ${maxDepth}`, pos);
      const children: TlvNode[] = [];
      parseSequence(buf, h.valueStart, valueEnd, deep, maxDepth, depth + 1, children, false);
      out.push({ tag: h.tag, children, value });
    } else {
      out.push({ tag: h.tag, value, children: undefined });
    }
    pos = valueEnd;
  }
  return pos;
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Number of bytes of a tag's encoding. */
export function tagLength(tag: number): number {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffffff) throw new TlvError('invalid-input', `tag ${tag} out of range`, 0);
  return tag > 0xffffff ? 4 : tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

function lengthOfLength(len: number): number {
  return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : len <= 0xffffff ? 4 : 5;
}

function contentLength(node: TlvInput): number {
  if ('children' in node && node.children !== undefined) {
    let n = 0;
    for (const c of node.children) n += encodedLength(c);
    return n;
  }
  return (node as { value: Uint8Array }).value.length;
}

/** Size in bytes of a node's minimal encoding. */
export function encodedLength(node: TlvInput | TlvNode): number {
  const len = contentLength(node as TlvInput);
  return tagLength(node.tag) + lengthOfLength(len) + len;
}

/** Checks that a tag number is itself a well-formed, minimal tag encoding. */
function checkTag(tag: number): void {
  const n = tagLength(tag);
  const first = firstTagByte(tag);
  if (first === 0) throw new TlvError('invalid-input', `tag ${tag.toString(16)} starts with 00`, 0);
  if (n === 1) {
    if ((first & 0x1f) === 0x1f) throw new TlvError('invalid-input', `tag ${hexTag(tag)} needs subsequent bytes`, 0);
    return;
  }
  if ((first & 0x1f) !== 0x1f) throw new TlvError('invalid-input', `tag ${hexTag(tag)}: first byte does not announce subsequent bytes`, 0);
  for (let i = n - 2; i >= 0; i--) {
    const b = (tag >>> (i * 8)) & 0xff;
    const last = i === 0;
    if (last === ((b & 0x80) !== 0)) throw new TlvError('invalid-input', `tag ${hexTag(tag)}: bad continuation bit`, 0);
  }
  const second = (tag >>> ((n - 2) * 8)) & 0xff;
  if (second === 0x80 || (n === 2 && second < 0x1f)) throw new TlvError('invalid-input', `tag ${hexTag(tag)} is not minimal`, 0);
}

/** Encodes nodes in minimal (canonical) form. Constructed tags need children, primitive tags a value. */
export function encodeTlv(nodes: TlvInput | readonly TlvInput[]): Buffer {
  const list = Array.isArray(nodes) ? (nodes as readonly TlvInput[]) : [nodes as TlvInput];
  let size = 0;
  for (const n of list) size += encodedLength(n);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const n of list) pos = writeNode(out, pos, n);
  return out;
}

function writeNode(out: Buffer, pos: number, node: TlvInput): number {
  checkTag(node.tag);
  const hasChildren = 'children' in node && node.children !== undefined;
  if (hasChildren !== isConstructed(node.tag)) {
    throw new TlvError(
      'invalid-input',
      `tag ${hexTag(node.tag)} is ${isConstructed(node.tag) ? 'constructed and needs children' : 'primitive and needs a value'}`,
      pos,
    );
  }
  const n = tagLength(node.tag);
  for (let i = n - 1; i >= 0; i--) out[pos++] = (node.tag >>> (i * 8)) & 0xff;
  const len = contentLength(node);
  if (len < 0x80) out[pos++] = len;
  else {
    const k = lengthOfLength(len) - 1;
    if (k > MAX_LENGTH_BYTES) throw new TlvError('invalid-input', `value of ${len} bytes is too long`, pos);
    out[pos++] = 0x80 | k;
    for (let i = k - 1; i >= 0; i--) out[pos++] = Math.floor(len / 2 ** (i * 8)) & 0xff;
  }
  if (hasChildren) {
    for (const c of (node as { children: readonly TlvInput[] }).children) pos = writeNode(out, pos, c);
  } else {
    out.set((node as { value: Uint8Array }).value, pos);
    pos += len;
  }
  return pos;
}

/** First node with `tag` among `nodes` (not recursive). */
export function findTag(nodes: readonly TlvNode[], tag: number): TlvNode | undefined {
  for (const n of nodes) if (n.tag === tag) return n;
  return undefined;
}

/** All nodes with `tag` among `nodes` (not recursive). */
export function findAllTags(nodes: readonly TlvNode[], tag: number): TlvNode[] {
  return nodes.filter((n) => n.tag === tag);
}

/** Follows a path of tags through constructed nodes: findPath(nodes, [0x6f, 0xa5, 0x50]). */
export function findPath(nodes: readonly TlvNode[], path: readonly number[]): TlvNode | undefined {
  let level: readonly TlvNode[] | undefined = nodes;
  let found: TlvNode | undefined;
  for (const tag of path) {
    if (!level) return undefined;
    found = findTag(level, tag);
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}

export function hexTag(tag: number): string {
  return tag
    .toString(16)
    .toUpperCase()
    .padStart(tagLength(tag) * 2, '0');
}

/** Converts a decoded tree back to encoder input (for round trips and re-encoding). */
export function toInput(node: TlvNode): TlvInput {
  return node.children ? { tag: node.tag, children: node.children.map(toInput) } : { tag: node.tag, value: node.value };
}
