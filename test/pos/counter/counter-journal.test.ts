import { expectInvariant, openHarness, PRO_PIN, ready, THREE_LINES, type Harness } from './harness';

/**
 * The counter's journal view (CounterJournal) across professional-card insertions: the sync
 * Journal is bound to a signer when opened, while the pharmacist's card comes and goes.
 */

let h: Harness;
afterEach(async () => {
  await h?.close();
});

test('the professional card pulled and put back: the next checkout and credit note sign with the card as it is now', async () => {
  h = await openHarness();
  await ready(h);
  expect((await h.service.checkout(THREE_LINES)).cardWrite.state).toBe('done');
  h.professional.remove();
  h.professional.insert();
  expect(await h.service.verifyProfessionalPin(PRO_PIN)).toMatchObject({ result: 'ok' });
  const second = await h.service.checkout(THREE_LINES);
  expect(second).toMatchObject({ invoice: { number: 2 }, cardWrite: { state: 'done' } });
  h.professional.remove();
  h.professional.insert();
  await h.service.verifyProfessionalPin(PRO_PIN);
  h.insured.faults.removeAt({ ins: 0xe2, apdu: 1, phase: 'before' });
  const third = await h.service.checkout(THREE_LINES);
  expect(third.cardWrite.state).toBe('pending');
  expect(await h.service.cancelWrite(third.invoice.number, 'carte retirée')).toMatchObject({ state: 'cancelled', creditNote: 4 });
  await expectInvariant(h);
});
