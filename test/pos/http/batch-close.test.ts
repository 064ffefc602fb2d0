import * as path from 'node:path';
import { FundServer } from '../../../src/fund/server';
import type { BatchJob } from '../../../src/pos/counter/batch-close';
import type { CounterEventMap } from '../../../src/pos/counter/events';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { basket, captureLogger, NOW, THREE_LINES, tmpDir } from '../counter/harness';

/**
 * "Clôturer et transmettre" over HTTP with the reference fund in-process: the open batch is closed
 * and its manifest signed by the professional card, then uploaded; the job is read back by id and
 * its progress is published on the counter's event bus; the fund's answer is reported per invoice. Without the
 * professional card's PIN nothing is closed.
 */

let counter: RunningCounter;
let fund: FundServer;
let station: EmulatedStation;

beforeAll(async () => {
  const dir = tmpDir('chifa-close-');
  fund = new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, now: () => NOW });
  const url = await fund.listen();
  station = EmulatedStation.openDemo(path.join(dir, 'counter'));
  counter = await startCounter({
    dataDir: path.join(dir, 'counter'),
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

async function call(method: string, p: string): Promise<{ status: number; json: any }> {
  const res = await fetch(counter.url + p, { method, headers: { Authorization: `Bearer ${counter.token}` } });
  return { status: res.status, json: await res.json() };
}

async function finished(id: string): Promise<BatchJob> {
  for (let i = 0; i < 400; i++) {
    const j = (await call('GET', `/api/batches/jobs/${id}`)).json as BatchJob;
    if (j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the job did not finish');
}

test('the professional card must be unlocked: nothing is closed without it', async () => {
  const s = counter.service;
  await s.openCard();
  await s.verifyPin('1234');
  await s.checkout(THREE_LINES);
  station.cards.professional.remove();
  station.cards.professional.insert();
  const r = await call('POST', '/api/batches/close');
  expect(r).toEqual({ status: 409, json: { error: { code: 'professional-pin-required', message: expect.any(String) } } });
  expect(s.backlog()).toMatchObject({ openInvoices: 1, unsentBatches: 0 });
});

test('closed on the card, sent, and the fund answers per invoice; progress as events', async () => {
  const s = counter.service;
  expect((await s.verifyProfessionalPin('0000')).result).toBe('ok');
  await s.openCard();
  await s.verifyPin('1234');
  await s.checkout(basket([['N02BE01-01', 1, 5]], 2));
  const events: CounterEventMap['batch-job'][] = [];
  const sync: CounterEventMap['sync-progress'][] = [];
  const unsubscribe = s.events.subscribe((e) => {
    if (e.type === 'batch-job') events.push(e.data as CounterEventMap['batch-job']);
    if (e.type === 'sync-progress') sync.push(e.data as CounterEventMap['sync-progress']);
  });

  const started = await call('POST', '/api/batches/close');
  expect(started.status).toBe(202);
  expect(started.json).toMatchObject({ fundConfigured: true, closed: { batchId: 1, from: 1, to: 2, count: 2, signed: true } });
  const job = await finished(started.json.id);
  expect(job).toMatchObject({
    state: 'done',
    error: null,
    upload: {
      batches: 1,
      invoices: 2,
      accepted: 2,
      rejected: 0,
      error: null,
      progress: { doneInvoices: 2, totalInvoices: 2, doneBatches: 1 },
    },
  });
  unsubscribe();
  // On the counter's event bus (GET /api/events streams it): the job's states and counts, and the
  // sync loop's progress per batch the fund answered.
  expect(events.map((e) => e.state)).toEqual(['running', 'running', 'done']);
  expect(events[1]).toMatchObject({ batchId: 1, invoices: 2, doneInvoices: 2, totalInvoices: 2, accepted: null });
  expect(events[2]).toMatchObject({ accepted: 2, rejected: 0 });
  expect(events.every((e) => e.id === job.id)).toBe(true);
  expect(sync.map((e) => e.state)).toEqual(['running', 'done']);
  expect(s.backlog()).toMatchObject({ invoices: 2, openInvoices: 0, unsentBatches: 0 });
  expect(s.backlog().acknowledgedBatches + s.backlog().settledBatches).toBe(1);

  // Nothing left open: closing again closes nothing and sends nothing.
  const again = await call('POST', '/api/batches/close');
  expect(again.json.closed).toBeNull();
  expect(await finished(again.json.id)).toMatchObject({ state: 'done', upload: { batches: 0, accepted: 0 } });
});
