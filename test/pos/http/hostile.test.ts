import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, DEMO_PIN, NOW, tmpDir } from '../counter/harness';
import { apiError, rawRequest, type RawRequest, type RawResponse } from './raw-http';

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

describe('request bodies', () => {
  test('a JSON body that is not an object names the body', async () => {
    expectError(await send('POST', '/api/quote', []), 400, { code: 'invalid-input', field: 'body' });
  });
});
