import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/common/paths';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { loadRules } from '../../../src/billing/rules/load';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import type { CounterEvent } from '../../../src/pos/counter/events';
import { CounterJournal, journalPath } from '../../../src/pos/counter/journal';
import { CounterService } from '../../../src/pos/counter/service';
import { addDays } from '../../../src/common/calendar-date';
import { basket, captureLogger, peekCard, PRO_PIN, THREE_LINES, tmpDir } from './harness';

/**
 * The order the counter reads the card in after the PIN, through the in-process emulator with
 * the `typical` timing profile on a virtual clock (nothing sleeps; the meters count): the first
 * screen, the dispensations back to the horizon only, the prescriptions and the professional
 * authentication in the background, the rest of the history on demand — and a checkout that
 * does only its signature and its appends.
 */

const CARDS = path.join(packageRoot(), 'fixtures', 'cards');
const PIN = '1234';

interface Counter {
  service: CounterService;
  station: EmulatedStation;
  insured: VirtualCard;
  professional: VirtualCard;
  events: CounterEvent[];
  close(): Promise<void>;
}

const open: Counter[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

async function counter(insured: VirtualCard, today: string): Promise<Counter> {
  const dir = tmpDir('chifa-reading-');
  const professional = VirtualCard.fromImage(path.join(CARDS, 'pharmacist-1.json'));
  const station = new EmulatedStation(insured, professional, { timing: 'typical', clock: 'virtual' });
  const catalogue = CatalogueStore.open(dir);
  const now = () => new Date(`${today}T10:00:00Z`);
  const journal = CounterJournal.open(journalPath(dir), { now });
  const service = new CounterService({ station, catalogue, rules: loadRules(), journal, logger: captureLogger().logger, now });
  const events: CounterEvent[] = [];
  service.events.subscribe((e) => events.push(e));
  const c: Counter = {
    service,
    station,
    insured,
    professional,
    events,
    close: async () => {
      await service.close();
      await journal.close();
      catalogue.close();
    },
  };
  open.push(c);
  return c;
}

/** The demo card's image with other dispensations (newest first). */
function cardWith(dispensations: object[]): VirtualCard {
  const image = JSON.parse(fs.readFileSync(path.join(CARDS, 'demo.json'), 'utf8')) as Record<string, unknown>;
  return VirtualCard.fromImageObject({ ...image, dispensations }, CARDS);
}

function disp(date: string, productCode: string, durationDays: number, rank = 1, invoiceNumber = 7000) {
  return { date, pharmacyId: 'DZ31-PH-00002', rank, productCode, quantity: 1, durationDays, invoiceNumber, prescriptionRef: 'RX000001' };
}

async function verified(c: Counter) {
  await c.service.openCard();
  const v = await c.service.verifyPin(PIN);
  if (v.result !== 'ok') throw new Error('PIN refused');
  return v;
}

const stages = (c: Counter) => c.events.filter((e) => e.type === 'card').map((e) => (e.data as { stage: string }).stage);

test('a card with nothing running: the read stops at its first dispensation', async () => {
  // The full-rings card's newest record is of 2025-06-30: a year and a half later nothing runs.
  const c = await counter(VirtualCard.fromImage(path.join(CARDS, 'full-rings.json')), '2026-12-01');
  await c.service.openCard();
  const before = c.station.usage('insured');
  const v = await verified(c);
  const used = c.station.usage('insured');
  expect(v.card.reading.history).toEqual({ read: 1, of: 400, complete: false });
  expect(v.card.dispensations).toHaveLength(1);
  // VERIFY, rights, beneficiaries, emergency data and one chunk of 8 dispensations — not the
  // 25,600 bytes of the ring.
  expect(used.characters - before.characters).toBeLessThan(2_000);
  const q = await c.service.quote(basket([['N02BE01-01', 1, 5]]));
  expect(q.warnings).toEqual([]);
});

test('a supply still running at record 399 is found: the read goes on as far as it must', async () => {
  const today = '2025-07-01';
  // 398 recent records (the last 50 days), a year-long supply dispensed 300 days ago to the
  // insured person, then an old record.
  const recent = Array.from({ length: 398 }, (_, i) => disp(addDays(today, -Math.floor(i / 8)), 'N02BE01-01', 7, 2, 8000 - i));
  const c = await counter(
    cardWith([...recent, disp(addDays(today, -300), 'C09AA02-01', 365), disp('2023-01-05', 'M01AE01-02', 30)]),
    today,
  );
  const v = await verified(c);
  expect(v.card.reading.history).toEqual({ read: 400, of: 400, complete: true });
  const q = await c.service.quote(basket([['C09AA02-01', 1, 30]]));
  expect(q.warnings).toEqual([
    expect.objectContaining({
      code: 'possible-duplicate',
      details: expect.objectContaining({ dispensedOn: addDays(today, -300), daysLeft: 65 }),
    }),
  ]);
});

test('full-rings card: the first screen and the horizon after the PIN, the rest on demand, with progress', async () => {
  const today = '2025-07-01';
  const insured = VirtualCard.fromImage(path.join(CARDS, 'full-rings.json'));
  const all = (await peekCard(insured)).records;
  const c = await counter(insured, today);
  await c.service.openCard();
  c.events.length = 0;
  const v = await verified(c);
  const read = v.card.reading.history.read;
  // Back to the first record that has run out and is older than 90 + 30 days.
  const stop = all.findIndex((d) => addDays(d.date, d.durationDays) <= today && d.date <= addDays(today, -120));
  expect(read).toBe(stop + 1);
  expect(read).toBeLessThan(100);
  expect(v.card.dispensations).toEqual(all.slice(0, read));
  expect(v.card.reading.prescriptions).toBe(false);
  expect(stages(c)).toEqual(['verified', 'rights', 'pricing']);

  // Then, in the background: the prescriptions and the professional card's authentication.
  await c.service.settled();
  expect(stages(c)).toEqual(['verified', 'rights', 'pricing', 'prescriptions']);
  expect(c.service.card().prescriptions).toHaveLength(40);

  // "Show the whole history": the rest, from where the horizon read stopped.
  c.events.length = 0;
  const before = c.station.usage('insured');
  const full = await c.service.readHistory();
  const used = c.station.usage('insured');
  expect(full.dispensations).toEqual(all);
  expect(full.reading.history).toEqual({ read: 400, of: 400, complete: true });
  // Only the records not read yet (and the rest of the chunk the horizon stopped in) went over the line.
  expect(used.characters - before.characters).toBeLessThan((400 - read + 8) * 64 + (used.apdus - before.apdus) * 20);
  const progress = c.events.filter((e) => e.type === 'read-progress').map((e) => (e.data as { read: number }).read);
  expect(progress.length).toBeGreaterThan(30);
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  expect(progress.at(-1)).toBe(400);
  expect(stages(c)).toEqual(['history']);
});

test("a basket against an old prescription on the card reads on to the prescription's date: what is left of it is right", async () => {
  const today = '2025-07-01';
  const insured = VirtualCard.fromImage(path.join(CARDS, 'full-rings.json'));
  const all = (await peekCard(insured)).records;
  const c = await counter(insured, today);
  await verified(c);
  await c.service.settled();
  const horizon = c.service.card().reading.history.read;
  // The oldest prescription on the card something was dispensed against that the horizon read did not see.
  const old = c.service
    .card()
    .prescriptions.filter((p) => all.slice(horizon).some((d) => d.prescriptionRef === p.reference))
    .at(-1)!;
  expect(old).toBeDefined();
  const line = old.lines[0]!;
  const q = await c.service.quote({
    beneficiary: old.rank,
    prescription: old.reference,
    lines: [{ code: line.productCode, quantity: 1, durationDays: line.durationDays }],
  });
  const read = c.service.card().reading.history.read;
  expect(read).toBeGreaterThan(horizon);
  // Read back past the prescription's date, less the margin.
  expect(c.service.card().dispensations[read - 1]!.date < addDays(old.date, -30) || read === 400).toBe(true);
  const dispensed = all
    .filter((d) => d.prescriptionRef === old.reference && d.productCode === line.productCode)
    .reduce((n, d) => n + d.quantity, 0);
  expect(q.prescription?.lines.find((l) => l.productCode === line.productCode)?.dispensed).toBe(dispensed);
});

test('the professional card authenticates once per card session: a checkout is a PIN check, one signature, one APPEND per line', async () => {
  const c = await counter(VirtualCard.fromImage(path.join(CARDS, 'demo.json')), '2025-06-15');
  await c.service.verifyProfessionalPin(PRO_PIN);
  await verified(c);
  await c.service.settled();
  const checkout = async () => {
    const ins = c.station.usage('insured');
    const pro = c.station.usage('professional');
    const out = await c.service.checkout(THREE_LINES);
    expect(out.cardWrite.state).toBe('done');
    const i = c.station.usage('insured');
    const p = c.station.usage('professional');
    return {
      insuredApdus: i.apdus - ins.apdus,
      insuredCryptoMs: i.cryptoMs - ins.cryptoMs,
      proApdus: p.apdus - pro.apdus,
      proCryptoMs: p.cryptoMs - pro.cryptoMs,
    };
  };
  // Empty VERIFY + 3 APPEND RECORD on the insured card, PSO: COMPUTE DIGITAL SIGNATURE on the professional card.
  const once = { insuredApdus: 4, insuredCryptoMs: 0, proApdus: 1, proCryptoMs: 150 };
  expect(await checkout()).toEqual(once);
  expect(await checkout()).toEqual(once);

  // Another professional card insertion: authenticated again (certificate and signature verified, 2 × 200 ms).
  c.professional.remove();
  c.professional.insert();
  await c.service.verifyProfessionalPin(PRO_PIN);
  expect(await checkout()).toMatchObject({ insuredCryptoMs: 400, proApdus: 2, proCryptoMs: 300 });

  // The card forgot the authentication behind the counter's back (another application on a shared
  // card): the first APPEND is refused, the counter authenticates again and writes everything once.
  c.insured.os.security.professional = null;
  expect(await checkout()).toMatchObject({ insuredCryptoMs: 400 });
  const records = (await peekCard(c.insured)).records;
  for (const n of [1, 2, 3, 4]) expect(records.filter((r) => r.invoiceNumber === n)).toHaveLength(3);
});

test('station and card events: pulled out, put back', async () => {
  const c = await counter(VirtualCard.fromImage(path.join(CARDS, 'demo.json')), '2025-06-15');
  await verified(c);
  await c.service.settled();
  c.events.length = 0;
  c.insured.remove();
  c.insured.insert();
  const types = c.events.map(
    (e) =>
      `${e.type}:${e.type === 'card' ? (e.data as { stage: string }).stage : (e.data as { insured: number | null }).insured === null ? 'out' : 'in'}`,
  );
  // The card loses power as it leaves: the station reports each step.
  expect(types[0]).toBe('card:closed');
  expect(types).toContain('station:out');
  expect(types.at(-1)).toBe('station:in');
  expect(c.service.status().insured).toMatchObject({ present: true, opened: false });
  // Every id is this process's, in order.
  const seqs = c.events.map((e) => Number(e.id.split('.')[1]));
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(c.service.events.since(c.events[0]!.id)).toEqual(c.events.slice(1));
  expect(c.service.events.since('other.1')).toBeNull();
});
