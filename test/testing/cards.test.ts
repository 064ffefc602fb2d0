import { AssertionError } from 'node:assert';
import {
  AppendInterruptedError,
  CardRemovedError,
  ChifaCard,
  ProfessionalCard,
  StatusWordError,
  toHex,
  type NewDispensation,
} from '../../src/card';
import { CardImageError } from '../../src/emulator';
import {
  blacklistedSerials,
  cardFixture,
  expectTranscript,
  FIXTURE_CARDS,
  insuredImage,
  latency,
  professionalImage,
  removeAt,
  startCard,
  statusWord,
  stopAll,
  tearNext,
  tearNextAppend,
} from '../../src/testing';

/** The kit's emulated cards, through the public entries only (as an integrator's suite would). */

const sale = (invoiceNumber: number): NewDispensation => ({
  date: '2025-07-01',
  pharmacyId: 'DZ16-PH-00001',
  rank: 1,
  productCode: 'N02BE01-08',
  quantity: 1,
  durationDays: 5,
  invoiceNumber,
});

/** The insured card opened, PIN verified, the professional card authenticated: ready to append. */
async function readyToWrite(insuredSource: Parameters<typeof startCard>[0] = 'demo') {
  const insured = await startCard(insuredSource);
  const pro = await startCard('pharmacist-1');
  const card = await ChifaCard.open(insured.transport);
  const pharmacist = await ProfessionalCard.open(pro.transport);
  expect(await card.verifyPin('1234')).toEqual({ kind: 'ok' });
  expect(await pharmacist.verifyPin('0000')).toEqual({ kind: 'ok' });
  expect(await pharmacist.authenticate(card)).toEqual({ kind: 'ok' });
  return { insured, pro, card };
}

afterEach(stopAll);

describe('startCard (in-process)', () => {
  it('starts every shipped fixture by name', async () => {
    for (const name of FIXTURE_CARDS) {
      const c = await startCard(name);
      expect(c.via).toBe('in-process');
      expect(c.card.kind).toBe(name.includes('pharmacist') ? 'professional' : 'insured');
      await c.stop();
    }
  });

  it('opens with ChifaCard and records a redacted transcript that expectTranscript matches', async () => {
    const c = await startCard('demo');
    const card = await ChifaCard.open(c.transport);
    expect(card.holder.lastName).toBe('BENALI');
    expect(await card.verifyPin('1234')).toEqual({ kind: 'ok' });
    const text = expectTranscript(
      c,
      `
      # SELECT the insured application, read the holder
      => 00 A4 04 0C 0B D2 13 00 00 01 43 48 49 46 41 01
      <= 90 00
      ...
      # VERIFY: the PIN block is never recorded
      => 00 20 00 81 08 ** ** ** ** ** ** ** **
      <= 9000
      `,
    );
    // The PIN block (ASCII 31 32 33 34, padded with FF) appears nowhere in the transcript.
    expect(text).not.toMatch(/31323334FFFFFFFF/);
    expect(text).toMatch(/^=> 0020008108\*{16}$/m);
  });

  it('expectTranscript names the first line that differs, and refuses a PIN written in clear', async () => {
    const c = await startCard('demo');
    await ChifaCard.open(c.transport);
    let caught: unknown;
    try {
      expectTranscript(c, '=> 00A4040C0BD213000001434849464102\n<= 9000\n...');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AssertionError);
    expect((caught as Error).message).toMatch(
      /expected line "=> 00A4040C0BD213000001434849464102" but the transcript has "=> 00A4040C0BD213000001434849464101"/,
    );
    // Without "..." the whole transcript must be listed.
    expect(() => expectTranscript(c, '=> 00A4040C0BD213000001434849464101\n<= 9000')).toThrow(
      /the expectation ended but the transcript goes on/,
    );
    expect(() => expectTranscript(c, '=> 002000810831323334FFFFFFFF\n<= 9000')).toThrow(
      /never hold PIN data; write this command as "=> 0020008108\*{16}"/,
    );
    c.clearTranscript();
    expect(c.transcript()).toBe('');
    expectTranscript(c, '');
  });

  it('takes an image file path, and stop() is idempotent', async () => {
    const c = await startCard(cardFixture('chronic'));
    const card = await ChifaCard.open(c.transport);
    expect(card.holder.cardSerial).toMatch(/^CH/);
    await c.stop();
    await c.stop();
    await expect(c.transport.transmit(Buffer.from('00A4040C0BD213000001434849464101', 'hex'))).rejects.toMatchObject({ code: 'closed' });
  });

  it("takes a timing profile: the ATR offers its TA1 and the transport counts a real card's time", async () => {
    const none = await startCard('demo');
    const slow = await startCard('demo', { timing: 'iso-default' });
    const fast = await startCard('demo', { timing: 'typical' });
    for (const c of [none, slow, fast]) await (await ChifaCard.open(c.transport)).readAll({ pin: '1234' });
    expect(toHex(fast.card.atr)).not.toBe(toHex(none.card.atr)); // TA1 = 18
    expect(none.transport.elapsedMs).toBe(0);
    expect(fast.transport.elapsedMs).toBeGreaterThan(0);
    // The same APDUs at 9,600 bit/s instead of 129 kbit/s: several times slower, modelled, not slept.
    expect(slow.transport.elapsedMs).toBeGreaterThan(3 * fast.transport.elapsedMs);
    expect(slow.transport.meter.snapshot().apdus).toBe(none.transport.meter.snapshot().apdus);
  });
});

