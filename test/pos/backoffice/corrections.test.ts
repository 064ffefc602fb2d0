import * as path from 'node:path';
import { journalPath } from '../../../src/pos/counter/journal';
import { verifyJournal } from '../../../src/sync/journal/verify';
import { line, openBackofficeBed, PRO_PIN, REJECTED, sellScenario, type BackofficeBed } from './harness';

/**
 * Correcting a rejected invoice, attacked: an invoice the fund accepted, one already corrected,
 * two corrections of one invoice at once, a wrong PIN on the pharmacist's card, the card pulled
 * before or while signing. Each is refused clearly (a 409 naming `number`, or the card's state),
 * and nothing is half-written: the journal's tip and its corrections are what the answers say,
 * never a correction without its 201, never a second one. The real counter, reference fund and
 * emulated cards (harness.ts), over HTTP.
 */

let bed: BackofficeBed;

beforeAll(async () => {
  bed = await openBackofficeBed();
  await sellScenario(bed);
  // Batch 1 sent: the fund accepts invoices 1, 3, 4, 5 and rejects invoice 2.
  expect((await bed.closeAndSend()).state).toBe('done');
});

afterAll(async () => {
  await bed?.close();
});

const db = () => bed.counter.service.journal.db;
const tip = () => (db().prepare('SELECT MAX(number) AS n FROM invoices').get() as { n: number }).n;
const corrections = (of: number) =>
  db().prepare("SELECT number FROM invoices WHERE kind = 'corrected-invoice' AND ref_number = ?").pluck().all(of) as number[];
const correct = (number: number, body: Record<string, unknown> = {}) => bed.api('POST', `/backoffice/invoices/${number}/correct`, body);

async function unlock(): Promise<void> {
  bed.station.cards.professional.insert();
  expect((await bed.api('POST', '/professional/verify', { pin: PRO_PIN })).status).toBe(200);
}

test('an invoice the fund accepted, an unknown one: refused, naming number; nothing written', async () => {
  const before = tip();
  const accepted = await correct(1);
  expect({ status: accepted.status, error: accepted.json.error }).toEqual({
    status: 409,
    error: {
      code: 'not-rejected',
      field: 'number',
      message: expect.stringMatching(/invoice 1 is neither rejected by the fund nor in the open batch/),
    },
  });
  expect((await correct(999)).json.error).toMatchObject({ code: 'unknown-invoice', field: 'number' });
  expect(tip()).toBe(before);
});

test("a wrong PIN on the pharmacist's card, then the card pulled: refused for the card, nothing signed", async () => {
  const before = tip();
  const wrong = await bed.api('POST', '/professional/verify', { pin: '9999' });
  expect(wrong).toMatchObject({ status: 200, json: { result: 'wrong-pin' } });
  // A failed VERIFY leaves the card locked: nothing is signed until the right PIN is given.
  const afterWrong = await correct(REJECTED, { reason: 'ordonnance jointe' });
  expect({ status: afterWrong.status, code: afterWrong.json.error.code }).toEqual({ status: 409, code: 'professional-pin-required' });
  bed.station.cards.professional.remove();
  expect((await correct(REJECTED)).json.error).toMatchObject({ code: 'no-professional-card' });
  expect({ tip: tip(), corrections: corrections(REJECTED) }).toEqual({ tip: before, corrections: [] });
  await unlock();
});

test('two corrections of one invoice at once: exactly one signed, the other already-corrected', async () => {
  const before = tip();
  const answers = await Promise.all([correct(REJECTED, { reason: 'a' }), correct(REJECTED, { reason: 'b' })]);
  expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
  expect(answers.find((a) => a.status === 409)!.json.error).toMatchObject({ code: 'already-corrected', field: 'number' });
  const signed = answers.find((a) => a.status === 201)!.json.number as number;
  expect({ tip: tip(), corrections: corrections(REJECTED) }).toEqual({ tip: before + 1, corrections: [signed] });
  // And once more, later: still one.
  expect((await correct(REJECTED)).json.error).toMatchObject({ code: 'already-corrected', field: 'number' });
});

test('the card pulled while a correction is being signed: signed whole (201, one correction) or not at all (409, none)', async () => {
  // Invoices of the open batch, which the audit before closing may correct.
  bed.setDay('2025-06-16');
  const open: number[] = [];
  for (let i = 0; i < 6; i++) open.push((await bed.checkout({ beneficiary: 1, lines: [line('A10BA02-01', 1, 30)] })).invoice.number);
  const outcomes = new Set<number>();
  for (const [i, number] of open.entries()) {
    const before = tip();
    const answer = correct(number, { reason: 'audit' });
    // Pulled after 0 to 5 turns of the event loop: before, during or after the signature.
    for (let k = 0; k < i; k++) await new Promise((resolve) => setImmediate(resolve));
    bed.station.cards.professional.remove();
    const r = await answer;
    outcomes.add(r.status);
    if (r.status === 201)
      expect({ tip: tip(), corrections: corrections(number) }).toEqual({ tip: before + 1, corrections: [r.json.number] });
    else {
      expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 409, code: expect.stringMatching(/professional|card/) });
      expect({ tip: tip(), corrections: corrections(number) }).toEqual({ tip: before, corrections: [] });
    }
    await unlock();
  }
  // The pull came at least once before the signature.
  expect(outcomes.has(409)).toBe(true);
});

test('the journal verifies after all this', () => {
  expect(verifyJournal(journalPath(path.join(bed.dir, 'counter')))).toMatchObject({ ok: true, problems: [] });
});
