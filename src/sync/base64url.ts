import { SyncError } from './errors';

const ALPHABET = /^[A-Za-z0-9_-]*$/;
const VALUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding (RFC 4648 §5), as JWS uses it (RFC 7515 §2). */
export function b64uEncode(data: Buffer | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/**
 * Strict base64url decoding: only the URL-safe alphabet, no padding, no whitespace, and the
 * encoding must be the canonical one (unused trailing bits zero), so that one byte string has
 * exactly one textual form. Node's decoder silently skips bad characters; this one refuses them.
 */
export function b64uDecode(text: string, field: string): Buffer {
  if (!ALPHABET.test(text) || text.length % 4 === 1) {
    throw new SyncError('bad-base64url', `${field}: not base64url (RFC 4648 §5, unpadded)`, field);
  }
  // Canonical form: the bits of the last character beyond the data must be zero (RFC 4648 §3.5).
  const rem = text.length % 4;
  if (rem !== 0) {
    const last = VALUE.indexOf(text[text.length - 1]!);
    if ((rem === 2 && (last & 0x0f) !== 0) || (rem === 3 && (last & 0x03) !== 0)) {
      throw new SyncError('bad-base64url', `${field}: non-canonical base64url (trailing bits set)`, field);
    }
  }
  return Buffer.from(text, 'base64url');
}
