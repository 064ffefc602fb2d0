import * as zlib from 'node:zlib';
import { signer } from '../sync/helpers';
import { errorOf, journalWithBatches, P1, send, startFund, upload } from './helpers';

/**
 * What the fund refuses before it reads a request's body or routes its path: a path express
 * cannot percent-decode (400 naming the route's parameter there), a compressed body or one that
 * is not UTF-8 JSON (415 naming the header). Before, the first was a 400 quoting the segment and
 * naming nothing, a gzip body was inflated (so its token never matched: 401) and a corrupt one
 * was a 400 naming nothing, and a UTF-16 body was read as UTF-8 (400 MALFORMED_BODY).
 */

test.each([
  ['GET', `/v1/batches/%ff/1`, 'pharmacyId'],
  ['GET', `/v1/batches/${P1}/%E0%A4%A`, 'batchId'],
  ['GET', `/v1/pharmacies/%/chain`, 'pharmacyId'],
  ['GET', `/v1/pharmacies/${P1}%ED%A0%80/batches`, 'pharmacyId'],
  ['GET', '/v1/downlink/%c0%af', 'name'],
  ['GET', '/v1/down%fflink/rules', 'path'],
  ['POST', '/v1/batches/%ff', 'path'],
])('%s %s: 400 MALFORMED_PATH naming %s', async (method, target, field) => {
  const { url } = await startFund();
  const r = await send(url, signer(1), method, target);
  expect([r.status, errorOf(r)]).toEqual([400, { code: 'MALFORMED_PATH', message: `${field}: not valid percent-encoded UTF-8`, field }]);
});

describe('a batch must be uncompressed UTF-8 JSON', () => {
  test.each([
    ['gzip', 'gzip', (b: Buffer) => zlib.gzipSync(b)],
    ['deflate', 'deflate', (b: Buffer) => zlib.deflateSync(b)],
    ['br', 'br', (b: Buffer) => zlib.brotliCompressSync(b)],
    ['gzip (corrupt)', 'gzip', () => Buffer.from('not gzip at all')],
    ['compress', 'compress', (b: Buffer) => b],
    ['gzip, identity', 'gzip, identity', (b: Buffer) => b],
  ])('Content-Encoding: %s → 415 UNSUPPORTED_ENCODING', async (_label, encoding, encode) => {
    const { dir, url } = await startFund();
    const { uploads } = await journalWithBatches(dir, 1, 2, 2);
    const r = await upload(url, signer(1), encode(Buffer.from(JSON.stringify(uploads[0]!.body))), uploads[0]!.key, {
      'content-encoding': encoding,
    });
    expect([r.status, errorOf(r).code, errorOf(r).field]).toEqual([415, 'UNSUPPORTED_ENCODING', 'Content-Encoding']);
  });

  test.each([
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json; charset="utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json, text/plain',
  ])('Content-Type: %s → 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
    const { dir, url } = await startFund();
    const { uploads } = await journalWithBatches(dir, 1, 2, 2);
    const text = JSON.stringify(uploads[0]!.body);
    const body = type.includes('utf-16') ? Buffer.from(text, 'utf16le') : Buffer.from(text);
    const r = await upload(url, signer(1), body, uploads[0]!.key, { 'content-type': type });
    expect([r.status, errorOf(r).code, errorOf(r).field]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type']);
  });

  test('no Content-Type → 415; identity, a utf-8 charset and upper case are fine', async () => {
    const { dir, url } = await startFund();
    const { uploads } = await journalWithBatches(dir, 1, 2, 1);
    const [a, b] = uploads as [(typeof uploads)[0], (typeof uploads)[0]];
    const none = await send(url, signer(1), 'POST', '/v1/batches', { body: JSON.stringify(a.body), headers: { 'idempotency-key': a.key } });
    expect([none.status, errorOf(none).field]).toEqual([415, 'Content-Type']);
    const ok1 = await upload(url, signer(1), JSON.stringify(a.body), a.key, {
      'content-type': 'Application/JSON; Charset="UTF-8"',
      'content-encoding': 'identity',
    });
    expect(ok1.status).toBe(200);
    const ok2 = await upload(url, signer(1), JSON.stringify(b.body), b.key, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok2.status).toBe(200);
  });
});
