import { createHash } from 'node:crypto';
import {
  AccessDeniedError,
  ApduFormatError,
  AtrError,
  CardChannel,
  CardDataError,
  CardProtocolError,
  ChifaCard,
  ChifaError,
  DEFAULT_CHUNK,
  NotAChifaCardError,
  PinFormatError,
  ProfessionalCard,
  RecordInputError,
  RecordingTransport,
  ReplayMismatchError,
  ReplayTransport,
  ResponseApdu,
  RecordMode,
  StatusWordError,
  SW,
  SW1,
  Tags,
  TlvError,
  TranscriptFormatError,
  TransportError,
  TransportTimeoutError,
  INSURED_AID,
  InsuredFiles,
  PIN_REF,
  PROFESSIONAL_AID,
  ProfessionalFiles,
  PUK_REF,
  appendRecord,
  changeReferenceData,
  command,
  computeDigitalSignature,
  decodeOne,
  decodeTlv,
  encodeCommand,
  encodeTlv,
  externalAuthenticate,
  findAllTags,
  findPath,
  findTag,
  fromHex,
  getChallenge,
  getData,
  internalAuthenticate,
  parseAtr,
  parseCommand,
  parseResponse,
  parseTranscript,
  readBinary,
  readRecord,
  redactCommand,
  resetRetryCounter,
  selectAid,
  selectFid,
  selectMf,
  selectPath,
  swHex,
  swText,
  toHex,
  updateBinary,
  updateRecord,
  verify,
  verifyCertificate,
  verifyStatus,
  type TraceEvent,
} from '../../src/card';
import { startCard, stopAll } from '../../src/testing';

/**
 * The root entry point, `chifa-terminal`, as a vendor uses it: the protocol core (APDUs, status
 * words, TLV, ATR, the layout), commands as values through a CardChannel on emulated cards,
 * transcripts, and the Chifa card application's typed errors.
 */

afterEach(stopAll);

/** A PIN block as the card expects it (ASCII digits padded with FF to 8 bytes), built by the caller. */
const block = (digits: string): Buffer => Buffer.concat([Buffer.from(digits, 'ascii'), Buffer.alloc(8 - digits.length, 0xff)]);

describe('APDUs, status words, TLV, ATR', () => {
  it('encodes and parses commands and responses (ISO/IEC 7816-4 §5)', () => {
    const bytes = encodeCommand({ cla: 0, ins: 0xb2, p1: 1, p2: (6 << 3) | RecordMode.fromP1ToLast, ne: 65536 });
    expect(toHex(bytes)).toBe('00B20135000000');
    expect(parseCommand(bytes)).toMatchObject({ ins: 0xb2, case: 2, extended: true, ne: 65536 });
    expect(() => parseCommand(fromHex('00A4'))).toThrow(ApduFormatError);
    const r = parseResponse(fromHex('6A82'));
    expect(r).toBeInstanceOf(ResponseApdu);
    expect([r.sw, r.ok, swHex(r.sw), swText(r.sw)]).toEqual([SW.FILE_NOT_FOUND, false, '6A82', expect.stringMatching(/not found/i)]);
    expect(ResponseApdu.of(Buffer.from([1]), SW.OK).toBytes()).toEqual(fromHex('019000'));
    expect(parseResponse(fromHex('6110')).sw1).toBe(SW1.BYTES_AVAILABLE);
    expect(toHex(fromHex('90 00'), ' ')).toBe('90 00');
  });

  it('BER-TLV: encode, decode, find; a truncated object is a TlvError naming the offset', () => {
    const bytes = encodeTlv({
      tag: 0xe0,
      children: [
        { tag: 0x80, value: Buffer.from('A') },
        { tag: 0x81, value: Buffer.from('B') },
      ],
    });
    expect(toHex(bytes)).toBe('E006800141810142');
    const nodes = decodeTlv(bytes);
    expect(findPath(nodes, [0xe0, 0x81])).toMatchObject({ tag: 0x81, value: Buffer.from('B') });
    const one = decodeOne(bytes);
    expect(findTag([one], 0xe0)).toBeDefined();
    expect(findAllTags(one.children ?? [], 0x80)).toHaveLength(1);
    let caught: unknown;
    try {
      decodeTlv(bytes.subarray(0, 5));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TlvError);
    expect(caught).toBeInstanceOf(ChifaError);
  });

  it('parses the ATR of an emulated card, and refuses a malformed one', async () => {
    const c = await startCard('demo');
    const atr = parseAtr(c.card.atr);
    expect(atr.capabilities).toEqual({ extendedLength: true, chaining: true });
    expect(() => parseAtr(fromHex('3B'))).toThrow(AtrError);
  });
});

