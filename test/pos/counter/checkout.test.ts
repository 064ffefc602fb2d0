import { CounterService } from '../../../src/pos/counter/service';
import { loadRules } from '../../../src/billing/rules/load';
import { CardGoneError } from '../../../src/pos/counter/errors';
import { draftFromSplit } from '../../../src/sync/invoice';
import { computeSplit } from '../../../src/billing/split';
import { captureLogger, expectInvariant, NOW, openHarness, ready, THREE_LINES, type Harness } from './harness';

/**
 * The checkout invariant under faults, with the in-process emulator's fault injection: the card
 * pulled before, during or after the Nth APDU, torn at an NVM step, answering an error, the
 * professional card pulled while signing, the counter stopped between two commits. Every scenario
 * ends with the invariant checked against the journal and the card itself.
 */

const APPEND = 0xe2;
const GET_CHALLENGE = 0x84;
const PSO = 0x2a;

let h: Harness;
afterEach(async () => {
  await h?.close();
});

test('happy path: invoice signed, three records on the card, write done', async () => {
  h = await openHarness();
  await ready(h);
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite).toMatchObject({ state: 'done', records: 3, written: 3, error: null });
  expect(out.invoice.number).toBe(1);
  const card = h.service.card();
  expect(card.dispensations.slice(0, 3).map((d) => [d.productCode, d.invoiceNumber])).toEqual([
    ['A11GA01-01', 1],
    ['M01AE01-01', 1],
    ['N02BE01-01', 1],
  ]);
  const added = await expectInvariant(h);
  expect(added).toHaveLength(3);
});

describe('card pulled during the card write, then re-inserted: recovery appends only what is missing', () => {
  const cases: [string, Parameters<Harness['insured']['faults']['removeAt']>[0], number][] = [
    ['before the 1st APPEND RECORD', { ins: APPEND, apdu: 1, phase: 'before' }, 0],
    ['during the 2nd APPEND RECORD, nothing written', { ins: APPEND, apdu: 2, phase: 'during', step: 0 }, 1],
    ['during the 2nd APPEND RECORD, written but answer lost', { ins: APPEND, apdu: 2, phase: 'during', commit: true }, 2],
    ['during the 3rd APPEND RECORD, halfway through its NVM writes', { ins: APPEND, apdu: 3, phase: 'during', step: 1 }, 2],
    ['during GET CHALLENGE (professional authentication)', { ins: GET_CHALLENGE, apdu: 1, phase: 'during' }, 0],
  ];
  test.each(cases)('%s', async (_name, fault, confirmedAtMost) => {
    h = await openHarness();
    await ready(h);
    h.insured.faults.removeAt(fault);
    const out = await h.service.checkout(THREE_LINES);
    expect(out.cardWrite.state).toBe('pending');
    expect(out.cardWrite.written).toBeLessThanOrEqual(confirmedAtMost);
    expect(out.cardWrite.error?.code).toMatch(/card-removed|append-interrupted/);
    expect(h.service.status().insured.present).toBe(false);
    expect(h.service.pendingWrites().map((w) => w.invoiceNumber)).toEqual([1]);

    h.insured.insert();
    await h.service.openCard();
    const v = await h.service.verifyPin('1234');
    expect(v.result).toBe('ok');
    if (v.result !== 'ok') return;
    expect(v.recovery).toEqual([expect.objectContaining({ invoiceNumber: 1, state: 'done', records: 3, written: 3 })]);
    expect(v.card.dispensations.filter((d) => d.invoiceNumber === 1)).toHaveLength(3);
    expect(h.service.pendingWrites()).toEqual([]);
    await expectInvariant(h);
  });
});

test('removed right after the last APPEND RECORD answered: the write is done, nothing to recover', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.removeAt({ ins: APPEND, apdu: 3, phase: 'after' });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite.state).toBe('done');
  expect(h.service.status().insured.present).toBe(false);
  await expectInvariant(h);
});

