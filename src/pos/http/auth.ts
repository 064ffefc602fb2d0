import { isLoopbackHost } from '../../common/loopback';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { ChifaError } from '../../common/errors';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../common/private-files';
import { HttpError } from './errors';

/**
 * The counter's API token. The page gets it from the URL fragment (which browsers never send to
 * the server or in a Referer), keeps it in sessionStorage and sends it as `Authorization: Bearer`;
 * no cookie means no cross-site request can carry it (no CSRF). Tokens are compared in constant
 * time over their SHA-256 digests, so neither content nor length leaks through timing.
 */

/** Where the counter keeps its token when none is given: `DATA/token`. */
export const TOKEN_FILE = 'token';

/** 32 random bytes, base64url: 43 characters. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_SHAPE = /^[A-Za-z0-9._~+/=-]{16,256}$/;

export function isAcceptableToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

const modeOf = (st: fs.Stats): string => '0' + (st.mode & 0o777).toString(8);

/**
 * Reads a token from `file` (`chifa serve --token-file`): the whole file, surrounding white space
 * ignored, so that a secret manager's file or a systemd credential works as it is. `looseMode`
 * is the file's mode when other users can read it (the caller warns), else null.
 */
export function readTokenFile(file: string): { token: string; looseMode: string | null } {
  let text: string;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
    if (st.size > 4096)
      throw new ChifaError('invalid-token', `${file}: a token file holds one token (at most 256 characters)`, { field: 'token-file' });
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ChifaError) throw err;
    throw new ChifaError('invalid-token', `cannot read the token file: ${(err as Error).message}`, { field: 'token-file' });
  }
  const token = text.trim();
  if (!isAcceptableToken(token))
    throw new ChifaError('invalid-token', `${file}: the API token must be 16 to 256 URL-safe characters`, { field: 'token-file' });
  return { token, looseMode: (st.mode & 0o077) !== 0 ? modeOf(st) : null };
}

export interface ResolvedToken {
  token: string;
  source: 'given' | 'file' | 'generated';
  file?: string;
  /** The stored token file's mode before it was tightened to 0600 (other users may have read it). */
  tightenedFrom?: string;
}

/**
 * The token to use: the one given (from `--token-file` or CHIFA_TOKEN), else the one stored in
 * `DATA/token`, else a new random one written there with mode 0600. A stored token file that
 * other users can read is a leaked credential: it is made 0600 at once, and `tightenedFrom` tells
 * the caller to say so (the token should then be replaced).
 */
export function resolveToken(dataDir: string, given: string | undefined): ResolvedToken {
  if (given !== undefined && given !== '') {
    if (!isAcceptableToken(given))
      throw new HttpError(400, 'invalid-token', 'the API token must be 16 to 256 URL-safe characters', 'token');
    return { token: given, source: 'given' };
  }
  const file = path.join(dataDir, TOKEN_FILE);
  try {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (isAcceptableToken(stored)) {
      const st = fs.statSync(file);
      if ((st.mode & 0o077) === 0) return { token: stored, source: 'file', file };
      fs.chmodSync(file, PRIVATE_FILE_MODE);
      return { token: stored, source: 'file', file, tightenedFrom: modeOf(st) };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = generateToken();
  ensurePrivateDir(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, token + '\n', { mode: PRIVATE_FILE_MODE });
  fs.renameSync(tmp, file);
  return { token, source: 'generated', file };
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function tokensEqual(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** Express middleware: `Authorization: Bearer <token>` or 401. */
export function requireToken(token: string) {
  const want = digest(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(h) : null;
    if (!m || !timingSafeEqual(want, digest(m[1]!))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="chifa-counter"');
      next(
        new HttpError(
          401,
          'unauthorized',
          m ? 'the API token is wrong' : 'the API needs `Authorization: Bearer <token>` (open the address printed by `chifa serve`)',
        ),
      );
      return;
    }
    next();
  };
}

/**
 * Refuses requests whose Host header is not a loopback name: a web page elsewhere could otherwise
 * use DNS rebinding to make the pharmacist's browser talk to the counter under its own name.
 */
export function requireLoopbackHostHeader() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const host = req.headers.host ?? '';
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    if (!isLoopbackHost(name)) {
      next(new HttpError(403, 'bad-host', 'the counter only answers to a loopback host name (127.0.0.1, localhost, [::1])'));
      return;
    }
    next();
  };
}
