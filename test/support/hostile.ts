import * as zlib from 'node:zlib';
import fc from 'fast-check';

/**
 * Generators of hostile input shared by the property tests of the HTTP servers (the counter's
 * API, the reference fund): values that have broken parsers, validators and signers somewhere,
 * mutations of a valid JSON value, edits of its text, path segments that break percent-decoding
 * or routing, odd Content-Types and methods, and the framing of a body (real compression for
 * Content-Encoding, lengths that lie).
 */

/** Strings that have broken parsers, validators or signers somewhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\ud800',
  'ab\udfff',
  '\udc00\ud800',
  'a\u0000b',
  '\u001b[2J\u001b[31m',
  'AP-\u202e71',
  '\u2066x\u2069',
  'x\u200e',
  '\u061c',
  '\u0085',
  'de\u0301ja',
  'a\u2028b',
  '\ufffe',
  '😀',
  '%ff',
  '%',
  '\\',
  '"',
  '__proto__',
  'constructor',
  'toString',
  '1234',
  '0000',
  'N02BE01-01',
  'x'.repeat(65),
  'x'.repeat(201),
];

export const hugeString = fc.constantFrom('x'.repeat(70_000), 'é'.repeat(20_000), '\u202e'.repeat(5_000), '\ud800'.repeat(3_000));

/** `[[[…]]]` or `{"a":{"a":…}}` `depth` deep (deeper nesting is a text edit: see `deep`). */
export const nested = fc.tuple(fc.integer({ min: 2, max: 40 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, 1e21, [], {}) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'pin', 'extra', 'x'.repeat(5_000), 'a\u202eb\u0000', '\ud800'),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Every path to a value inside `v`, the root included. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

export type Mutation =
  { op: 'set'; pick: number; value: unknown } | { op: 'delete'; pick: number } | { op: 'add'; pick: number; key: string; value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), pick: fc.nat(), key: hostileKey, value: hostileValue }) },
);

/**
 * A deep copy made in this realm (structuredClone's objects come from Node's own realm, not
 * jest's, and a check for plain objects would refuse them).
 */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, { value: clone(x), enumerable: true, configurable: true, writable: true });
    return out;
  }
  return v;
}

/** `value` (not changed) with one value inside it replaced, deleted, or given a new member. */
export function mutate(value: unknown, m: Mutation): unknown {
  const root = { v: clone(value) };
  const all = paths(root.v);
  const path = all[m.pick % all.length]!;
  let parent: Record<string | number, unknown> = root as Record<string, unknown>;
  let key: string | number = 'v';
  for (const p of path) {
    parent = parent[key] as Record<string | number, unknown>;
    key = p;
  }
  if (m.op === 'set') parent[key] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else {
    const target = parent[key];
    if (target !== null && typeof target === 'object' && !Array.isArray(target))
      Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    else parent[key] = m.value;
  }
  return root.v;
}

export type TextEdit =
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'bom' }
  | { op: 'dup-key' }
  | { op: 'deep'; depth: number; where: 'wrap' | 'field' };

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      fc.constantFrom(
        Uint8Array.from([0xff]),
        Uint8Array.from([0xc0, 0xaf]),
        Uint8Array.from([0xed, 0xa0, 0x80]),
        Uint8Array.from([0]),
        Buffer.from('\\ud800'),
        Buffer.from('\\u0000'),
      ),
    ),
  }),
  fc.constant({ op: 'bom' as const }),
  fc.constant({ op: 'dup-key' as const }),
  // Kept as text: fast-check would overflow its stack printing a 20 000-deep value.
  fc.record({
    op: fc.constant('deep' as const),
    depth: fc.integer({ min: 100, max: 30_000 }),
    where: fc.constantFrom('wrap' as const, 'field' as const),
  }),
);

/** The JSON text `text` edited; a `deep` edit in `field` nests arrays under the member `field`. */
export function editText(text: Buffer, e: TextEdit, field: string): Buffer {
  switch (e.op) {
    case 'truncate':
      return text.subarray(0, e.at % (text.length + 1));
    case 'insert': {
      const at = e.at % (text.length + 1);
      return Buffer.concat([text.subarray(0, at), e.bytes, text.subarray(at)]);
    }
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]);
    case 'dup-key':
      return text[0] === 0x7b ? Buffer.concat([Buffer.from('{"a":1,"a":2,'), text.subarray(1)]) : text;
    case 'deep': {
      const open = Buffer.from('['.repeat(e.depth));
      const close = Buffer.from(']'.repeat(e.depth));
      if (e.where === 'wrap' || text[0] !== 0x7b) return Buffer.concat([open, text, close]);
      return Buffer.concat([Buffer.from(`{${JSON.stringify(field)}:`), open, close, Buffer.from(','), text.subarray(1)]);
    }
  }
}