describe('card image builders', () => {
  it('holder, rights and emergency fields without editing JSON', async () => {
    const image = insuredImage()
      .holder({ lastName: 'TESTNAME', cardSerial: 'CH2-2025-000777' })
      .rights({ category: 'chronic', rateBp: 10000 })
      .emergency({ allergies: ['Pénicilline'] })
      .pin('4321');
    const c = await startCard(image);
    const card = await ChifaCard.open(c.transport);
    expect(card.holder).toMatchObject({ lastName: 'TESTNAME', cardSerial: 'CH2-2025-000777' });
    const all = await card.readAll({ pin: '4321' });
    if (all.kind !== 'ok') throw new Error(all.kind);
    // The card stores the category's code; the rules files name it (chronic is code 2).
    expect(all.data.rights).toMatchObject({ categoryCode: 2, rateBp: 10000 });
    expect(all.data.emergency.allergies).toEqual(['Pénicilline']);
  });

  it('blocked PIN, expired card, blacklisted serial, full rings', async () => {
    const blocked = await ChifaCard.open((await startCard(insuredImage().blockedPin())).transport);
    expect(await blocked.verifyPin('1234')).toEqual({ kind: 'blocked' });

    const expired = await ChifaCard.open((await startCard(insuredImage().expired('2024-02-29'))).transport);
    expect(expired.holder.expiryDate).toBe('2024-02-29');
    expect((await expired.readAll({ pin: '1234' })).kind === 'ok' && (await expired.readRights()).rightsEnd).toBe('2024-02-29');

    const listed = await ChifaCard.open((await startCard(insuredImage().blacklisted())).transport);
    expect(blacklistedSerials()).toContain(listed.holder.cardSerial);
    expect(() => insuredImage().blacklisted('CH2-2024-000001')).toThrow(/not on fixtures\/blacklist.json/);

    const full = await ChifaCard.open((await startCard(insuredImage().fullRings())).transport);
    const all = await full.readAll({ pin: '1234' });
    if (all.kind !== 'ok') throw new Error(all.kind);
    expect(all.data.prescriptions).toHaveLength(40);
    expect(all.data.dispensations).toHaveLength(400);
  });

  it('a builder is a template: build() returns fresh, validated copies; a bad field is named', () => {
    const base = insuredImage('chronic');
    const a = base.build();
    a.holder.lastName = 'CHANGED';
    expect(base.build().holder.lastName).not.toBe('CHANGED');
    expect(() => insuredImage().holder({ ssn: '123' }).build()).toThrow(CardImageError);
    expect(() => insuredImage().holder({ ssn: '123' }).build()).toThrow(/holder\.ssn: expected 12 digits/);
    expect(() => insuredImage('pharmacist-1')).toThrow(/expected an insured card image/);
  });

  it('professional images: PIN and options; T=0 short APDUs still work end to end', async () => {
    const pro = await startCard(professionalImage().pin('9876').options({ protocol: 'T=0', extendedLength: false }));
    const pharmacist = await ProfessionalCard.open(pro.transport);
    expect(await pharmacist.verifyPin('9876')).toEqual({ kind: 'ok' });
    expect(pharmacist.identity.pharmacyId).toBe('DZ16-PH-00001');
    const insured = await ChifaCard.open((await startCard('demo')).transport);
    await insured.verifyPin('1234');
    expect(await pharmacist.authenticate(insured)).toEqual({ kind: 'ok' });
    // T=0: INTERNAL AUTHENTICATE's answer is announced by 61xx and fetched by GET RESPONSE.
    expectTranscript(pro, '...\n=> 0088 ..\n<= 61 **\n=> 00C0 ..\n<= .. 9000\n...');
  });
});

