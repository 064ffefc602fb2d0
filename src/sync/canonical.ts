import { CanonicalJsonError } from './errors';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - object members sorted by their names compared as arrays of UTF-16 code units (§3.2.3) —
 *   which is exactly what `Array.prototype.sort` does with no comparator;
 * - strings written as ECMAScript `JSON.stringify` writes them (§3.2.2.2): `\b \t \n \f \r \" \\`,
 *   other controls as `\u00xx` lower-case hex, everything else literally (no `\/`, no `\u20ac`);
 * - numbers written as ECMAScript `Number.prototype.toString` (§3.2.2.3): `-0` is `0`, `1e+30`,
 *   `1e-7`; NaN and ±Infinity have no JSON form and are refused;
 * - no whitespace.
 * Input must be I-JSON (RFC 7493): lone surrogates are refused rather than escaped. Members whose
 * value is `undefined` are left out (as `JSON.stringify` does, so optional TypeScript fields
 * work); `undefined` inside an array, functions, symbols, bigints and non-plain objects (Date, Map,
 * Buffer, class instances) are refused: their JSON form would depend on a `toJSON` we do not
 * control.
 */
export function canonicalize(value: unknown): string {
  return write(value);
}

/** `canonicalize` as UTF-8 bytes (what is signed and hashed). */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

/**
 * Parses JSON text and checks it is already canonical: the text must equal the canonical form of
 * what it parses to. This also refuses duplicate member names (JSON.parse keeps the last one, so
 * the re-serialisation differs). Throws CanonicalJsonError naming the problem.
 */
export function parseCanonical(text: string, field = ''): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CanonicalJsonError(field, `not valid JSON: ${(err as Error).message}`);
  }
  const canon = canonicalize(value);
  if (canon !== text) {
    let i = 0;
    while (i < canon.length && canon.charCodeAt(i) === text.charCodeAt(i)) i++;
    throw new CanonicalJsonError(field, `not in RFC 8785 canonical form (first difference at offset ${i})`);
  }
  return value;
}

/**
 * Serialises by string concatenation (V8 ropes) with no per-member path bookkeeping: the path of
 * a bad value is only built while an error unwinds (`at`), so the hot path allocates little.
 */
function write(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return writeString(v);
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError('', `${v} has no JSON representation`);
      return String(v); // ES Number::toString; String(-0) === '0'
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (item === undefined) throw new CanonicalJsonError(`[${i}]`, 'undefined has no JSON representation');
          try {
            out += (i > 0 ? ',' : '') + write(item);
          } catch (err) {
            throw at(err, `[${i}]`);
          }
        }
        return out + ']';
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError('', 'only plain objects, arrays, strings, finite numbers, booleans and null are allowed');
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const item = obj[k];
        if (item === undefined) continue;
        try {
          out += (first ? '' : ',') + writeString(k) + ':' + write(item);
        } catch (err) {
          throw at(err, k);
        }
        first = false;
      }
      return out + '}';
    }
    default:
      throw new CanonicalJsonError('', `a ${typeof v} has no JSON representation`);
  }
}

/** Prefixes the field path of an error thrown deeper down. */
function at(err: unknown, step: string): unknown {
  if (!(err instanceof CanonicalJsonError)) return err;
  const inner = err.field ?? '';
  const field = inner === '' || inner.startsWith('[') ? step + inner : step + '.' + inner;
  return new CanonicalJsonError(field, err.detail);
}

// Characters that JSON.stringify escapes, plus surrogates (checked for pairing).
// eslint-disable-next-line no-control-regex
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;

function writeString(s: string): string {
  // Fast path: nothing to escape, so the JSON form is the text between quotes.
  if (!NEEDS_CARE.test(s)) return '"' + s + '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      throw new CanonicalJsonError('', `lone surrogate U+${c.toString(16).toUpperCase()} at index ${i} (not I-JSON)`);
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      throw new CanonicalJsonError('', `lone surrogate U+${c.toString(16).toUpperCase()} at index ${i} (not I-JSON)`);
    }
  }
  // With surrogates known to be paired, JSON.stringify's string form is exactly JCS §3.2.2.2.
  return JSON.stringify(s);
}
