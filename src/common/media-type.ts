/**
 * What an HTTP server checks of a request body's headers before it reads the body: a JSON media
 * type (RFC 9110 §8.3.1 syntax, `charset=utf-8` if a charset is given) and no content coding
 * but `identity` (RFC 9110 §8.4). The counter and the reference fund refuse anything else with
 * 415 rather than read a mislabelled body as empty or in the wrong charset, or inflate it (a
 * decompressor is one more parser for an attacker, and a signed body's digest is over the bytes
 * sent).
 */

/** RFC 9110 §8.3.1: `type/subtype *( OWS ";" OWS parameter )`, parameter = token "=" ( token / quoted-string ). */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})((?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*"))*)[ \\t]*$`);
const PARAMETER = new RegExp(`;[ \\t]*(${TOKEN})=(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")`, 'g');

/** `application/json` with no charset or charset utf-8; false for anything else, malformed included. */
export function isJsonMediaType(header: string): boolean {
  const m = MEDIA_TYPE.exec(header.trim());
  if (!m || m[1]!.toLowerCase() !== 'application' || m[2]!.toLowerCase() !== 'json') return false;
  for (const p of m[3]!.matchAll(PARAMETER)) {
    if (p[1]!.toLowerCase() !== 'charset') continue;
    const value = p[2]!.startsWith('"') ? p[2]!.slice(1, -1).replace(/\\(.)/g, '$1') : p[2]!;
    if (value.toLowerCase() !== 'utf-8') return false;
  }
  return true;
}

/** No Content-Encoding header, or `identity`: the body is the bytes on the wire. */
export function isIdentityEncoding(header: string | undefined): boolean {
  return header === undefined || header.trim().toLowerCase() === 'identity';
}
