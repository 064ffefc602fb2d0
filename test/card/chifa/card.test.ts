import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import {
  AccessDeniedError,
  AppendInterruptedError,
  CardDataError,
  ChifaCard,
  NotAChifaCardError,
  PinFormatError,
  ProfessionalCard,
  professionalCardSigner,
  type NewDispensation,
} from '../../../src/card/chifa';
import { InsuredFiles } from '../../../src/card/layout';
import type { Signer } from '../../../src/sync/signer';
import { CardRemovedError } from '../../../src/card/transport/transport';
import type { TraceEvent } from '../../../src/card/transport/trace';
import { CountingTransport, image, sdkRights, virtualCard } from './helpers';

/** The Chifa card API against the emulator, in-process. */

const normalizeEmergency = (e: { bloodGroup?: string; allergies?: string[]; conditions?: string[] }) => ({
  bloodGroup: e.bloodGroup,
  allergies: e.allergies ?? [],
  conditions: e.conditions ?? [],
});

/** The layout's floor for short APDUs: each file's record bytes / 256, rounded up, summed. */
function shortApduFloor(): number {
  let n = 0;
  for (const f of Object.values(InsuredFiles)) {
    const bytes = 'maxRecords' in f ? f.size * f.maxRecords : f.size;
    n += Math.ceil(bytes / 256);
  }
  return n;
}

const sale = (invoiceNumber: number, productCode: string): NewDispensation => ({
  date: '2025-07-01',
  pharmacyId: 'DZ16-PH-00001',
  rank: 2,
  productCode,
  quantity: 1,
  durationDays: 7,
  invoiceNumber,
  prescriptionRef: 'RX000200',
});