describe('commands as values through a CardChannel', () => {
  it('selects, reads and fails the way the layout says (insured card)', async () => {
    const c = await startCard('demo');
    const events: TraceEvent[] = [];
    const ch = new CardChannel(c.transport, { capabilities: parseAtr(c.card.atr).capabilities, trace: (e) => events.push(e) });
    expect((await ch.run(selectMf())).kind).toBe('selected');
    expect((await ch.run(selectFid(0x2f00))).kind).toBe('selected'); // EF.DIR under the MF
    expect((await ch.run(selectAid(INSURED_AID))).kind).toBe('selected');
    expect((await ch.run(selectPath([0x7777]))).kind).toBe('notFound');
    expect((await ch.run(selectAid(INSURED_AID))).kind).toBe('selected');
    const holder = await ch.run(readBinary({ sfi: InsuredFiles.holder.sfi }));
    if (holder.kind !== 'ok') throw new Error(holder.kind);
    expect(decodeOne(holder.data, { allowTrailing: true }).tag).toBe(Tags.holder.template);
    expect(await ch.run(readRecord({ record: 1, sfi: InsuredFiles.dispensations.sfi }))).toEqual({ kind: 'securityNotSatisfied' });
    expect(await ch.run(verifyStatus(PIN_REF))).toEqual({ kind: 'retries', retriesLeft: 3 });
    expect(await ch.run(verify(PIN_REF, block('9999')))).toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    expect(await ch.run(verify(PIN_REF, block('1234')))).toEqual({ kind: 'ok' });
    const all = await ch.run(readRecord({ record: 1, sfi: InsuredFiles.dispensations.sfi, mode: 'fromP1ToLast', ne: 65536 }));
    expect(all.kind === 'ok' && all.data.length).toBe(4 * InsuredFiles.dispensations.size);
    expect((await ch.run(updateBinary({ sfi: InsuredFiles.holder.sfi, data: Buffer.from([0]) }))).kind).toBe('securityNotSatisfied');
    expect((await ch.run(updateRecord({ record: 1, sfi: InsuredFiles.dispensations.sfi, data: Buffer.alloc(4) }))).kind).toBe(
      'securityNotSatisfied',
    );
    expect((await ch.run(appendRecord({ sfi: InsuredFiles.dispensations.sfi, data: Buffer.alloc(4) }))).kind).toBe('securityNotSatisfied');
    expect(await ch.run(changeReferenceData(PIN_REF, block('1234'), block('4321')))).toEqual({ kind: 'ok' });
    // RESET RETRY COUNTER on the PIN with the PUK (its reference is PUK_REF; the data is PUK || new PIN).
    expect(PUK_REF).not.toBe(PIN_REF);
    expect(await ch.run(resetRetryCounter(PIN_REF, Buffer.from('12345678', 'ascii'), block('1234')))).toEqual({ kind: 'ok' });
    const challenge = await ch.run(getChallenge(16));
    expect(challenge.kind === 'ok' && challenge.challenge).toHaveLength(16);
    // No professional certificate was verified first: the card refuses (conditions of use not satisfied).
    expect((await ch.run(externalAuthenticate(Buffer.alloc(64)))).kind).toBe('noChallenge');
    expect((await ch.run(getData(0x5f52))).kind).toMatch(/ok|notFound/);
    // The trace saw every exchange, PIN data masked.
    expect(
      events.some((e) => e.command === redactCommand(encodeCommand({ cla: 0, ins: 0x20, p1: 0, p2: PIN_REF, data: block('1234') }))),
    ).toBe(true);
    expect(events.map((e) => e.command).join()).not.toMatch(/31323334FFFFFFFF/);
  });

  it("the pharmacist's card: certificate, internal authentication, signature (PSO)", async () => {
    const pro = await startCard('pharmacist-1');
    const ch = new CardChannel(pro.transport, { capabilities: parseAtr(pro.card.atr).capabilities });
    expect((await ch.run(selectAid(PROFESSIONAL_AID))).kind).toBe('selected');
    const cert = await ch.run(readBinary({ sfi: ProfessionalFiles.certificate.sfi, ne: 65536 }));
    if (cert.kind !== 'ok') throw new Error(cert.kind);
    expect(await ch.run(internalAuthenticate(Buffer.alloc(16), 1))).toEqual({ kind: 'securityNotSatisfied' });
    expect(await ch.run(verify(PIN_REF, block('0000')))).toEqual({ kind: 'ok' });
    const auth = await ch.run(internalAuthenticate(Buffer.alloc(16, 7), 1));
    expect(auth.kind === 'ok' && auth.response).toHaveLength(64);
    const sig = await ch.run(computeDigitalSignature(createHash('sha256').update('invoice').digest()));
    expect(sig.kind === 'ok' && sig.signature).toHaveLength(64);

    // The insured card checks a certificate against the fund CA it holds.
    const insured = await startCard('demo');
    const ich = new CardChannel(insured.transport, { capabilities: parseAtr(insured.card.atr).capabilities });
    await ich.run(selectAid(INSURED_AID));
    await ich.run(verify(PIN_REF, block('1234')));
    expect(await ich.run(verifyCertificate(cert.data.subarray(0, cert.data.readUInt16BE(2) + 4)))).toEqual({ kind: 'ok' });
  });

  it('command() makes a custom command; an unmapped status word is a StatusWordError', async () => {
    const c = await startCard('demo');
    const ch = new CardChannel(c.transport);
    const odd = command('PROPRIETARY', { cla: 0x80, ins: 0xca, p1: 0, p2: 0 }, (r) => (r.ok ? { kind: 'ok' as const } : undefined));
    await expect(ch.run(odd)).rejects.toBeInstanceOf(StatusWordError);
    await expect(ch.run(odd)).rejects.toMatchObject({ code: 'status-word' });
    await ch.close();
  });
});

