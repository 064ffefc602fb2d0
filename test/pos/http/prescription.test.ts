import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/common/paths';
import { FundServer } from '../../../src/fund/server';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, NOW, tmpDir } from '../counter/harness';

/**
 * Dispensing against a prescription on the card, over HTTP: the quote shows what the
 * prescription still allows per product; a partial dispensing is carried over (the card's records
 * name the prescription); a line above what is left gets no third-party payment
 * (`over-prescribed-quantity`) — exactly at the rest it does. The fund, recomputing the split from
 * the signed invoice, accepts both invoices.
 */

const RX = 'RX000200';

/** The demo card with one more prescription, nothing dispensed against it yet (TEST ONLY data). */
function imageWithPrescription(dir: string): string {
  const cards = path.join(packageRoot(), 'fixtures', 'cards');
  const image = JSON.parse(fs.readFileSync(path.join(cards, 'demo.json'), 'utf8')) as Record<string, unknown> & {
    fundCa: string;
    prescriptions: unknown[];
  };
  image.fundCa = path.resolve(cards, image.fundCa);
  image.prescriptions = [
    {
      date: '2025-06-10',
      prescriberId: 'DZ16-MD-10231',
      speciality: 'Cardiologie',
      rank: 1,
      reference: RX,
      lines: [
        { productCode: 'C07AB07-01', quantity: 3, durationDays: 90 },
        { productCode: 'N02BE01-01', quantity: 2, durationDays: 5 },
      ],
    },
    ...image.prescriptions,
  ];
  const file = path.join(dir, 'card-with-rx.json');
  fs.writeFileSync(file, JSON.stringify(image));
  return file;
}

let counter: RunningCounter;
let fund: FundServer;

beforeAll(async () => {
  const dir = tmpDir('chifa-rx-');
  fund = new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, now: () => NOW });
  const url = await fund.listen();
  const dataDir = path.join(dir, 'counter');
  const station = EmulatedStation.openDemo(dataDir, { insuredImage: imageWithPrescription(dir) });
  counter = await startCounter({
    dataDir,
    port: 0,
    logger: captureLogger().logger,
    station,
    now: () => NOW,
    fund: url,
    syncIntervalMs: 3_600_000,
  });
});

afterAll(async () => {
  await counter?.close();
  await fund?.close();
});

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(counter.url + p, {
    method,
    headers: { Authorization: `Bearer ${counter.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

const basket = (bisoprolol: number) => ({
  prescription: RX,
  lines: [
    { code: 'C07AB07-01', quantity: bisoprolol, durationDays: 30 },
    { code: 'N02BE01-01', quantity: 1, durationDays: 5 },
  ],
});
const balance = (q: { json: { prescription: { lines: { productCode: string; remaining: number }[] } } }) =>
  Object.fromEntries(q.json.prescription.lines.map((l) => [l.productCode, l.remaining]));

test('the rest of a prescription, across a partial dispensing, and the fund agrees', async () => {
  await call('POST', '/api/card/open');
  expect((await call('POST', '/api/card/verify', { pin: '1234' })).json.result).toBe('ok');

  const fresh = await call('POST', '/api/quote', basket(2));
  expect(fresh.json.prescription).toEqual({
    reference: RX,
    rank: 1,
    lines: [
      { productCode: 'C07AB07-01', prescribed: 3, dispensed: 0, remaining: 3 },
      { productCode: 'N02BE01-01', prescribed: 2, dispensed: 0, remaining: 2 },
    ],
  });
  expect(fresh.json.quote.lines.map((l: { reason: string | null }) => l.reason)).toEqual([null, null]);
  const first = await call('POST', '/api/checkout', basket(2));
  expect(first.status).toBe(201);
  expect(first.json.cardWrite.state).toBe('done');

  // Two of three dispensed: one is left.
  const atRest = await call('POST', '/api/quote', basket(1));
  expect(balance(atRest)).toEqual({ 'C07AB07-01': 1, 'N02BE01-01': 1 });
  expect(atRest.json.quote.lines[0]).toMatchObject({ reason: null, fund: expect.any(Number) });
  expect(atRest.json.quote.lines[0].fund).toBeGreaterThan(0);
  const over = await call('POST', '/api/quote', basket(3));
  expect(over.json.quote.lines[0]).toMatchObject({ reason: 'over-prescribed-quantity', fund: 0 });
  expect(over.json.quote.lines[1]).toMatchObject({ reason: null });
  expect(over.json.quote.thirdPartyPayment).toBe(true);

  // Signed as quoted: the refused line is in the invoice with its prescribed quantities.
  const second = await call('POST', '/api/checkout', {
    ...basket(3),
    expect: { total: over.json.quote.total, fund: over.json.quote.fund, patient: over.json.quote.patient },
  });
  expect(second.status).toBe(201);
  const doc = counter.service.invoiceDocument(second.json.invoice.number).document;
  expect(doc.lines[0]).toMatchObject({
    code: 'C07AB07-01',
    reason: 'over-prescribed-quantity',
    fund: 0,
    prescribed: { quantity: 3, alreadyDispensed: 2 },
  });

  // A paper prescription (not on the card): no balance, no limit.
  const paper = await call('POST', '/api/quote', { ...basket(9), prescription: 'RX-PAPER-1' });
  expect(paper.json.prescription).toBeNull();
  expect(paper.json.quote.lines[0].reason).toBeNull();

  // The fund recomputes both splits from the signed invoices and accepts them.
  const job = await call('POST', '/api/batches/close');
  expect(job.status).toBe(202);
  let state = job.json;
  for (let i = 0; i < 200 && state.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 25));
    state = (await call('GET', `/api/batches/jobs/${job.json.id}`)).json;
  }
  expect(state).toMatchObject({ state: 'done', closed: { count: 2 }, upload: { accepted: 2, rejected: 0, error: null } });
});
