import type { NextFunction, Request, Response } from 'express';
import { isIdentityEncoding, isJsonMediaType } from '../../common/media-type';
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
    if (!isIdentityEncoding(req.headers['content-encoding'])) {
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