test('sweep: removal before, during and after every APDU of the checkout, each recovered', async () => {
  h = await openHarness();
  let invoices = 0;
  // APDUs the insured card sees in a checkout: the PIN check (empty VERIFY), then 3 appends (more
  // with chaining). The professional authentication happens after the PIN once the professional
  // card is unlocked (the GET CHALLENGE case above has it inside a checkout).
  for (const phase of ['before', 'during', 'after'] as const) {
    for (let n = 1; n <= 9; n++) {
      await ready(h);
      h.insured.faults.removeAt({ apdu: n, phase });
      const pulledAtPinCheck = n === 1 && phase !== 'after';
      if (pulledAtPinCheck) {
        // Pulled while the counter asks the card for its PIN state: nothing is signed.
        await expect(h.service.checkout(THREE_LINES)).rejects.toBeInstanceOf(CardGoneError);
        expect(h.journal.backlog().invoices).toBe(invoices);
        h.insured.insert();
        continue;
      }
      const out = await h.service.checkout(THREE_LINES);
      invoices++;
      expect(out.invoice.number).toBe(invoices);
      h.insured.faults.clear();
      h.insured.insert();
      if (out.cardWrite.state === 'pending') {
        await h.service.openCard();
        const v = await h.service.verifyPin('1234');
        expect(v.result === 'ok' && v.recovery.map((o) => o.state)).toEqual(['done']);
      }
    }
  }
  expect(h.service.pendingWrites()).toEqual([]);
  const added = await expectInvariant(h);
  expect(added).toHaveLength(3 * invoices);
});

test('tear without removal (power lost, card still in the reader): recovery at the next PIN', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.tearAt({ ins: APPEND, apdu: 2, step: 1 });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite.state).toBe('pending');
  expect(h.insured.inserted).toBe(true);
  // The card is still there, but its PIN state went with the power: the counter must ask again.
  expect(h.service.status().insured).toMatchObject({ present: true, opened: false, verified: false });
  await h.service.openCard();
  const v = await h.service.verifyPin('1234');
  expect(v.result === 'ok' && v.recovery.map((o) => o.state)).toEqual(['done']);
  await expectInvariant(h);
});

test('an error status word without removal: complete it on demand, the card is read first', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.injectSw({ ins: APPEND, apdu: 2, sw: 0x6581 });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite).toMatchObject({ state: 'pending', written: 1 });
  const again = await h.service.completeWrite(out.invoice.number);
  expect(again).toMatchObject({ state: 'done', written: 3 });
  expect(h.service.card().dispensations.filter((d) => d.invoiceNumber === out.invoice.number)).toHaveLength(3);
  await expectInvariant(h);
});

test('abandoned: a credit note cancels the invoice, records already on the card keep their invoice', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.removeAt({ ins: APPEND, apdu: 2, phase: 'before' });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite).toMatchObject({ state: 'pending', written: 1 });
  const cancelled = await h.service.cancelWrite(out.invoice.number, 'patient left');
  expect(cancelled).toMatchObject({ state: 'cancelled', creditNote: 2 });
  const cn = h.journal.invoice(2)!.document;
  expect(cn).toMatchObject({ kind: 'credit-note', references: { number: 1, reason: 'patient left' }, totals: out.invoice.totals });
  await expect(h.service.cancelWrite(out.invoice.number)).rejects.toMatchObject({ code: 'card-write-state' });
  // Re-inserting the card does not write the cancelled invoice's remaining records.
  h.insured.insert();
  await h.service.openCard();
  const v = await h.service.verifyPin('1234');
  expect(v.result === 'ok' && v.recovery).toEqual([]);
  const added = await expectInvariant(h);
  expect(added.map((r) => r.invoiceNumber)).toEqual([1]);
});

test('professional card pulled while signing: no invoice, no card record, no card write', async () => {
  h = await openHarness();
  await ready(h);
  h.professional.faults.removeAt({ ins: PSO, apdu: 1, phase: 'before' });
  await expect(h.service.checkout(THREE_LINES)).rejects.toBeInstanceOf(CardGoneError);
  expect(h.journal.backlog().invoices).toBe(0);
  expect(h.service.writes.all()).toEqual([]);
  await expect(h.service.checkout(THREE_LINES)).rejects.toMatchObject({ code: 'no-professional-card' });
  h.professional.insert();
  await expect(h.service.checkout(THREE_LINES)).rejects.toMatchObject({ code: 'professional-pin-required' });
  await expectInvariant(h);
});

