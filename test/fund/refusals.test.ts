import { UNPRINTABLE } from '../../src/common/free-text';
import { signer } from '../sync/helpers';
import { errorOf, journalWithBatches, P1, P2, send, startFund, upload } from './helpers';

/**
 * Every refusal of the fund is `{ error: { code, message, field } }` naming what is wrong, and
 * quotes what the client sent cut (at most 40 code points of a value) and without characters
 * that would reorder or hide the rest. Before, a body that was not JSON, an unknown batch, an
 * unknown endpoint, a body over the limit, another pharmacy's batch named no field; an unknown
 * member of the body and an unknown downlink document were echoed whole, bidi controls
 * included; and batch numbers were read by Number() (`0x1`, `1e3`, ` 1`).
 */

test('a batch that is not JSON, or not the upload shape: 400 MALFORMED_BODY naming body or the member', async () => {
  const { dir, url } = await startFund();
  const { uploads } = await journalWithBatches(dir, 1, 1, 1);
  const key = uploads[0]!.key;
  for (const [body, field] of [
    ['{"certificates": [', 'body'],
    ['\u202e\u0007 not json', 'body'],
    ['[]', 'body'],
    ['null', 'body'],
    [JSON.stringify({ ...uploads[0]!.body, invoices: 'x' }), 'invoices'],
  ] as const) {
    const r = await upload(url, signer(1), body, key);
    expect([body, r.status, errorOf(r).code, errorOf(r).field]).toEqual([body, 400, 'MALFORMED_BODY', field]);
    expect(UNPRINTABLE.test(errorOf(r).message)).toBe(false);
  }
});

test('an unknown member with a 10 000-character name, bidi controls in it: named cut, never whole', async () => {
  const { dir, url } = await startFund();
  const { uploads } = await journalWithBatches(dir, 1, 1, 1);
  const name = `\u202e${'x'.repeat(10_000)}`;
  const r = await upload(url, signer(1), JSON.stringify({ ...uploads[0]!.body, [name]: 1 }), uploads[0]!.key);
  const e = errorOf(r);
  expect([r.status, e.code]).toEqual([400, 'MALFORMED_BODY']);
  expect(e.field!.length).toBeLessThanOrEqual(45);
  expect(e.message.length).toBeLessThanOrEqual(400);
  expect(UNPRINTABLE.test(e.field!) || UNPRINTABLE.test(e.message)).toBe(false);
});

test('an unknown downlink document: 404 naming name, the name cut and without its bidi controls', async () => {
  const { url } = await startFund();
  const r = await send(url, signer(1), 'GET', `/v1/downlink/%E2%80%AE${'y'.repeat(1500)}`);
  const e = errorOf(r);
  expect([r.status, e.code, e.field]).toEqual([404, 'UNKNOWN_DOCUMENT', 'name']);
  expect(e.message.length).toBeLessThan(120);
  expect(UNPRINTABLE.test(e.message)).toBe(false);
});

test('unknown batch, unknown endpoint, body over the limit, another pharmacy’s batch: each names its field', async () => {
  const { dir, url } = await startFund({ maxBodyBytes: 64 * 1024 });
  const unknownBatch = await send(url, signer(1), 'GET', `/v1/batches/${P1}/7`);
  expect([unknownBatch.status, errorOf(unknownBatch).code, errorOf(unknownBatch).field]).toEqual([404, 'UNKNOWN_BATCH', 'batchId']);
  const nowhere = await send(url, signer(1), 'GET', `/v1/nowhere/${'z'.repeat(500)}`);
  expect([nowhere.status, errorOf(nowhere).code, errorOf(nowhere).field]).toEqual([404, 'NOT_FOUND', 'path']);
  expect(errorOf(nowhere).message.length).toBeLessThan(200);
  const big = await upload(url, signer(1), Buffer.alloc(64 * 1024 + 1, 0x20), 'k'.repeat(16));
  expect([big.status, errorOf(big).code, errorOf(big).field]).toEqual([413, 'BODY_TOO_LARGE', 'body']);
  // Pharmacy 2 sends a batch of pharmacy 1.
  const { uploads } = await journalWithBatches(dir, 1, 1, 1);
  const theirs = await upload(url, signer(2), JSON.stringify(uploads[0]!.body), uploads[0]!.key);
  expect([theirs.status, errorOf(theirs).code, errorOf(theirs).field]).toEqual([403, 'FORBIDDEN', 'manifest.payload.pharmacyId']);
  const other = await send(url, signer(2), 'GET', `/v1/pharmacies/${P1}/chain`);
  expect([other.status, errorOf(other).field]).toEqual([403, 'pharmacyId']);
  expect((await send(url, signer(2), 'GET', `/v1/pharmacies/${P2}/chain`)).status).toBe(200);
});

test('batch numbers are decimal whole numbers from 1: anything else is 400 naming batchId or from', async () => {
  const { dir, url } = await startFund();
  const { uploads } = await journalWithBatches(dir, 1, 1, 1);
  expect((await upload(url, signer(1), JSON.stringify(uploads[0]!.body), uploads[0]!.key)).status).toBe(200);
  expect((await send(url, signer(1), 'GET', `/v1/batches/${P1}/1`)).status).toBe(200);
  for (const n of ['0x1', '1e0', '1.0', '01', '%201', '0', '-1', '99999999999999999999']) {
    const r = await send(url, signer(1), 'GET', `/v1/batches/${P1}/${n}`);
    expect([n, r.status, errorOf(r).code, errorOf(r).field]).toEqual([n, 400, 'BAD_REQUEST', 'batchId']);
  }
  for (const q of ['?from=1e0', '?from=0x1', '?from=', '?from=0', '?from=1&from=2', '?from=%201']) {
    const r = await send(url, signer(1), 'GET', `/v1/pharmacies/${P1}/batches${q}`);
    expect([q, r.status, errorOf(r).field]).toEqual([q, 400, 'from']);
  }
  expect((await send(url, signer(1), 'GET', `/v1/pharmacies/${P1}/batches?from=1`)).status).toBe(200);
  expect((await send(url, signer(1), 'GET', `/v1/pharmacies/${P1}/batches`)).status).toBe(200);
});