describe('scripted faults', () => {
  it('removeAt: the card leaves at the n-th APDU; the SDK sees CardRemovedError', async () => {
    const c = await startCard('demo', { faults: [removeAt(2)] });
    await expect(ChifaCard.open(c.transport)).rejects.toBeInstanceOf(CardRemovedError);
    expect(c.card.inserted).toBe(false);
    expectTranscript(c, '=> 00A4040C0BD213000001434849464101\n<= 9000\n...\n!! card-removed\n');
  });

  it('tearNextAppend: the append is interrupted, and the card recovers the old state', async () => {
    const { insured, card } = await readyToWrite();
    const before = (await card.readDispensations()).length;
    insured.inject(tearNextAppend());
    const err = await card.appendDispensations([sale(5001)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppendInterruptedError);
    expect(err).toMatchObject({ written: 0, total: 1 });
    insured.transport.reconnect(); // power on: the anti-tearing recovery runs
    const again = await ChifaCard.open(insured.transport);
    await again.verifyPin('1234');
    const after = await again.readDispensations();
    expect(after).toHaveLength(before);
    expect(after[0]!.invoiceNumber).not.toBe(5001);
  });

  it('tearNextAppend({ commit: true }): the answer is lost but the record is on the card', async () => {
    const { insured, card } = await readyToWrite();
    insured.inject(tearNextAppend({ commit: true }));
    await expect(card.appendDispensations([sale(5002)])).rejects.toBeInstanceOf(AppendInterruptedError);
    insured.transport.reconnect();
    const again = await ChifaCard.open(insured.transport);
    await again.verifyPin('1234');
    expect((await again.readDispensations())[0]!.invoiceNumber).toBe(5002);
  });

  it('statusWord: an APDU answered with a chosen status word, unexpected ones become StatusWordError', async () => {
    const c = await startCard('demo');
    const card = await ChifaCard.open(c.transport);
    c.inject(statusWord(0x6581, { ins: 0x20 })); // memory failure on the next VERIFY
    const err = await card.verifyPin('1234').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusWordError);
    expect(err).toMatchObject({ sw: 0x6581 });
    expect(c.card.triesLeft()).toBe(3); // answered without running: no try spent
    expectTranscript(c, '...\n=> 0020008108****************\n<= 6581\n');
    c.inject(tearNext(0x20, { step: 3 })); // VERIFY: the decrement is committed, then the power goes
    await expect(card.verifyPin('1234')).rejects.toBeInstanceOf(CardRemovedError);
    expect(c.card.triesLeft()).toBe(2);
  });

  it('latency: every APDU takes longer', async () => {
    const c = await startCard('demo', { faults: [latency(20)] });
    const t0 = performance.now();
    await ChifaCard.open(c.transport);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 19);
    c.inject(latency(0));
    expect(c.card.faults.latencyMs).toBe(0);
    expect(toHex(c.card.atr)).toMatch(/^3B/);
  });
});
