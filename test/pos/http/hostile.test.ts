import * as zlib from 'node:zlib';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, DEMO_PIN, NOW, tmpDir } from '../counter/harness';
import { apiError, rawRequest, type RawRequest, type RawResponse } from '../../support/raw-http';

/**
 * The attacks of issue #11 on the counter's API, one by one, over raw node:http (the property
 * test hostile.property.test.ts generates many more): bad percent-encoding in a path, compressed
 * or mislabelled bodies, unprintable text headed for a signed invoice, a reused requestId, and
 * client input echoed in errors.
 */

let counter: RunningCounter;
let station: EmulatedStation;

beforeAll(async () => {
  const dir = tmpDir('chifa-hostile-');
  station = EmulatedStation.openDemo(dir);
  counter = await startCounter({ dataDir: dir, port: 0, logger: captureLogger().logger, station, now: () => NOW });
  await send('POST', '/api/card/open');
  await send('POST', '/api/card/verify', { pin: DEMO_PIN });
});

afterAll(async () => {
  await counter?.close();
});

async function raw(r: RawRequest): Promise<RawResponse> {
  const res = await rawRequest(counter.url, { ...r, headers: { Authorization: `Bearer ${counter.token}`, ...r.headers } });
  if (typeof res === 'string') throw new Error(`no answer: ${res}`);
  return res;
}

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw({
    method,
    path,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } } : { headers }),
  });
}

function expectError(res: RawResponse, status: number, error: { code: string; field?: string }): void {
  expect({ status: res.status, error: apiError(res) }).toEqual({ status, error: expect.objectContaining(error) });
  if (error.field === undefined) expect(apiError(res)!.field).toBeUndefined();
}

const line = (extra: Record<string, unknown> = {}) => ({ code: 'N02BE01-01', quantity: 1, durationDays: 3, ...extra });

describe('bad percent-encoding in a path is a 400 naming the parameter', () => {
  test.each([
    ['GET', '/api/catalogue/%ff', 'code'],
    ['GET', '/api/catalogue/%E0%A4%A', 'code'],
    ['GET', '/api/invoices/%ff/receipt', 'number'],
    ['POST', '/api/card-writes/%/complete', 'number'],
    ['POST', '/api/card-writes/%c0%af/cancel', 'number'],
    ['POST', '/api/demo/%ff/remove', 'which'],
    ['POST', '/api/demo/insured/%zz', 'action'],
    ['GET', '/api/st%ffatus', 'path'],
  ])('%s %s → field %s', async (method, path, field) => {
    expectError(await raw({ method, path }), 400, { code: 'invalid-input', field });
  });
});

describe('request bodies: application/json, UTF-8, not compressed', () => {
  const basket = JSON.stringify({ beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] });

  test.each(['br', 'gzip', 'deflate', 'x-gzip', 'compress', 'gzip, identity', 'anything'])(
    'Content-Encoding: %s → 415 unsupported-encoding, with a corrupt or a valid compressed body',
    async (encoding) => {
      for (const body of [Buffer.from('garbage'), zlib.gzipSync(basket), zlib.brotliCompressSync(basket)]) {
        const res = await raw({
          method: 'POST',
          path: '/api/quote',
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
          body,
        });
        expectError(res, 415, { code: 'unsupported-encoding' });
      }
    },
  );

  test('Content-Encoding: identity is accepted', async () => {
    const res = await raw({
      method: 'POST',
      path: '/api/quote',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'Identity' },
      body: basket,
    });
    expect(res.status).toBe(200);
  });

  test.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['application/vnd.api+json'],
    ['application/json; charset=latin1'],
    ['application/json; charset=utf-16'],
    ['application/json; charset="iso-8859-1"'],
    ['application/jsonx'],
    ['application/json;;='],
    [''],
  ])('Content-Type %j → 415 unsupported-media-type', async (type) => {
    const res = await raw({ method: 'POST', path: '/api/card/verify', headers: { 'Content-Type': type }, body: '{"pin":"9999"}' });
    expectError(res, 415, { code: 'unsupported-media-type' });
  });

  test('a body without Content-Type → 415, not read as an empty body', async () => {
    const res = await raw({ method: 'POST', path: '/api/card/verify', body: '{"pin":"9999"}' });
    expectError(res, 415, { code: 'unsupported-media-type' });
  });

  test.each([
    'application/json',
    'Application/JSON; charset=UTF-8',
    'application/json; charset="utf-8"',
    'application/json ; charset=utf-8',
  ])('Content-Type %j is accepted', async (type) => {
    const res = await raw({ method: 'POST', path: '/api/quote', headers: { 'Content-Type': type }, body: basket });
    expect(res.status).toBe(200);
  });

  test('an empty POST needs no Content-Type', async () => {
    expect((await raw({ method: 'POST', path: '/api/card/open' })).status).toBe(200);
    expect((await raw({ method: 'POST', path: '/api/card/open', headers: { 'Content-Length': '0' } })).status).toBe(200);
  });

  test('a JSON body that is not an object names the body', async () => {
    expectError(await send('POST', '/api/quote', []), 400, { code: 'invalid-input', field: 'body' });
  });
});

