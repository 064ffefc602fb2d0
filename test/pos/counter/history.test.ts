import fc from 'fast-check';
import type { DispensationRecord } from '../../../src/pos/counter/card-data';
import type { HistoryProgress } from '../../../src/pos/counter/events';
import { CardHistory, DEFAULT_HORIZON, horizonRule, sinceRule } from '../../../src/pos/counter/history';
import { addDays } from '../../../src/common/calendar-date';
import { computeWarnings } from '../../../src/pos/counter/warnings';
import type { Product } from '../../../src/billing/catalogue/product';

/**
 * The horizon rule and the history cursor, on records made here (the emulator's reads are in
 * reading.test.ts). A fake ring counts what is read from it: each `next()` beyond the records in
 * hand is one record taken from the card.
 */

const TODAY = '2025-07-01';

function rec(date: string, durationDays: number, productCode = 'N02BE01-01', rank = 1): DispensationRecord {
  return { date, pharmacyId: 'DZ16-PH-00001', rank, productCode, quantity: 1, durationDays, invoiceNumber: 1, prescriptionRef: null };
}

/** A ring of `records` (newest first) that counts the records it hands out. */
function ring(records: DispensationRecord[]): { open: (from: number) => AsyncGenerator<DispensationRecord>; taken: () => number } {
  let taken = 0;
  return {
    open: async function* (from: number) {
      for (let i = from - 1; i < records.length; i++) {
        taken++;
        yield records[i]!;
      }
    },
    taken: () => taken,
  };
}

/** Records 1..n read with the horizon rule: how many were taken. */
async function horizonRead(records: DispensationRecord[]): Promise<{ history: CardHistory; taken: number }> {
  const r = ring(records);
  const history = new CardHistory(r.open, 400);
  await history.readUntil(horizonRule(TODAY));
  return { history, taken: r.taken() };
}

test('a card with nothing running stops at its first record', async () => {
  const old = Array.from({ length: 400 }, (_, i) => rec(addDays('2024-01-01', -i), 30));
  const { history, taken } = await horizonRead(old);
  expect(taken).toBe(1);
  expect(history.records).toHaveLength(1);
  expect(history.complete).toBe(false);
  expect(history.progress).toEqual({ read: 1, of: 400, complete: false });
});

test('a supply still running at record 399 is found: the read goes on as far as it must', async () => {
  // 398 recent records, a year-long supply dispensed 300 days ago, then an old one.
  const recent = Array.from({ length: 398 }, (_, i) => rec(addDays(TODAY, -Math.floor(i / 8)), 7));
  const records = [...recent, rec(addDays(TODAY, -300), 365, 'C09AA02-01'), rec(addDays(TODAY, -700), 30)];
  const { history, taken } = await horizonRead(records);
  expect(taken).toBe(400);
  expect(history.records[398]).toMatchObject({ productCode: 'C09AA02-01' });
});

test('the stop record is the first that has run out and is older than the longest treatment seen + the margin', async () => {
  const { longestDays, marginDays } = DEFAULT_HORIZON;
  const rule = horizonRule(TODAY);
  // Still running: never the stop, however old.
  expect(rule(rec(addDays(TODAY, -200), 365))).toBe(false);
  // That 365-day treatment now is the longest seen: 200 days back is no longer far enough.
  expect(rule(rec(addDays(TODAY, -(longestDays + marginDays)), 5))).toBe(false);
  expect(rule(rec(addDays(TODAY, -(365 + marginDays)), 5))).toBe(true);
  const fresh = horizonRule(TODAY);
  expect(fresh(rec(addDays(TODAY, -(longestDays + marginDays - 1)), 5))).toBe(false);
  expect(fresh(rec(addDays(TODAY, -(longestDays + marginDays)), 5))).toBe(true);
});

test("the rules' per-period window pushes the horizon back", () => {
  const rule = horizonRule(TODAY, DEFAULT_HORIZON, 200);
  expect(rule(rec(addDays(TODAY, -(200 + DEFAULT_HORIZON.marginDays - 1)), 5))).toBe(false);
  expect(rule(rec(addDays(TODAY, -(200 + DEFAULT_HORIZON.marginDays)), 5))).toBe(true);
});

