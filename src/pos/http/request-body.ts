import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors';

/**
 * What a request body must be before express.json reads it: JSON (`Content-Type:
 * application/json`, with `charset=utf-8` if a charset is given), not compressed (no
 * `Content-Encoding` but `identity`). Anything else is refused with 415 rather than read as an
 * empty body (a mislabelled body silently dropped) or inflated (bodies are at most 64 KB on a
 * local link: compression gains nothing and a decompressor is one more parser for an attacker).
 * A request without a body (no Transfer-Encoding, no or a zero Content-Length) needs neither
 * header.
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

/** Whether the request says it carries a body (a Transfer-Encoding, or a Content-Length other than 0). */
export function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) !== 0;
}

export function requireJsonBody() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!hasBody(req)) {
      next();
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      next(new HttpError(415, 'unsupported-encoding', 'request bodies must not be compressed (no Content-Encoding, or identity)'));
      return;
    }
    const type = req.headers['content-type'];
    if (type === undefined || !isJsonMediaType(type)) {
      next(
        new HttpError(
          415,
          'unsupported-media-type',
          'request bodies must be JSON: Content-Type: application/json (charset utf-8 if given)',
        ),
      );
      return;
    }
    next();
  };
}