describe('free text headed for a signed invoice or credit note', () => {
  test.each([
    ['a lone surrogate', '\ud800'],
    ['a NUL', 'AP\u0000'],
    ['an ESC sequence', '\u001b[2JAP'],
    ['a right-to-left override', 'AP-\u202e71'],
    ['a bidi isolate', '\u2067AP'],
    ['a left-to-right mark', 'AP\u200e'],
    ['an Arabic letter mark', 'AP\u061c'],
    ['a C1 control', 'AP\u009b'],
    ['text that is not NFC', 'accorde\u0301'],
    ['65 code points', 'A'.repeat(65)],
  ])('an approval with %s → 400 naming lines[0].approval, nothing signed', async (_what, approval) => {
    const before = counter.service.backlog().invoices;
    for (const path of ['/api/quote', '/api/checkout']) {
      const res = await send('POST', path, { beneficiary: 1, lines: [line({ approval })] });
      expectError(res, 400, { code: 'invalid-input', field: 'lines[0].approval' });
      expect(apiError(res)!.message).not.toContain(approval);
    }
    expect(counter.service.backlog().invoices).toBe(before);
  });

  test('a printable approval in any script is signed as sent', async () => {
    const res = await send('POST', '/api/checkout', { beneficiary: 1, lines: [line({ approval: ' accordé 17 — بن ' })] });
    expect(res.status).toBe(201);
    const n = (JSON.parse(res.text) as { invoice: { number: number } }).invoice.number;
    expect(counter.service.invoiceDocument(n).document.lines[0]!.approval).toBe('accordé 17 — بن');
  });

  test('a cancel reason with control, bidi or lone-surrogate characters → 400 naming reason; the write stays pending', async () => {
    station.cards.insured.faults.removeAt({ ins: 0xe2, apdu: 1, phase: 'before' });
    const co = await send('POST', '/api/checkout', { beneficiary: 2, lines: [line()] });
    const n = (JSON.parse(co.text) as { invoice: { number: number } }).invoice.number;
    for (const reason of ['\udc00', 'abandon\u0000', 'aband\u202eon', 'x'.repeat(201), 'e\u0301'])
      expectError(await send('POST', `/api/card-writes/${n}/cancel`, { reason }), 400, { code: 'invalid-input', field: 'reason' });
    expect(counter.service.writes.get(n)!.state).toBe('pending');
    const ok = await send('POST', `/api/card-writes/${n}/cancel`, { reason: 'délivrance abandonnée' });
    expect(ok.status).toBe(200);
    const credit = (JSON.parse(ok.text) as { creditNote: number }).creditNote;
    expect(counter.service.invoiceDocument(credit).document.references).toMatchObject({ number: n, reason: 'délivrance abandonnée' });
    station.cards.insured.insert();
    await send('POST', '/api/card/open');
    await send('POST', '/api/card/verify', { pin: DEMO_PIN });
  });
});

describe('requestId', () => {
  test('the same requestId with the same basket is a replay; with another basket it is 409 request-id-reused', async () => {
    const first = await send('POST', '/api/checkout', { beneficiary: 1, lines: [line()], requestId: 'hostile-rid-0001' });
    expect(first.status).toBe(201);
    const number = (JSON.parse(first.text) as { invoice: { number: number } }).invoice.number;
    const again = await send('POST', '/api/checkout', { beneficiary: 1, lines: [line()], requestId: 'hostile-rid-0001' });
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toMatchObject({ replayed: true, invoice: { number } });
    const before = counter.service.backlog().invoices;
    for (const other of [
      { beneficiary: 1, lines: [line({ quantity: 2 })] },
      { beneficiary: 2, lines: [line()] },
      { beneficiary: 1, lines: [line(), line({ code: 'M01AE01-01' })] },
      { beneficiary: 1, lines: [line({ durationDays: 4 })] },
      { beneficiary: 1, prescription: 'RX1', lines: [line()] },
    ]) {
      const res = await send('POST', '/api/checkout', { ...other, requestId: 'hostile-rid-0001' });
      expectError(res, 409, { code: 'request-id-reused', field: 'requestId' });
    }
    expect(counter.service.backlog().invoices).toBe(before);
  });
});

describe('client input in error messages is cut, never echoed whole', () => {
  test('an unknown field with a 10 000-character name', async () => {
    const name = 'k'.repeat(10_000);
    const res = await send('POST', '/api/quote', { beneficiary: 1, lines: [line()], [name]: 1 });
    expectError(res, 400, { code: 'invalid-input', field: 'k'.repeat(40) + '…' });
    expect(apiError(res)!.message.length).toBeLessThan(200);
  });

  test('an unknown field whose name holds control and bidi characters', async () => {
    const res = await send('POST', '/api/quote', { beneficiary: 1, lines: [line()], 'a\u202eb\u0000c': 1 });
    expect(apiError(res)!.field).toBe('a\uFFFDb\uFFFDc');
  });

  test('an unknown endpoint with a 5 000-character path', async () => {
    const res = await raw({ method: 'GET', path: '/api/' + 'p'.repeat(5000) });
    expectError(res, 404, { code: 'not-found' });
    expect(apiError(res)!.message.length).toBeLessThan(200);
  });

  test('a product code in the path: malformed → 400 naming code; unknown → 404 with the code', async () => {
    const long = await raw({ method: 'GET', path: '/api/catalogue/' + 'C'.repeat(3000) });
    expectError(long, 400, { code: 'invalid-input', field: 'code' });
    expect(apiError(long)!.message.length).toBeLessThan(200);
    expectError(await raw({ method: 'GET', path: '/api/catalogue/%E2%80%AEX' }), 400, { code: 'invalid-input', field: 'code' });
    const unknown = await raw({ method: 'GET', path: '/api/catalogue/NOPE-01' });
    expectError(unknown, 404, { code: 'unknown-product', field: 'code' });
    expect(apiError(unknown)!.message).toContain('NOPE-01');
  });

  test('several values for one query parameter → 400 naming it', async () => {
    expectError(await raw({ method: 'GET', path: '/api/catalogue?q=a&q=b' }), 400, { code: 'invalid-input', field: 'q' });
    expectError(await raw({ method: 'GET', path: '/api/catalogue?q=a&limit=1&limit=2' }), 400, { code: 'invalid-input', field: 'limit' });
  });
});
