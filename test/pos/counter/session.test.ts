import { ChifaCard } from '../../../src/card/chifa';
import { PIN_REF } from '../../../src/card/layout';
import { InProcessTransport } from '../../../src/emulator/in-process-transport';
import { PinBlockedError } from '../../../src/pos/counter/errors';
import { toHttpError } from '../../../src/pos/http/errors';
import { basket, DEMO_PIN, openHarness, ready, THREE_LINES, type Harness } from './harness';

/** The insured card's session at the counter: PIN tries, blocking, and what the quote warns about. */

let h: Harness;
afterEach(async () => {
  await h?.close();
});

test('three wrong PINs block the card; the counter says so and never retries by itself', async () => {
  h = await openHarness();
  expect(await h.service.openCard()).toMatchObject({ pinRetriesLeft: 3, verified: false });
  expect(await h.service.verifyPin('8642')).toEqual({ result: 'wrong-pin', retriesLeft: 2 });
  expect(await h.service.verifyPin('7531')).toEqual({ result: 'wrong-pin', retriesLeft: 1 });
  await expect(h.service.verifyPin('9753')).rejects.toBeInstanceOf(PinBlockedError);
  expect(h.insured.triesLeft()).toBe(0);
  await expect(h.service.verifyPin('1234')).rejects.toMatchObject({ code: 'pin-blocked' });
  expect(h.service.status().insured).toMatchObject({ pinRetriesLeft: 0, verified: false });
  // Pulled and put back: still blocked (the counter lives on the card).
  h.insured.remove();
  h.insured.insert();
  expect(await h.service.openCard()).toMatchObject({ pinRetriesLeft: 0 });
  expect(h.logs.join('\n')).not.toMatch(/8642|7531|9753/);
});

test('a wrong PIN after the right one ends the verified state, as on the card: no data, no checkout', async () => {
  h = await openHarness();
  await ready(h);
  expect(h.service.card().holder.cardSerial).toBe('CH2-2024-000001');
  expect(await h.service.verifyPin('9999')).toEqual({ result: 'wrong-pin', retriesLeft: 2 });
  // The failed comparison ended the card's verified state for the PIN (src/emulator/commands/pin.ts).
  expect(h.insured.os.security.verified.has(PIN_REF)).toBe(false);
  expect(h.service.status().insured).toMatchObject({ verified: false, pinRetriesLeft: 2 });
  expect(() => h.service.card()).toThrow(expect.objectContaining({ code: 'pin-required' }));
  await expect(h.service.quote(THREE_LINES)).rejects.toMatchObject({ code: 'pin-required' });
  await expect(h.service.checkout(THREE_LINES)).rejects.toMatchObject({ code: 'pin-required' });
  expect(h.journal.backlog()).toMatchObject({ invoices: 0 }); // nothing was signed
  // The right PIN opens it again.
  expect(await h.service.verifyPin(DEMO_PIN)).toMatchObject({ result: 'ok' });
  expect(h.service.status().insured).toMatchObject({ verified: true });
});

test('a PIN blocked after the right one was verified leaves nothing verified', async () => {
  h = await openHarness();
  await ready(h);
  expect(await h.service.verifyPin('9999')).toMatchObject({ result: 'wrong-pin' });
  expect(await h.service.verifyPin('9998')).toMatchObject({ result: 'wrong-pin' });
  await expect(h.service.verifyPin('9997')).rejects.toBeInstanceOf(PinBlockedError);
  expect(h.service.status().insured).toMatchObject({ verified: false, pinRetriesLeft: 0 });
  expect(() => h.service.card()).toThrow(expect.objectContaining({ code: 'pin-required' }));
  await expect(h.service.checkout(THREE_LINES)).rejects.toMatchObject({ code: 'pin-required' });
});

test('a PIN of the wrong shape for the card is bad input (400) and changes nothing, at the card or the counter', async () => {
  h = await openHarness();
  await ready(h);
  const seen = h.insured.faults.seen;
  await expect(h.service.verifyPin('12345')).rejects.toMatchObject({ code: 'invalid-input', field: 'pin' });
  await expect(h.service.verifyProfessionalPin('00000')).rejects.toMatchObject({ code: 'invalid-input', field: 'pin' });
  expect(h.insured.faults.seen).toBe(seen); // no APDU reached the card
  expect(toHttpError(await h.service.verifyPin('12345').catch((e: unknown) => e)).status).toBe(400);
  expect(h.insured.os.security.verified.has(PIN_REF)).toBe(true);
  expect(h.service.status()).toMatchObject({ insured: { verified: true }, professional: { unlocked: true } });
});

test('a wrong PIN presented behind the counter (another application sharing the card): the checkout asks the card first, signs nothing', async () => {
  h = await openHarness();
  await ready(h);
  // Same card, same power, no reset: nothing the station can see (PC/SC shared access).
  const other = await ChifaCard.open(new InProcessTransport(h.insured));
  expect(await other.verifyPin('9999')).toEqual({ kind: 'wrongPin', retriesLeft: 2 });
  await expect(h.service.checkout(THREE_LINES)).rejects.toMatchObject({ code: 'pin-required' });
  expect(h.journal.backlog()).toMatchObject({ invoices: 0 }); // nothing was signed
  expect(h.service.status().insured).toMatchObject({ verified: false, pinRetriesLeft: 2 });
  expect(() => h.service.card()).toThrow(expect.objectContaining({ code: 'pin-required' }));
  expect(await h.service.verifyPin(DEMO_PIN)).toMatchObject({ result: 'ok' });
  expect((await h.service.checkout(THREE_LINES)).cardWrite.state).toBe('done');
});

test('a product dispensed today for 5 days is a possible duplicate for the same beneficiary only', async () => {
  h = await openHarness();
  await ready(h);
  await h.service.checkout(basket([['N02BE01-01', 1, 5]], 2));
  const again = await h.service.quote(basket([['N02BE01-01', 1, 5]], 2));
  expect(again.warnings).toEqual([
    expect.objectContaining({ code: 'possible-duplicate', line: 0, details: expect.objectContaining({ daysLeft: 5, sameProduct: true }) }),
  ]);
  // Another brand of paracetamol: same DCI.
  const brand = await h.service.quote(basket([['N02BE01-02', 1, 5]], 2));
  expect(brand.warnings).toEqual([
    expect.objectContaining({ code: 'possible-duplicate', details: expect.objectContaining({ sameProduct: false }) }),
  ]);
  expect((await h.service.quote(basket([['N02BE01-01', 1, 5]], 3))).warnings).toEqual([]);
});

test('records still pending for the card count for the duplicate warning', async () => {
  h = await openHarness();
  await ready(h);
  h.insured.faults.injectSw({ ins: 0xe2, apdu: 1, sw: 0x6581 });
  const out = await h.service.checkout(basket([['M01AE01-01', 1, 10]]));
  expect(out.cardWrite.state).toBe('pending');
  expect((await h.service.quote(basket([['M01AE01-01', 1, 10]]))).warnings.map((w) => w.code)).toEqual(['possible-duplicate']);
});