test('property: the horizon read loses no duplicate warning of the full history', async () => {
  const products: Product[] = ['N02BE01-01', 'M01AE01-02', 'C09AA02-01', 'J01CA04-01'].map((code, i) => ({
    code,
    dci: `dci ${i}`,
    brand: `brand ${i}`,
    form: 'cp',
    strength: '',
    unitPrice: 100,
    referencePrice: 100,
    reimbursable: true,
    priorApproval: false,
  }));
  const lookup = (code: string) => products.find((p) => p.code === code);
  // Histories in append order with date steps back of 0..6 days and durations up to 90 days (the
  // rule's assumption), newest first.
  const history = fc
    .array(
      fc.record({
        back: fc.integer({ min: 0, max: 6 }),
        days: fc.integer({ min: 1, max: 90 }),
        p: fc.nat(3),
        rank: fc.integer({ min: 1, max: 2 }),
      }),
      {
        maxLength: 400,
      },
    )
    .map((steps) => {
      let date = TODAY;
      return steps.map((s) => {
        date = addDays(date, -s.back);
        return rec(date, s.days, products[s.p]!.code, s.rank);
      });
    });
  await fc.assert(
    fc.asyncProperty(history, async (records) => {
      const { history: h } = await horizonRead(records);
      for (const rank of [1, 2]) {
        const input = { today: TODAY, rank, lines: products.map((p) => ({ code: p.code })), products, allergies: [], lookup };
        expect(computeWarnings({ ...input, dispensations: h.records })).toEqual(computeWarnings({ ...input, dispensations: records }));
      }
    }),
    { numRuns: 200, seed: 13 },
  );
});

test('readAll goes on where the horizon read stopped, reporting progress; nothing is read twice', async () => {
  const records = Array.from({ length: 300 }, (_, i) => rec(addDays(TODAY, -i), 10));
  const r = ring(records);
  const seen: HistoryProgress[] = [];
  const history = new CardHistory(r.open, 400, (p) => seen.push(p));
  await history.readUntil(horizonRule(TODAY));
  const first = history.records.length;
  expect(first).toBe(DEFAULT_HORIZON.longestDays + DEFAULT_HORIZON.marginDays + 1);
  await history.readAll();
  expect(history.records).toEqual(records);
  expect(r.taken()).toBe(300);
  expect(history.complete).toBe(true);
  expect(seen.at(-1)).toEqual({ read: 300, of: 300, complete: true });
  const counts = seen.map((p) => p.read);
  expect([...counts].sort((a, b) => a - b)).toEqual(counts);
  // Every 8 records at most, and at the end of each read.
  expect(seen.length).toBeGreaterThanOrEqual(300 / 8);
  // Asking again reads nothing.
  await history.readUntil(sinceRule('2024-01-01'));
  await history.readAll();
  expect(r.taken()).toBe(300);
});

test('after an append the read starts again after what is known, and a full ring drops its oldest', async () => {
  const records = Array.from({ length: 400 }, (_, i) => rec(addDays(TODAY, -i), 10));
  let opened: number[] = [];
  const card = [...records];
  const open = async function* (from: number) {
    opened.push(from);
    for (let i = from - 1; i < card.length; i++) yield card[i]!;
  };
  const history = new CardHistory(open, 400);
  await history.readUntil((r) => r.date < addDays(TODAY, -20));
  expect(history.records).toHaveLength(22);
  // The card gets two new records at the head; the oldest two fall off the ring.
  const added = [rec(TODAY, 5, 'A'), rec(TODAY, 5, 'B')];
  card.unshift(added[1]!, added[0]!);
  card.length = 400;
  history.appended(added);
  expect(history.records.slice(0, 3).map((r) => r.productCode)).toEqual(['B', 'A', 'N02BE01-01']);
  opened = [];
  await history.readAll();
  expect(opened).toEqual([25]);
  expect(history.records).toEqual(card);
  // forget(): read again from record 1.
  history.forget();
  expect(history.records).toEqual([]);
  opened = [];
  await history.readUntil(() => true);
  expect(opened).toEqual([1]);
});

test('sinceRule: the first record dated more than the margin before the day', () => {
  const rule = sinceRule('2025-06-15');
  expect(rule(rec(addDays('2025-06-15', -DEFAULT_HORIZON.marginDays), 5))).toBe(false);
  expect(rule(rec(addDays('2025-06-15', -DEFAULT_HORIZON.marginDays - 1), 5))).toBe(true);
});

test('a failed step: the next read starts again after what was read', async () => {
  const records = Array.from({ length: 50 }, (_, i) => rec(addDays(TODAY, -i), 10));
  let fail = true;
  const opened: number[] = [];
  const open = async function* (from: number) {
    opened.push(from);
    for (let i = from - 1; i < records.length; i++) {
      if (i === 20 && fail) {
        fail = false;
        throw new Error('card removed');
      }
      yield records[i]!;
    }
  };
  const history = new CardHistory(open, 400);
  await expect(history.readAll()).rejects.toThrow('card removed');
  expect(history.records).toHaveLength(20);
  await history.readAll();
  expect(opened).toEqual([1, 21]);
  expect(history.records).toEqual(records);
});