describe('ChifaCard over the in-process emulator', () => {
  it('opens without PIN (holder), then reads the whole card as the image describes it', async () => {
    const img = image('demo');
    const t = new CountingTransport(virtualCard('demo'));
    const card = await ChifaCard.open(t);
    expect(card.holder).toEqual(img.holder);
    expect(t.count).toBe(3); // SELECT, READ BINARY of the template's header, READ BINARY of the rest
    const r = await card.readAll({ pin: img.pin });
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.data.holder).toEqual(img.holder);
    expect(r.data.beneficiaries).toEqual(img.beneficiaries);
    expect(r.data.rights).toEqual(sdkRights(img.rights));
    expect(r.data.emergency).toEqual(normalizeEmergency(img.emergency));
    expect(r.data.prescriptions).toEqual(img.prescriptions);
    expect(r.data.dispensations).toEqual(img.dispensations);
  });

  it('reads a card with both rings full in 11 APDUs with extended length', async () => {
    const t = new CountingTransport(virtualCard('full-rings'));
    const card = await ChifaCard.open(t);
    expect(card.capabilities.extendedLength).toBe(true);
    const r = await card.readAll({ pin: '1234' });
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.data.prescriptions).toHaveLength(40);
    expect(r.data.dispensations).toHaveLength(400);
    // Newest first: dates never increase down the list.
    const dates = r.data.dispensations.map((d) => d.date);
    expect([...dates].sort().reverse()).toEqual(dates);
    // SELECT, VERIFY, one READ RECORD(S) per record file, and two READ BINARY per transparent file
    // (the template's header, then exactly the rest: never the padding after it).
    expect(t.count).toBe(1 + 1 + 3 + 3 * 2);
    expect(t.countIns(0xb0)).toBe(6);
  });

  it('with short APDUs only: within the layout floor + 5', async () => {
    // Each ring is read 256 bytes at a time; a ring of 400 records goes past record 254, the last
    // one P1 can name, so the card chains the rest of its answer (61xx, GET RESPONSE).
    const short = new CountingTransport(virtualCard('full-rings', { options: { extendedLength: false } }));
    const a = await ChifaCard.open(short);
    expect(a.capabilities.extendedLength).toBe(false);
    const ra = await a.readAll({ pin: '1234' });
    if (ra.kind !== 'ok') throw new Error(ra.kind);
    expect(ra.data.dispensations).toHaveLength(400);
    expect(ra.data.prescriptions).toHaveLength(40);
    const ext = await (await ChifaCard.open(new CountingTransport(virtualCard('full-rings')))).readAll({ pin: '1234' });
    expect(ra).toEqual(ext);
    expect(shortApduFloor()).toBe(128);
    expect(short.count).toBeLessThanOrEqual(shortApduFloor() + 5);
    expect(short.countIns(0xc0)).toBeGreaterThan(0);
    // A card whose rings fit under record 254: the whole card, short APDUs, same data as extended.
    const demoShort = new CountingTransport(virtualCard('demo', { options: { extendedLength: false } }));
    const demoExt = new CountingTransport(virtualCard('demo'));
    const sa = await (await ChifaCard.open(demoShort)).readAll({ pin: '1234' });
    expect(sa).toEqual(await (await ChifaCard.open(demoExt)).readAll({ pin: '1234' }));
  });

  it('the naive strategy (one record per READ RECORD) reads the same data in more APDUs', async () => {
    const naive = new CountingTransport(virtualCard('demo', { options: { extendedLength: false } }));
    const smart = new CountingTransport(virtualCard('demo', { options: { extendedLength: false } }));
    const a = await (await ChifaCard.open(naive, { strategy: 'naive' })).readAll({ pin: '1234' });
    const b = await (await ChifaCard.open(smart)).readAll({ pin: '1234' });
    expect(a).toEqual(b);
    // 4 beneficiaries + 2 prescriptions + 4 dispensations, each with its closing 6A83; two
    // READ BINARY per transparent file.
    expect(naive.count).toBe(3 + 1 + 5 + 4 + 3 + 5);
    expect(smart.count).toBeLessThan(naive.count);
    // Past record 254 even the naive way relies on the card chaining the rest.
    const fullNaive = new CountingTransport(virtualCard('full-rings'));
    const full = await (await ChifaCard.open(fullNaive, { strategy: 'naive' })).readAll({ pin: '1234' });
    expect(full).toEqual(await (await ChifaCard.open(new CountingTransport(virtualCard('full-rings')))).readAll({ pin: '1234' }));
    expect(fullNaive.count).toBeGreaterThan(300);
  });

  it('a T=0 card (61xx / 6Cxx handled by the channel) reads the same data', async () => {
    const t0 = new CountingTransport(virtualCard('demo', { options: { protocol: 'T=0', extendedLength: false } }));
    const t1 = new CountingTransport(virtualCard('demo'));
    const a = await (await ChifaCard.open(t0)).readAll({ pin: '1234' });
    const b = await (await ChifaCard.open(t1)).readAll({ pin: '1234' });
    expect(a).toEqual(b);
  });

  it('a wrong PIN spends exactly one try and is never retried; pinRetriesLeft spends none', async () => {
    const vc = virtualCard('demo');
    const t = new CountingTransport(vc);
    const card = await ChifaCard.open(t);
    await expect(card.verifyPin('9999')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    expect(t.countIns(0x20)).toBe(1);
    expect(vc.triesLeft()).toBe(2);
    await expect(card.pinRetriesLeft()).resolves.toBe(2);
    await expect(card.pinRetriesLeft()).resolves.toBe(2);
    expect(vc.triesLeft()).toBe(2);
    await expect(card.readAll({ pin: '0000' })).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 1 });
    await expect(card.verifyPin('1234')).resolves.toEqual({ kind: 'ok' });
    await expect(card.pinRetriesLeft()).resolves.toBe(3);
    await expect(card.pinStatus()).resolves.toEqual({ kind: 'verified' });
  });

  it('a malformed PIN is refused before any APDU, and the message does not echo it', async () => {
    const t = new CountingTransport(virtualCard('demo'));
    const card = await ChifaCard.open(t);
    const before = t.count;
    for (const pin of ['12a4', '123', '12345', ' 123']) {
      const err = await card.verifyPin(pin).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PinFormatError);
      expect((err as PinFormatError).code).toBe('invalid-pin-format');
      expect((err as Error).message).not.toContain(pin.trim());
    }
    expect(t.count).toBe(before);
  });

  it('blocks after three wrong PINs; the PUK unblocks and sets a new PIN', async () => {
    const card = await ChifaCard.open(new CountingTransport(virtualCard('demo')));
    await expect(card.verifyPin('0001')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    await expect(card.verifyPin('0002')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 1 });
    await expect(card.verifyPin('0003')).resolves.toEqual({ kind: 'blocked' });
    await expect(card.verifyPin('1234')).resolves.toEqual({ kind: 'blocked' });
    await expect(card.pinRetriesLeft()).resolves.toBe(0);
    await expect(card.unblockPin('00000000', '4321')).resolves.toEqual({ kind: 'wrongPuk', retriesLeft: 9 });
    await expect(card.unblockPin('12345678', '4321')).resolves.toEqual({ kind: 'ok' });
    await expect(card.verifyPin('1234')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    await expect(card.verifyPin('4321')).resolves.toEqual({ kind: 'ok' });
  });

  it('a card personalized blocked says so, and changePin works on a good one', async () => {
    const blocked = await ChifaCard.open(new CountingTransport(virtualCard('pin-blocked')));
    await expect(blocked.pinStatus()).resolves.toEqual({ kind: 'blocked' });
    await expect(blocked.readAll({ pin: image('pin-blocked').pin })).resolves.toEqual({ kind: 'blocked' });
    const card = await ChifaCard.open(new CountingTransport(virtualCard('demo')));
    await expect(card.changePin('1234', '2468')).resolves.toEqual({ kind: 'ok' });
    await expect(card.verifyPin('2468')).resolves.toEqual({ kind: 'ok' });
  });

  it('PIN-protected files without the PIN: AccessDeniedError pin-required', async () => {
    const card = await ChifaCard.open(new CountingTransport(virtualCard('demo')));
    await expect(card.readDispensations()).rejects.toMatchObject({ code: 'pin-required' });
    await expect(card.readAll()).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('the trace never shows the PIN', async () => {
    const events: TraceEvent[] = [];
    const card = await ChifaCard.open(new CountingTransport(virtualCard('demo')), { trace: (e) => events.push(e) });
    await card.readAll({ pin: '1234' });
    const verify = events.find((e) => e.command.startsWith('00200081'))!;
    expect(verify.command).toBe('0020008108****************');
    for (const e of events.filter((x) => x.command.startsWith('0020'))) expect(e.command).toMatch(/^0020008108\*{16}$/);
    expect(JSON.stringify(events)).not.toContain('3132333' + '4FFFFFFFF');
  });

  it('a professional card is not an insured card, and vice versa', async () => {
    await expect(ChifaCard.open(new CountingTransport(virtualCard('pharmacist-1')))).rejects.toBeInstanceOf(NotAChifaCardError);
    await expect(ProfessionalCard.open(new CountingTransport(virtualCard('demo')))).rejects.toMatchObject({ code: 'not-a-chifa-card' });
  });

  it('names the record and field of bad data on the card', async () => {
    const t = new CountingTransport(virtualCard('full-rings'));
    const card = await ChifaCard.open(t);
    // Corrupt record 17 of EF.DISPENSATIONS in the READ RECORD(S) answer: its date's first byte.
    t.rewrite = (cmd, resp) => {
      if (cmd[1] !== 0xb2 || cmd[3]! >> 3 !== InsuredFiles.dispensations.sfi) return resp;
      const out = Buffer.from(resp);
      out[16 * 64 + 4] = 0xaa;
      return out;
    };
    const err = await card.readAll({ pin: '1234' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CardDataError);
    expect(err).toMatchObject({ file: 'EF.DISPENSATIONS', record: 17, field: 'date', offset: 4 });
  });

  it('reads every file, then decodes: a bad record is reported once the card has answered all, and the card reads again', async () => {
    const t = new CountingTransport(virtualCard('full-rings'));
    const card = await ChifaCard.open(t);
    const sfiOf = (cmd: Buffer) => (cmd[1] === 0xb2 ? cmd[3]! >> 3 : -1);
    t.rewrite = (cmd, resp) => {
      if (sfiOf(cmd) !== InsuredFiles.dispensations.sfi) return resp;
      const out = Buffer.from(resp);
      out[4] = 0xaa; // record 1's date
      return out;
    };
    const before = t.count;
    const err = await card.readAll({ pin: '1234' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ file: 'EF.DISPENSATIONS', record: 1, field: 'date', offset: 4 });
    // VERIFY and the reads (two per transparent file), the dispensations first: nothing was left unread.
    expect(t.count - before).toBe(8);
    t.rewrite = undefined;
    const again = await card.readAll();
    expect(again.kind === 'ok' && again.data.dispensations.length).toBe(400);
  });
});

describe('ProfessionalCard and writing the insured card', () => {
  async function open(insuredImage = 'demo', proImage = 'pharmacist-1') {
    const insuredCard = virtualCard(insuredImage);
    const insuredT = new CountingTransport(insuredCard);
    const insured = await ChifaCard.open(insuredT);
    const pro = await ProfessionalCard.open(new CountingTransport(virtualCard(proImage)));
    return { insured, insuredCard, insuredT, pro };
  }

  it('reads the identity and the exact certificate, and signs digests as a Signer', async () => {
    const { pro } = await open();
    const img = image('pharmacist-1') as unknown as { pharmacy: unknown };
    expect(pro.identity).toEqual(img.pharmacy);
    const cert = new X509Certificate(pro.certificate);
    expect(cert.subject).toMatch(/CN=DZ16-PH-00001/);
    const digest = createHash('sha256').update('invoice').digest();
    await expect(pro.signDigest(digest)).rejects.toMatchObject({ code: 'pin-required' });
    await expect(pro.verifyPin('0000')).resolves.toEqual({ kind: 'ok' });
    // The card is a src/sync Signer by shape alone (src/card does not import src/sync).
    const signer: Signer = professionalCardSigner(pro);
    expect(signer.keyId).toBe(createHash('sha256').update(pro.certificate).digest('base64url'));
    const sig = await signer.sign(digest);
    expect(sig).toHaveLength(64);
    expect(cryptoVerify('sha256', Buffer.from('invoice'), { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('authenticates to the insured card and appends dispensations (newest becomes record 1)', async () => {
    const { insured, pro } = await open();
    expect(await insured.verifyPin('1234')).toEqual({ kind: 'ok' });
    await expect(insured.appendDispensations([sale(900, 'A')])).rejects.toMatchObject({ code: 'professional-auth-required' });
    await expect(pro.authenticate(insured)).rejects.toMatchObject({ code: 'pin-required' });
    expect(await pro.verifyPin('0000')).toEqual({ kind: 'ok' });
    expect(await pro.authenticate(insured)).toEqual({ kind: 'ok' });
    const before = await insured.readDispensations();
    await expect(insured.appendDispensations([sale(901, 'N02BE01-08'), sale(902, 'R06AE07-01')])).resolves.toEqual({ appended: 2 });
    const after = await insured.readDispensations();
    expect(after.slice(0, 2).map((d) => d.invoiceNumber)).toEqual([902, 901]);
    expect(after.slice(2)).toEqual(before);
  });

  it('short APDUs and T=0 on both cards: the certificate goes chained, answers come by GET RESPONSE', async () => {
    const insuredT = new CountingTransport(virtualCard('demo', { options: { extendedLength: false, protocol: 'T=0' } }));
    const proT = new CountingTransport(virtualCard('pharmacist-1', { options: { extendedLength: false, protocol: 'T=0' } }));
    const insured = await ChifaCard.open(insuredT);
    const pro = await ProfessionalCard.open(proT);
    expect(pro.certificate.length).toBeGreaterThan(255);
    await insured.verifyPin('1234');
    await pro.verifyPin('0000');
    expect(await pro.authenticate(insured)).toEqual({ kind: 'ok' });
    // VERIFY CERTIFICATE went as a command chain (CLA 10 on all but the last part).
    expect(insuredT.commands.filter((c) => c[0] === 0x10 && c[1] === 0x2a).length).toBeGreaterThan(0);
    expect(proT.countIns(0xc0)).toBeGreaterThan(0);
    await expect(insured.appendDispensations([sale(950, 'B1')])).resolves.toEqual({ appended: 1 });
    expect((await insured.readDispensations())[0]!.invoiceNumber).toBe(950);
  });

  it('a forged professional card is refused at VERIFY CERTIFICATE', async () => {
    const { insured, pro } = await open('demo', 'rogue-pharmacist');
    await pro.verifyPin('0000');
    const r = await pro.authenticate(insured);
    expect(r.kind).toBe('certificateRejected');
  });

  it('card pulled mid-read: a clear error, then a correct re-read', async () => {
    const vc = virtualCard('full-rings');
    const t = new CountingTransport(vc);
    const card = await ChifaCard.open(t);
    const expected = await card.readAll({ pin: '1234' });
    vc.faults.removeAt({ apdu: 4, phase: 'before' });
    await expect(card.readAll({ pin: '1234' })).rejects.toBeInstanceOf(CardRemovedError);
    vc.insert();
    vc.powerOn();
    const again = await ChifaCard.open(new CountingTransport(vc));
    await expect(again.readAll({ pin: '1234' })).resolves.toEqual(expected);
  });

  it('card pulled mid-append: AppendInterruptedError with what was written; a re-read shows exactly that', async () => {
    const { insured, insuredCard, pro } = await open();
    await insured.verifyPin('1234');
    await pro.verifyPin('0000');
    expect((await pro.authenticate(insured)).kind).toBe('ok');
    const before = await insured.readDispensations();
    insuredCard.faults.removeAt({ ins: 0xe2, apdu: 2, phase: 'during' });
    const err = await insured.appendDispensations([sale(911, 'A1'), sale(912, 'A2'), sale(913, 'A3')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppendInterruptedError);
    expect(err).toMatchObject({ code: 'append-interrupted', written: 1, total: 3 });
    expect((err as Error).message).toMatch(/read the card again/);
    insuredCard.insert();
    insuredCard.powerOn();
    const again = await ChifaCard.open(new CountingTransport(insuredCard));
    await again.verifyPin('1234');
    const after = await again.readDispensations();
    // The torn second append left nothing (the emulator's anti-tearing): one new record.
    expect(after.map((d) => d.invoiceNumber).slice(0, 1)).toEqual([911]);
    expect(after.slice(1)).toEqual(before);
  });
});