describe('transcripts: record, replay, mismatches', () => {
  it('records a ChifaCard session and replays it without a card', async () => {
    const c = await startCard('demo');
    const rec = new RecordingTransport(c.transport);
    const card = await ChifaCard.open(rec);
    await card.verifyPin('1234');
    const text = rec.transcript();
    const commands = parseTranscript(text).filter((e) => e.kind === 'command');
    expect(commands[0]).toMatchObject({ hex: '00A4040C0BD213000001434849464101' });
    expect(commands.filter((e) => e.kind === 'command' && e.hex.startsWith('0020008108**'))).toHaveLength(1);
    const replay = new ReplayTransport(text);
    const again = await ChifaCard.open(replay);
    expect(again.holder).toEqual(card.holder);
    await expect(again.verifyPin('9999')).resolves.toEqual({ kind: 'ok' }); // the PIN is not in the transcript: any matches
    replay.assertDone();
    await expect(
      new ReplayTransport('=> 00A4040C0BD213000001434849464102\n<= 9000\n').transmit(fromHex('00A4040C0BD213000001434849464101')),
    ).rejects.toBeInstanceOf(ReplayMismatchError);
    expect(() => parseTranscript('=> XYZ')).toThrow(TranscriptFormatError);
    await expect(new ReplayTransport('!! timeout the card did not answer\n').transmit(fromHex('00A4000C'))).rejects.toBeInstanceOf(
      TransportTimeoutError,
    );
  });
});

describe('the Chifa card application: history newest first, a chunk at a time', () => {
  it('dispensations() stops reading once the caller has what it needs', async () => {
    const c = await startCard('full-rings');
    const card = await ChifaCard.open(c.transport);
    await card.verifyPin('1234');
    const newest = [];
    for await (const d of card.dispensations({ chunk: DEFAULT_CHUNK })) {
      newest.push(d);
      if (newest.length === DEFAULT_CHUNK) break;
    }
    expect(newest).toHaveLength(DEFAULT_CHUNK);
    expect(newest[0]!.date >= newest[newest.length - 1]!.date).toBe(true);
    expect((await card.readDispensations()).slice(0, DEFAULT_CHUNK)).toEqual(newest);
  });
});

describe('the Chifa card application: typed errors', () => {
  it('PinFormatError, AccessDeniedError, NotAChifaCardError, RecordInputError', async () => {
    const c = await startCard('demo');
    const card = await ChifaCard.open(c.transport);
    await expect(card.verifyPin('12')).rejects.toBeInstanceOf(PinFormatError);
    await expect(card.readRights()).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(card.readRights()).rejects.toMatchObject({ code: 'pin-required' });
    const pro = await startCard('pharmacist-1');
    await expect(ChifaCard.open(pro.transport)).rejects.toBeInstanceOf(NotAChifaCardError);
    await expect(ProfessionalCard.open((await startCard('chronic')).transport)).rejects.toBeInstanceOf(NotAChifaCardError);
    await card.verifyPin('1234');
    const bad = {
      date: '2025-13-01',
      pharmacyId: 'DZ16-PH-00001',
      rank: 1,
      productCode: 'X',
      quantity: 1,
      durationDays: 1,
      invoiceNumber: 1,
    };
    await expect(card.appendDispensations([bad])).rejects.toBeInstanceOf(RecordInputError);
  });

  it('CardDataError names the file and the byte; CardProtocolError an answer the protocol forbids', async () => {
    const c = await startCard('demo');
    const rec = new RecordingTransport(c.transport);
    await ChifaCard.open(rec);
    // The holder's date of birth, BCD 19800516 on the card, made non-BCD in the recorded answer.
    const corrupted = rec.transcript().replace('86041980051687', '860419AA051687');
    const err = await ChifaCard.open(new ReplayTransport(corrupted)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CardDataError);
    expect((err as Error).message).toMatch(/EF\.HOLDER.*birthDate/);
    // A card that answers VERIFY with "no such reference" has no PIN: the SDK says so, typed.
    const noPin = await startCard('demo');
    const card = await ChifaCard.open(noPin.transport);
    noPin.inject({ kind: 'status-word', sw: SW.REFERENCE_DATA_NOT_FOUND, apdu: 1 });
    const protocol = await card.pinStatus().catch((e: unknown) => e);
    expect(protocol).toBeInstanceOf(CardProtocolError);
    expect(protocol).toBeInstanceOf(ChifaError);
    expect(protocol).not.toBeInstanceOf(TransportError);
  });
});