test('counter stopped between the journal commit and the card_writes row: repaired at start, completed at the PIN', async () => {
  h = await openHarness();
  await ready(h);
  // What checkout does up to the journal commit, and no further (as if the process died there).
  const read = h.service.card();
  const lines = [{ code: 'N02BE01-01', quantity: 1, unitPrice: 5200, referencePrice: 4500, reimbursable: true, priorApproval: false }];
  const basket = { date: '2025-06-15', lines };
  const context = {
    category: 'ordinary' as const,
    rightsEnd: read.rights.rightsEnd,
    cardExpiry: read.holder.expiryDate,
    blacklisted: false,
  };
  const split = computeSplit(basket, loadRules(), context);
  const draft = draftFromSplit({
    split,
    basket,
    context,
    fund: 'CNAS',
    beneficiary: { cardSerial: read.holder.cardSerial, rank: 1 },
    details: [{ label: 'Doliprane', durationDays: 4 }],
  });
  const signer = await h.station.professional().signer();
  const appended = await h.journal.append(draft, signer);
  expect(h.service.writes.get(appended.number)).toBeUndefined();

  // Restart on the same files.
  const { logger } = captureLogger();
  const restarted = new CounterService({
    station: h.station,
    catalogue: h.catalogue,
    rules: loadRules(),
    journal: h.journal,
    logger,
    now: () => NOW,
  });
  expect(restarted.reconcile()).toEqual({ created: [appended.number], cancelled: [] });
  expect(restarted.writes.get(appended.number)).toMatchObject({
    state: 'pending',
    records: [expect.objectContaining({ productCode: 'N02BE01-01', durationDays: 4, invoiceNumber: 1 })],
  });
  h.service = restarted;
  h.insured.remove();
  h.insured.insert();
  await restarted.openCard();
  const v = await restarted.verifyPin('1234');
  expect(v.result === 'ok' && v.recovery.map((o) => [o.invoiceNumber, o.state])).toEqual([[1, 'done']]);
  await expectInvariant(h);
});

test('pending writes survive a restart of the whole counter (journal, card_writes and demo card on disk)', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.removeAt({ ins: APPEND, apdu: 2, phase: 'during', commit: true });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite.state).toBe('pending');
  const dir = h.dir;
  await h.close();

  h = await openHarness(dir);
  expect(h.service.pendingWrites().map((w) => w.invoiceNumber)).toEqual([out.invoice.number]);
  await h.service.verifyProfessionalPin('0000'); // a restarted counter starts with the professional card locked
  await h.service.openCard();
  const v = await h.service.verifyPin('1234');
  expect(v.result === 'ok' && v.recovery.map((o) => o.state)).toEqual(['done']);
  // The fixture history was re-read at reopen, so count this invoice's records directly.
  expect(h.service.card().dispensations.filter((d) => d.invoiceNumber === out.invoice.number)).toHaveLength(3);
});

test('recovery waits for the professional card, then completes on demand', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.removeAt({ ins: APPEND, apdu: 1, phase: 'before' });
  const out = await h.service.checkout(THREE_LINES);
  expect(out.cardWrite.state).toBe('pending');
  h.professional.remove();
  h.insured.insert();
  await h.service.openCard();
  const v = await h.service.verifyPin('1234');
  expect(v.result === 'ok' && v.recovery).toEqual([
    expect.objectContaining({ state: 'pending', error: expect.objectContaining({ code: 'no-professional-card' }) }),
  ]);
  h.professional.insert();
  await h.service.verifyProfessionalPin('0000');
  expect(await h.service.completeWrite(out.invoice.number)).toMatchObject({ state: 'done' });
  await expectInvariant(h);
});

test('the same requestId twice signs once', async () => {
  h = await openHarness();
  await ready(h);
  const a = await h.service.checkout({ ...THREE_LINES, requestId: 'req-000000001' });
  const b = await h.service.checkout({ ...THREE_LINES, requestId: 'req-000000001' });
  expect(b).toMatchObject({ replayed: true, invoice: { number: a.invoice.number } });
  expect(h.journal.backlog().invoices).toBe(1);
  await expectInvariant(h);
});

test('expected totals that no longer match refuse the checkout before anything is signed', async () => {
  h = await openHarness();
  await ready(h);
  await expect(h.service.checkout({ ...THREE_LINES, expect: { total: 1, fund: 0, patient: 1 } })).rejects.toMatchObject({
    code: 'quote-changed',
  });
  expect(h.journal.backlog().invoices).toBe(0);
});
