import { checkDigit } from '../../../src/common/gs1';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, DEMO_PIN, NOW, tmpDir } from '../counter/harness';

/**
 * Barcodes over HTTP: the product a GTIN names, and the scanned pack's lot, expiry and serial
 * from the basket to the signed invoice and its receipt; a pack past its expiry date is refused
 * (today is 2025-06-15).
 */

let counter: RunningCounter;

beforeAll(async () => {
  counter = await startCounter({ dataDir: tmpDir('chifa-gtin-'), port: 0, demo: true, logger: captureLogger().logger, now: () => NOW });
  await call('POST', '/api/card/open');
  expect((await call('POST', '/api/card/verify', { pin: DEMO_PIN })).json.result).toBe('ok');
});

afterAll(async () => {
  await counter?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { Authorization: `Bearer ${counter.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(counter.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const DOLIPRANE = `299000000001${checkDigit('299000000001')}`; // fixtures/catalogue: row 1, N02BE01-01

describe('GET /api/catalogue/gtin/:gtin', () => {
  test('a GTIN-13 or its 14-digit form finds the product', async () => {
    for (const g of [DOLIPRANE, `0${DOLIPRANE}`]) {
      const r = await call('GET', `/api/catalogue/gtin/${g}`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        gtin: `0${DOLIPRANE}`,
        product: expect.objectContaining({ code: 'N02BE01-01', brand: 'Doliprane', gtin: `0${DOLIPRANE}` }),
      });
    }
  });

  test('a GTIN the catalogue does not have is an answer, not an error', async () => {
    const unknown = `613000004242${checkDigit('613000004242')}`;
    expect(await call('GET', `/api/catalogue/gtin/${unknown}`)).toEqual({ status: 200, json: { gtin: `0${unknown}`, product: null } });
  });

  test.each(['2990000000018', '123', 'ABCDEFGHIJKLM', '%20', '029900000000190'])('%s is refused naming gtin (400)', async (g) => {
    const r = await call('GET', `/api/catalogue/gtin/${g}`);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'invalid-input', field: 'gtin' });
  });
});

describe('the scanned pack on the basket line', () => {
  const line = { code: 'N02BE01-01', quantity: 1, durationDays: 5 };

  test('lot, expiry and serial go on the signed invoice line and its receipt', async () => {
    const pack = { lot: 'LOT42', expiry: '2027-12-31', serial: 'SN0001' };
    const q = await call('POST', '/api/quote', {
      beneficiary: 1,
      lines: [
        { ...line, ...pack },
        { ...line, code: 'N02BE01-02' },
      ],
    });
    expect(q.status).toBe(200);
    const co = await call('POST', '/api/checkout', {
      beneficiary: 1,
      lines: [
        { ...line, ...pack },
        { ...line, code: 'N02BE01-02' },
      ],
      expect: { total: q.json.quote.total, fund: q.json.quote.fund, patient: q.json.quote.patient },
    });
    expect(co.status).toBe(201);
    const doc = counter.service.invoiceDocument(co.json.invoice.number).document;
    expect(doc.lines[0]).toMatchObject(pack);
    expect(doc.lines[1]).not.toHaveProperty('lot');
    const receipt = await call('GET', `/api/invoices/${co.json.invoice.number}/receipt`);
    expect(receipt.json.lines.map((l: any) => [l.lot, l.expiry, l.serial])).toEqual([
      ['LOT42', '2027-12-31', 'SN0001'],
      [null, null, null],
    ]);
  });

  test('a pack past its expiry date is refused naming the line (400 expired-lot); today is still good', async () => {
    const r = await call('POST', '/api/quote', { beneficiary: 1, lines: [line, { ...line, lot: 'OLD1', expiry: '2025-06-14' }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'expired-lot', field: 'lines[1].expiry', message: expect.stringContaining('2025-06-14') });
    const co = await call('POST', '/api/checkout', { beneficiary: 1, lines: [{ ...line, lot: 'OLD1', expiry: '2025-05-31' }] });
    expect(co.json.error).toMatchObject({ code: 'expired-lot', field: 'lines[0].expiry' });
    expect((await call('POST', '/api/quote', { beneficiary: 1, lines: [{ ...line, expiry: '2025-06-15' }] })).status).toBe(200);
  });

  test('a serial number is one pack: one unit, on one line', async () => {
    const serial = { ...line, serial: 'SN9' };
    const two = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ ...serial, quantity: 2 }] });
    expect(two.json.error).toMatchObject({ code: 'invalid-input', field: 'lines[0].quantity' });
    const twice = await call('POST', '/api/quote', { beneficiary: 1, lines: [serial, serial] });
    expect(twice.json.error).toMatchObject({ code: 'invalid-input', field: 'lines[1].serial' });
  });

  test('lot and serial are free text under the signed-text rule; expiry a calendar date', async () => {
    for (const [bad, field] of [
      [{ lot: 'L\u202e1' }, 'lines[0].lot'],
      [{ lot: 'x'.repeat(21) }, 'lines[0].lot'],
      [{ serial: '' }, 'lines[0].serial'],
      [{ expiry: '2027-02-30' }, 'lines[0].expiry'],
      [{ expiry: 20271231 }, 'lines[0].expiry'],
    ] as const) {
      const r = await call('POST', '/api/quote', { beneficiary: 1, lines: [{ ...line, ...bad }] });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'invalid-input', field });
    }
  });
});
