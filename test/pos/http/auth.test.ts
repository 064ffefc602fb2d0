import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateToken, readTokenFile, resolveToken, TOKEN_FILE, tokensEqual } from '../../../src/pos/http/auth';
import { isLoopbackHost } from '../../../src/common/loopback';
import { HttpError, toHttpError } from '../../../src/pos/http/errors';
import { UnknownProductError } from '../../../src/billing/errors';
import { InvalidInputError } from '../../../src/common/errors';
import { CardGoneError, CardServiceUnavailableError, CardMissingError, PinBlockedError } from '../../../src/pos/counter/errors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-auth-'));

describe('API token', () => {
  test('a generated token is stored with mode 0600 and reused at the next start', () => {
    const dir = tmp();
    const a = resolveToken(dir, undefined);
    expect(a.source).toBe('generated');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const file = path.join(dir, TOKEN_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = resolveToken(dir, undefined);
    expect(b).toMatchObject({ source: 'file', token: a.token });
  });
  test('a given token wins and is not written', () => {
    const dir = tmp();
    expect(resolveToken(dir, 'given-token-0123456789')).toEqual({ token: 'given-token-0123456789', source: 'given' });
    expect(fs.existsSync(path.join(dir, TOKEN_FILE))).toBe(false);
    expect(() => resolveToken(dir, 'short')).toThrow(/16 to 256/);
  });
  test('a token file: its content without surrounding white space; its mode reported when others can read it', () => {
    const dir = tmp();
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, '\n  a-token-from-a-file-0123 \n', { mode: 0o600 });
    expect(readTokenFile(file)).toEqual({ token: 'a-token-from-a-file-0123', looseMode: null });
    fs.chmodSync(file, 0o644);
    expect(readTokenFile(file)).toEqual({ token: 'a-token-from-a-file-0123', looseMode: '0644' });
    fs.writeFileSync(file, 'two tokens-0123456789\nanother-0123456789\n');
    expect(() => readTokenFile(file)).toThrow(expect.objectContaining({ code: 'invalid-token', field: 'token-file' }));
    expect(() => readTokenFile(path.join(dir, 'missing'))).toThrow(/cannot read the token file/);
  });
  test('comparison is by digest: equal only for the same string, any lengths', () => {
    const t = generateToken();
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t, t + 'x')).toBe(false);
    expect(tokensEqual(t, '')).toBe(false);
    expect(tokensEqual(t, t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'))).toBe(false);
  });
});

test('loopback host names', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', 'LOCALHOST']) expect(isLoopbackHost(h)).toBe(true);
  for (const h of ['0.0.0.0', '192.168.1.10', 'example.com', '::', 'localhost.evil.com', '1127.0.0.1'])
    expect(isLoopbackHost(h)).toBe(false);
});

test('error mapping: status per kind, field kept, internals hidden', () => {
  expect(toHttpError(new InvalidInputError([{ field: 'lines[0].quantity', message: 'bad' }]))).toMatchObject({
    status: 400,
    body: { error: { code: 'invalid-input', field: 'lines[0].quantity' } },
  });
  expect(toHttpError(new UnknownProductError('X', 'lines[1].code'))).toMatchObject({
    status: 404,
    body: { error: { code: 'unknown-product', field: 'lines[1].code' } },
  });
  expect(toHttpError(new CardMissingError()).status).toBe(409);
  expect(toHttpError(new CardGoneError()).body.error.code).toBe('card-removed');
  expect(toHttpError(new PinBlockedError()).status).toBe(409);
  expect(toHttpError(new CardServiceUnavailableError()).status).toBe(503);
  expect(toHttpError(new HttpError(401, 'unauthorized', 'no'))).toMatchObject({ status: 401 });
  expect(toHttpError(Object.assign(new Error('too big'), { type: 'entity.too.large', status: 413 }))).toMatchObject({
    status: 413,
    body: { error: { code: 'body-too-large' } },
  });
  const internal = toHttpError(new Error('secret detail at /home/x'));
  expect(internal).toMatchObject({ status: 500, internal: true });
  expect(JSON.stringify(internal.body)).not.toContain('secret');
});
