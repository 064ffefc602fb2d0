import * as http from 'node:http';
import * as path from 'node:path';
import { journalPath } from '../../../src/pos/counter/journal';
import { packageRoot } from '../../../src/common/paths';
import { Journal } from '../../../src/sync/journal/journal';
import { SoftwareSigner } from '../../../src/sync/signer';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { RemoteBindRefusedError, startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, NOW, tmpDir } from '../counter/harness';

/**
 * The API over real HTTP on loopback (port 0), with the real SQLite files in a temporary
 * directory and the emulated demo cards: authentication, Host check, error shapes and statuses,
 * the PIN kept out of the log, and a checkout with its receipt.
 */

let counter: RunningCounter;
let logs: string[];
let station: EmulatedStation;
let dir: string;

beforeAll(async () => {
  dir = tmpDir('chifa-api-');
  const cap = captureLogger();
  logs = cap.lines;
  station = EmulatedStation.openDemo(dir);
  counter = await startCounter({ dataDir: dir, port: 0, logger: cap.logger, station, now: () => NOW });
});

afterAll(async () => {
  await counter?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${counter.token}`, ...headers } };
  if (body !== undefined) {
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(counter.url + path, init);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, headers: res.headers };
}

describe('access', () => {
  test('listens on loopback; the page URL carries the token in the fragment', () => {
    expect(counter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(counter.pageUrl).toBe(`${counter.url}/#token=${encodeURIComponent(counter.token)}`);
    expect(counter.tokenSource).toBe('generated');
  });

  test('health is open; everything else needs the bearer token', async () => {
    expect((await fetch(`${counter.url}/api/health`)).status).toBe(200);
    const none = await fetch(`${counter.url}/api/status`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('Bearer') } });
    const wrong = await call('GET', '/api/status', undefined, { Authorization: `Bearer ${counter.token}x` });
    expect(wrong.status).toBe(401);
    const basic = await call('POST', '/api/card/verify', { pin: '1234' }, { Authorization: 'Basic abc' });
    expect(basic.status).toBe(401);
    expect((await call('GET', '/api/status')).status).toBe(200);
  });

  test('a Host header that is not a loopback name is refused (DNS rebinding)', async () => {
    const port = Number(new URL(counter.url).port);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/api/health', headers: { Host: `attacker.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  test('a non-loopback address is refused without --allow-remote', async () => {
    const { logger } = captureLogger();
    await expect(startCounter({ dataDir: tmpDir(), host: '0.0.0.0', port: 0, logger, station })).rejects.toBeInstanceOf(
      RemoteBindRefusedError,
    );
    await expect(startCounter({ dataDir: tmpDir(), host: '192.0.2.1', port: 0, logger, station })).rejects.toMatchObject({
      code: 'remote-refused',
    });
  });

  test('--allow-remote binds a non-loopback address, with a warning', async () => {
    const cap = captureLogger();
    const remote = await startCounter({
      dataDir: tmpDir(),
      host: '0.0.0.0',
      port: 0,
      allowRemote: true,
      logger: cap.logger,
      station,
      token: 'remote-token-0123456789',
    });
    try {
      expect(remote.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      expect(cap.lines.join('\n')).toContain('WARNING: the counter listens on a non-loopback address');
      const port = new URL(remote.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(401);
      expect(
        (await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { Authorization: 'Bearer remote-token-0123456789' } })).status,
      ).toBe(200);
    } finally {
      await remote.close();
    }
  });

  test('security headers on the page and the API', async () => {
    const page = await fetch(`${counter.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="js/main.js"></script>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect((await call('GET', '/api/status')).headers.get('cache-control')).toBe('no-store');
  });
});

describe('errors', () => {
  test('bad input names the field (400)', async () => {
    await call('POST', '/api/card/open');
    await call('POST', '/api/card/verify', { pin: '1234' });
    const r = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 0 }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid-input', field: 'lines[0].quantity' });
    const unknownField = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }], discount: 5 });
    expect(unknownField.json.error).toMatchObject({ code: 'invalid-input', field: 'discount' });
    const noDuration = await call('POST', '/api/checkout', { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] });
    expect(noDuration.json.error).toMatchObject({ code: 'invalid-input', field: 'lines[0].durationDays' });
    const badRank = await call('POST', '/api/quote', { beneficiary: 9, lines: [{ code: 'N02BE01-01', quantity: 1 }] });
    expect(badRank.json.error).toMatchObject({ code: 'invalid-input', field: 'beneficiary' });
    const malformed = await call('POST', '/api/quote', '{"beneficiary":', {});
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('malformed-json');
    expect((await call('GET', '/api/invoices/abc/receipt')).json.error).toMatchObject({ code: 'invalid-input', field: 'number' });
    expect((await call('GET', '/api/catalogue?q=a&limit=0')).json.error.field).toBe('limit');
  });

  test('a body over 64 KB is refused (413)', async () => {
    const r = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ code: 'x'.repeat(70_000), quantity: 1 }] });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('body-too-large');
  });

  test('unknown product, invoice and endpoint (404)', async () => {
    const q = await call('POST', '/api/quote', {
      beneficiary: 1,
      lines: [
        { code: 'N02BE01-01', quantity: 1 },
        { code: 'NOPE-01', quantity: 1 },
      ],
    });
    expect(q.status).toBe(404);
    expect(q.json.error).toMatchObject({ code: 'unknown-product', field: 'lines[1].code' });
    expect((await call('GET', '/api/catalogue/NOPE-01')).status).toBe(404);
    expect((await call('GET', '/api/invoices/999/receipt')).json.error.code).toBe('unknown-invoice');
    expect((await call('GET', '/api/nothing-here')).json.error.code).toBe('not-found');
  });

  test('card state conflicts (409): no card, PIN required (blocking: test/pos/counter/session.test.ts)', async () => {
    station.cards.insured.remove();
    const open = await call('POST', '/api/card/open');
    expect(open.status).toBe(409);
    expect(open.json.error.code).toBe('no-card');
    expect((await call('POST', '/api/quote', { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] })).json.error.code).toBe(
      'no-card',
    );
    station.cards.insured.insert();
    expect((await call('POST', '/api/card/open')).status).toBe(200);
    const q = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ code: 'N02BE01-01', quantity: 1 }] });
    expect(q.status).toBe(409);
    expect(q.json.error.code).toBe('pin-required');
  });
});

describe('card, quote, checkout, receipt', () => {
  test('open shows the holder without the PIN; a wrong PIN says how many tries are left', async () => {
    const open = await call('POST', '/api/card/open');
    expect(open.json.holder).toMatchObject({ lastName: 'BENALI', firstName: 'Karim', cardSerial: 'CH2-2024-000001' });
    const wrong = await call('POST', '/api/card/verify', { pin: '9876' });
    expect(wrong.status).toBe(200);
    expect(wrong.json).toEqual({ result: 'wrong-pin', retriesLeft: 2 });
    const ok = await call('POST', '/api/card/verify', { pin: '1234' });
    expect(ok.json.result).toBe('ok');
    expect(ok.json.card.emergency.allergies).toEqual(['Amoxicilline']);
    expect(ok.json.card.beneficiaries).toHaveLength(4);
    const status = await call('GET', '/api/status');
    expect(status.json).toMatchObject({
      mode: 'demo',
      insured: { present: true, verified: true },
      professional: { present: true, unlocked: true },
    });
  });

  test('catalogue search', async () => {
    const r = await call('GET', '/api/catalogue?q=amox&limit=5');
    expect(r.json.products.length).toBeGreaterThan(0);
    expect(r.json.products.every((p: { dci: string }) => p.dci.startsWith('Amoxicilline'))).toBe(true);
  });

  test('quote with the allergy warning, then checkout, receipt and backlog', async () => {
    const q = await call('POST', '/api/quote', {
      beneficiary: 1,
      lines: [
        { code: 'J01CA04-01', quantity: 1 },
        { code: 'N02BE01-01', quantity: 2 },
      ],
    });
    expect(q.status).toBe(200);
    expect(q.json.quote).toMatchObject({ total: 23600 + 10400, thirdPartyPayment: true });
    expect(q.json.warnings).toEqual([expect.objectContaining({ code: 'allergy', line: 0 })]);
    const expectTotals = { total: q.json.quote.total, fund: q.json.quote.fund, patient: q.json.quote.patient };
    const co = await call('POST', '/api/checkout', {
      beneficiary: 1,
      lines: [
        { code: 'J01CA04-01', quantity: 1, durationDays: 7 },
        { code: 'N02BE01-01', quantity: 2, durationDays: 5 },
      ],
      expect: expectTotals,
      requestId: 'http-test-0001',
    });
    expect(co.status).toBe(201);
    expect(co.json.cardWrite).toMatchObject({ state: 'done', records: 2 });
    const again = await call('POST', '/api/checkout', {
      beneficiary: 1,
      lines: [
        { code: 'J01CA04-01', quantity: 1, durationDays: 7 },
        { code: 'N02BE01-01', quantity: 2, durationDays: 5 },
      ],
      requestId: 'http-test-0001',
    });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ replayed: true, invoice: { number: co.json.invoice.number } });
    const receipt = await call('GET', `/api/invoices/${co.json.invoice.number}/receipt`);
    expect(receipt.json).toMatchObject({
      number: co.json.invoice.number,
      pharmacy: { pharmacyId: 'DZ16-PH-00001', name: expect.stringContaining('Pharmacie') },
      beneficiary: { cardSerial: '***********0001', rank: 1 },
      totals: expectTotals,
      cardWrite: { state: 'done' },
    });
    const card = await call('GET', '/api/card');
    expect(card.json.dispensations[0]).toMatchObject({ productCode: 'N02BE01-01', invoiceNumber: co.json.invoice.number, durationDays: 5 });
    const backlog = await call('GET', '/api/sync/backlog');
    expect(backlog.json).toMatchObject({ invoices: 1, lastNumber: 1, pharmacyId: 'DZ16-PH-00001' });
    expect((await call('GET', '/api/invoices/rejected')).json).toMatchObject({ rejected: [] });
  });

  test('a pending card write is listed, and cancelled with a credit note over HTTP', async () => {
    station.cards.insured.faults.removeAt({ ins: 0xe2, apdu: 1, phase: 'before' });
    const co = await call('POST', '/api/checkout', { beneficiary: 2, lines: [{ code: 'N02BE01-01', quantity: 1, durationDays: 3 }] });
    expect(co.status).toBe(201);
    expect(co.json.cardWrite).toMatchObject({ state: 'pending', error: { code: 'card-removed' } });
    expect((await call('GET', '/api/card-writes')).json.pending).toEqual([
      expect.objectContaining({ invoiceNumber: co.json.invoice.number, records: 1, written: 0 }),
    ]);
    const cancel = await call('POST', `/api/card-writes/${co.json.invoice.number}/cancel`, { reason: 'abandon' });
    expect(cancel.json).toMatchObject({ state: 'cancelled', creditNote: co.json.invoice.number + 1 });
    const receipt = await call('GET', `/api/invoices/${co.json.invoice.number}/receipt`);
    expect(receipt.json).toMatchObject({ creditNote: co.json.invoice.number + 1, cardWrite: { state: 'cancelled' } });
    station.cards.insured.insert();
  });

  test('the PIN never reaches the log; the request log has no bodies', async () => {
    station.cards.insured.remove();
    station.cards.insured.insert();
    await call('POST', '/api/card/open');
    await call('POST', '/api/card/verify', { pin: '5555' });
    await call('POST', '/api/card/verify', { pin: '1234' });
    const all = logs.join('\n');
    expect(logs.some((l) => l.includes('"path":"/api/card/verify"'))).toBe(true);
    for (const pin of ['5555', '9876', '"1234"']) expect(all).not.toContain(pin);
    expect(all).not.toMatch(/"pin"\s*:/);
    expect(all).not.toContain(counter.token);
    expect(all).not.toContain('180516012345'); // the insured's social-security number
  });
});

describe('readers and the default beneficiary', () => {
  test('GET /api/readers: each reader with its role and its card (ATR, application)', async () => {
    const atr = (c: { atr: Buffer }) => c.atr.toString('hex').toUpperCase();
    const r = await call('GET', '/api/readers');
    expect(r.json).toEqual({
      mode: 'demo',
      serviceAvailable: true,
      readers: [
        { name: expect.any(String), role: 'insured', card: { present: true, atr: atr(station.cards.insured), application: 'insured' } },
        {
          name: expect.any(String),
          role: 'professional',
          card: { present: true, atr: atr(station.cards.professional), application: 'professional' },
        },
      ],
    });
    station.cards.insured.remove();
    try {
      expect((await call('GET', '/api/readers')).json.readers[0].card).toEqual({ present: false, atr: null, application: null });
    } finally {
      station.cards.insured.insert();
    }
  });

  test('a quote or checkout without beneficiary is for the insured person (rank 1)', async () => {
    await call('POST', '/api/card/open');
    await call('POST', '/api/card/verify', { pin: '1234' });
    const lines = [{ code: 'N02BE01-01', quantity: 1, durationDays: 2 }];
    const q = await call('POST', '/api/quote', { lines });
    expect(q.status).toBe(200);
    expect(q.json.beneficiary).toMatchObject({ rank: 1, relationship: 'insured' });
    const co = await call('POST', '/api/checkout', { lines, requestId: 'no-beneficiary-01' });
    expect(co.status).toBe(201);
    expect(counter.service.invoiceDocument(co.json.invoice.number).document.beneficiary.rank).toBe(1);
    // The same basket with beneficiary 1 spelt out is the same request.
    const same = await call('POST', '/api/checkout', { beneficiary: 1, lines, requestId: 'no-beneficiary-01' });
    expect(same).toMatchObject({ status: 200, json: { replayed: true, invoice: { number: co.json.invoice.number } } });
  });
});

describe('journal views', () => {
  test("the fund's rejections are listed with what the fund said; the backlog counts them", async () => {
    // Stand in for the uploader: close the batch and record the fund's answer in the same journal.
    const keys = path.join(packageRoot(), 'fixtures', 'keys');
    const signer = SoftwareSigner.fromFiles(path.join(keys, 'pharmacy-1.key.pem'), path.join(keys, 'pharmacy-1.cert.pem'));
    const journal = Journal.open(journalPath(dir), { signer });
    try {
      const batch = (await journal.closeOpenBatch('on-demand'))!;
      const results = [];
      for (let n = batch.from; n <= batch.to; n++) {
        const inv = journal.invoice(n)!;
        results.push(
          n === 1
            ? { number: n, hash: inv.hash, status: 'rejected' as const, code: 'R-RIGHTS', reason: 'droits non ouverts à cette date' }
            : { number: n, hash: inv.hash, status: 'accepted' as const },
        );
      }
      journal.recordAck(batch.id, {
        pharmacyId: 'DZ16-PH-00001',
        batchId: batch.id,
        idempotencyKey: batch.idempotencyKey!,
        receivedAt: NOW.toISOString(),
        complete: true,
        state: 'acknowledged',
        count: batch.count,
        accepted: batch.count - 1,
        rejected: 1,
        paid: 0,
        results,
      });
    } finally {
      await journal.close();
    }
    const r = await call('GET', '/api/invoices/rejected');
    expect(r.json.rejected).toEqual([
      expect.objectContaining({ number: 1, code: 'R-RIGHTS', reason: 'droits non ouverts à cette date', correctedBy: null }),
    ]);
    expect(r.json.backlog).toMatchObject({ rejectedPending: 1, acknowledgedBatches: 1 });
    expect((await call('GET', '/api/invoices/1/receipt')).json.ack).toEqual({
      status: 'rejected',
      code: 'R-RIGHTS',
      reason: 'droits non ouverts à cette date',
    });
    expect((await call('GET', '/api/status')).json.sync).toMatchObject({ rejectedPending: 1 });
  });
});