/** A path segment that breaks percent-decoding or routing, or is merely odd. */
export const hostileSegment = fc.oneof(
  fc.constantFrom('%ff', '%', '%2', '%zz', '%E0%A4%A', '%ED%A0%80', '%c0%af', '%00', '%2F', '..', '.', '0', '-1', '1.5', '1e3', '0x10'),
  fc.constantFrom('99999999999999999999', 'x'.repeat(3_000), '%e2%80%ae', '%F0%9F%98%80'),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Array.from(b, (x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,20}$/),
);

export const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset="utf-8',
  'application/json; charset',
  'application/json, text/plain',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  ';',
  '',
];

/** A header value node:http agrees to send. */
export const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 40 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s));

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND'];

export type Compression = 'none' | 'gzip' | 'deflate' | 'br';

export function compress(body: Buffer, how: Compression): Buffer {
  if (how === 'gzip') return zlib.gzipSync(body);
  if (how === 'deflate') return zlib.deflateSync(body);
  if (how === 'br') return zlib.brotliCompressSync(body);
  return body;
}

/** How a request body goes on the wire: its Content-Type, its Content-Encoding (the body really compressed) and its length. */
export interface BodyFraming {
  contentType: string | null;
  encoding: { header: string; compress: Compression } | null;
  length: { mode: 'auto' } | { mode: 'chunked' } | { mode: 'lie'; delta: number } | { mode: 'both' };
}

/**
 * The arbitraries of a BodyFraming, for a test's own fc.record of request headers: each field is
 * the honest choice (JSON, no encoding, a true Content-Length) `honest` times for every 4 or 5
 * odd ones; `moreContentTypes` adds to CONTENT_TYPES.
 */
export function bodyFraming(
  honest: { contentType: number; encoding: number; length: number },
  moreContentTypes: readonly string[] = [],
): { [K in keyof BodyFraming]: fc.Arbitrary<BodyFraming[K]> } {
  return {
    contentType: fc.oneof(
      { weight: honest.contentType, arbitrary: fc.constant('application/json') },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES, ...moreContentTypes) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: headerValue },
    ),
    encoding: fc.oneof(
      { weight: honest.encoding, arbitrary: fc.constant(null) },
      {
        weight: 2,
        arbitrary: fc.record({
          header: fc.oneof(
            fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'IDENTITY', 'gzip, br', 'x-gzip', 'compress', ''),
            headerValue,
          ),
          compress: fc.constantFrom<Compression>('none', 'gzip', 'deflate', 'br'),
        }),
      },
    ),
    length: fc.oneof(
      { weight: honest.length, arbitrary: fc.constant({ mode: 'auto' as const }) },
      { weight: 2, arbitrary: fc.constant({ mode: 'chunked' as const }) },
      {
        weight: 1,
        arbitrary: fc.record({ mode: fc.constant('lie' as const), delta: fc.integer({ min: -20, max: 20 }).filter((d) => d !== 0) }),
      },
      { weight: 1, arbitrary: fc.constant({ mode: 'both' as const }) },
    ),
  };
}

/** A body framed for sending, and what the server may then rightly do to the connection. */
export interface FramedBody {
  body: Buffer;
  chunked: boolean;
  /** The declared length is longer than the body: the server waits for bytes that never come. */
  mayHang: boolean;
  /** The server may cut the connection: a body over the 64 KiB limit (413, then it stops reading), a lying or doubled length. */
  mayReset: boolean;
}

/** Frames `body` as `f` says, setting Content-Type, Content-Encoding and the length headers in `headers`. */
export function frameBody(body: Buffer, f: BodyFraming, headers: Record<string, string | string[]>): FramedBody {
  const out: FramedBody = { body, chunked: false, mayHang: false, mayReset: false };
  if (f.contentType !== null) headers['Content-Type'] = f.contentType;
  if (f.encoding) {
    headers['Content-Encoding'] = f.encoding.header;
    out.body = compress(body, f.encoding.compress);
  }
  if (out.body.length > 64 * 1024) out.mayReset = true;
  if (f.length.mode === 'chunked') out.chunked = true;
  else if (f.length.mode === 'lie') {
    const declared = Math.max(0, out.body.length + f.length.delta);
    headers['Content-Length'] = String(declared);
    out.mayHang = declared > out.body.length;
    out.mayReset = true;
  } else if (f.length.mode === 'both') {
    headers['Content-Length'] = String(out.body.length);
    headers['Transfer-Encoding'] = 'chunked';
    out.mayReset = true;
  }
  return out;
}
