import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAtr } from '../../src/card/atr';
import { InProcessTransport } from '../../src/emulator/in-process-transport';
import { CardTimingModel, negotiate } from '../../src/emulator/timing';
import {
  parseTimingProfile,
  resolveTimingProfile,
  TIMING_PROFILES,
  TimingProfileError,
  type TimingProfile,
} from '../../src/emulator/timing-profile';
import { apdu, apduExt, card, h, hex, pinBlock, selectInsured, selectProfessional, verifyPin } from './helpers';

/**
 * The card timing model. Every expected time is worked out here from ISO/IEC 7816-3's formulas,
 * not taken from the model's output:
 *   etu = (F / D) / f; a character takes 12 etu (10 etu frame + 2 etu guard time, TC1 absent);
 *   T=1: 4 framing bytes per block (NAD PCB LEN … LRC) and BGT 22 etu between the two sides,
 *        so 10 etu more per block; an R-block (4 bytes) acknowledges each chained block;
 *   T=0: header CLA INS P1 P2 P3, procedure byte INS when data moves, SW1 SW2; 16 etu between
 *        characters in opposite directions, so 4 etu more per turn.
 * Chip figures of the built-in profiles: 2 ms per command, 3 ms per 64-byte EEPROM page,
 * ECDSA P-256 sign 150 ms, verify 200 ms.
 */

/** etu in ms: Fi 372, Di 1 at 3.5712 MHz (iso-default), and Fi 372, Di 12 at 4 MHz (typical). */
const ETU_ISO = (372 / 1 / 3_571_200) * 1000;
const ETU_TYPICAL = (372 / 12 / 4_000_000) * 1000;

const iso = new CardTimingModel(TIMING_PROFILES['iso-default']);
const typical = new CardTimingModel(TIMING_PROFILES.typical);

describe('the link rate', () => {
  test('iso-default is 9,600 bit/s, typical 129,032 bit/s after PPS', () => {
    expect(iso.rate.bitRate).toBeCloseTo(9600, 6);
    expect(iso.pps).toBe(false);
    expect(typical.rate.bitRate).toBeCloseTo(4_000_000 / 31, 6);
    expect(typical.rate).toMatchObject({ fi: 372, di: 12, clockHz: 4_000_000 });
    expect(typical.pps).toBe(true);
  });

  test('a reader slower than the card: the largest lower Di it supports, else the default', () => {
    const p = TIMING_PROFILES.typical;
    // 4 MHz × 8 / 372 = 86,022 bit/s fits under 100,000; Di 12 (129,032) does not.
    expect(negotiate({ ...p, reader: { ...p.reader, maxBitRate: 100_000 } }).rate).toMatchObject({ fi: 372, di: 8 });
    // Even Di 1 (10,752 bit/s at 4 MHz) is above 9,600: no PPS.
    expect(negotiate({ ...p, reader: { ...p.reader, maxBitRate: 9600 } })).toMatchObject({ pps: false, rate: { fi: 372, di: 1 } });
    // TA1 = 96: Fi 512, Di 32 at 4 MHz = 250,000 bit/s.
    expect(negotiate({ ...p, card: { ...p.card, ta1: 0x96 } }).rate.bitRate).toBeCloseTo(250_000, 6);
  });
});

describe('modelled time of an exchange', () => {
  const select = selectInsured(); // 00 A4 04 0C 0B <11-byte AID>: 16 bytes
  const ok = h('9000');

  test('T=1 SELECT: one block each way', () => {
    // 16 + 2 bytes, 2 blocks × 4 framing bytes = 26 characters; 26 × 12 + 2 × 10 = 332 etu.
    for (const [model, etu] of [
      [typical, ETU_TYPICAL],
      [iso, ETU_ISO],
    ] as const) {
      const c = model.exchange(select, ok, 'T=1');
      expect(c.characters).toBe(26);
      expect(c.wireMs).toBeCloseTo(332 * etu, 9);
      expect(c.totalMs).toBeCloseTo(332 * etu + 2, 9);
    }
    expect(iso.exchange(select, ok, 'T=1').totalMs).toBeCloseTo(36.583333, 5);
  });

  test('T=1 READ RECORD(S) of the whole 400-record ring: 101 response blocks and 100 R-blocks', () => {
    const cmd = apduExt(0, 0xb2, 1, 0x35, undefined, 25_600); // 7 bytes
    const rsp = Buffer.concat([Buffer.alloc(25_600), ok]); // 25,602 bytes: 100 blocks of 254 and one of 202
    // Blocks: 1 command + 101 response + 100 R-blocks = 202; characters 7 + 25,602 + 202 × 4 = 26,417.
    const etu = 26_417 * 12 + 202 * 10; // 319,024
    expect(typical.exchange(cmd, rsp, 'T=1').characters).toBe(26_417);
    expect(typical.exchange(cmd, rsp, 'T=1').wireMs).toBeCloseTo(etu * ETU_TYPICAL, 6); // ≈ 2.47 s
    expect(iso.exchange(cmd, rsp, 'T=1').wireMs).toBeCloseTo(etu * ETU_ISO, 6); // ≈ 33.2 s: half a minute
  });

  test('T=0: the header, the procedure byte, data, SW and 4 etu per turn of direction', () => {
    // Case 2, READ BINARY Le 4 with 4 bytes back: 5 + 1 + 4 + 2 = 12 characters, 2 turns.
    expect(iso.exchange(h('00B0810004'), h('E05A800C9000'), 'T=0').wireMs).toBeCloseTo((12 * 12 + 2 * 4) * ETU_ISO, 9);
    // Case 2 answered by a status word only (6A83): 5 + 2 characters, 2 turns.
    expect(iso.exchange(h('00B2053C00'), h('6A83'), 'T=0').wireMs).toBeCloseTo((7 * 12 + 2 * 4) * ETU_ISO, 9);
    // Case 3, VERIFY with 8 bytes: 5 + 8 + 1 + 2 = 16 characters, 4 turns.
    expect(iso.exchange(verifyPin('1234'), ok, 'T=0').wireMs).toBeCloseTo((16 * 12 + 4 * 4) * ETU_ISO, 9);
    // Case 1 (no Lc, no Le): P3 = 00 is added to the header.
    expect(iso.exchange(h('00A40000'), ok, 'T=0').wireMs).toBeCloseTo((7 * 12 + 2 * 4) * ETU_ISO, 9);
  });

  test('the ATR at the default rate, PPS, and the S(IFS) exchange', () => {
    const c = card('demo', { timing: 'typical' });
    expect(c.atr.length).toBe(16);
    // At 4 MHz before PPS: etu = 372 / 4 MHz. 16 ATR characters; PPS 4 + 4 characters and 2 turns.
    const before = (372 / 4_000_000) * 1000;
    const ifs = (10 * 12 + 2 * 10) * ETU_TYPICAL; // S(IFS request) and response, 5 characters each
    expect(c.resetCost().totalMs).toBeCloseTo((16 * 12 + 8 * 12 + 2 * 4) * before + ifs, 9);
    // No TA1, no PPS: the ATR and the IFS exchange only.
    const d = card('demo', { timing: 'iso-default' });
    expect(d.resetCost().totalMs).toBeCloseTo((15 * 12 + 10 * 12 + 2 * 10) * ETU_ISO, 9);
  });
});

describe('card operations', () => {
  test('VERIFY decrements its counter in EEPROM before comparing: 4 pages, and 4 more to restore it on a match', () => {
    // Each transaction: the journal (4 + 1 bytes: one page), its commit flag, the counter's page,
    // the journal cleared = 4 pages of 3 ms.
    const c = card('demo', { timing: 'typical' });
    c.transmitSync(selectInsured());
    const wrong = c.exchangeSync(verifyPin('9999')).cost;
    expect(wrong.nvmPages).toBe(4);
    expect(wrong.nvmMs).toBe(12);
    const right = c.exchangeSync(verifyPin('1234')).cost;
    expect(right.nvmPages).toBe(8);
    expect(right.totalMs).toBeCloseTo(right.wireMs + 2 + 24, 9);
    // A VERIFY without data spends nothing and writes nothing.
    expect(c.exchangeSync(apdu(0, 0x20, 0, 0x81)).cost.nvmPages).toBe(0);
  });

  test('APPEND RECORD on the dispensation ring: record page, header page, 2 journal pages, flag, clearing', () => {
    // Journal: (4 + 64) + (4 + 4) = 76 bytes = 2 pages of 64.
    const pro = card('pharmacist-1', { timing: 'typical' });
    const insured = card('demo', { timing: 'typical' });
    insured.transmitSync(selectInsured());
    insured.transmitSync(verifyPin('1234'));
    authenticate(insured, pro);
    const cost = insured.exchangeSync(apdu(0, 0xe2, 0, 0x30, h('E5058001000000'))).cost;
    expect(hex(insured.transmitSync(apdu(0, 0xb2, 1, 0x34, undefined, 64)).subarray(0, 2))).toBe('E505');
    expect(cost.nvmPages).toBe(6);
    expect(cost.nvmMs).toBe(18);
  });

  test('ECDSA: PSO VERIFY CERTIFICATE and EXTERNAL AUTHENTICATE verify (200 ms), INTERNAL AUTHENTICATE signs (150 ms)', () => {
    const pro = card('pharmacist-1', { timing: 'typical' });
    const insured = card('demo', { timing: 'typical' });
    insured.transmitSync(selectInsured());
    const costs = authenticate(insured, pro);
    expect(costs.certificate.cryptoMs).toBe(200);
    expect(costs.internal.cryptoMs).toBe(150);
    expect(costs.external.cryptoMs).toBe(200);
    // A command that never reaches the signature check costs no signature.
    expect(insured.exchangeSync(apduExt(0, 0x82, 0, 0, Buffer.alloc(64))).cost.cryptoMs).toBe(0);
  });

  test('an injected status word did no card work', () => {
    const c = card('demo', { timing: 'typical' });
    c.transmitSync(selectInsured());
    c.transmitSync(verifyPin('1234'));
    c.faults.injectSw({ apdu: 1, sw: 0x6581 });
    expect(c.exchangeSync(verifyPin('1234')).cost.nvmPages).toBe(0);
  });
});

/** The professional authentication of docs/card-layout.md §6, with the cost of each step. */
function authenticate(insured: ReturnType<typeof card>, pro: ReturnType<typeof card>) {
  pro.transmitSync(selectProfessional());
  pro.transmitSync(apdu(0, 0x20, 0, 0x81, pinBlock('0000')));
  const cert = fs.readFileSync(path.join(__dirname, '../../fixtures/keys/pharmacy-1.cert.der'));
  const certificate = insured.exchangeSync(apduExt(0, 0x2a, 0x00, 0xbe, cert));
  expect(hex(certificate.response)).toBe('9000');
  const challenge = insured.transmitSync(apdu(0, 0x84, 0, 0, undefined, 16)).subarray(0, 16);
  const internal = pro.exchangeSync(apdu(0, 0x88, 0, 1, challenge, 0));
  const external = insured.exchangeSync(apdu(0, 0x82, 0, 0, internal.response.subarray(0, 64)));
  expect(hex(external.response)).toBe('9000');
  return { certificate: certificate.cost, internal: internal.cost, external: external.cost };
}

describe('the ATR offers what the profile offers (TA1, ISO 7816-3 §8.2.3)', () => {
  test('none and iso-default: no TA1, the golden ATR unchanged', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/golden/atr-fcp.json'), 'utf8')) as {
      atr: Record<string, string>;
    };
    for (const timing of ['none', 'iso-default']) {
      const atr = card('demo', { timing }).atr;
      expect(hex(atr)).toBe(golden.atr['t=1,extended,chaining']);
      expect(parseAtr(atr)).toMatchObject({ ta1: undefined, offered: { fi: 372, di: 1, fMaxHz: 5_000_000 } });
    }
  });

  test('typical: TA1 = 18 after T0 (Y1 gains b5), the TCK follows', () => {
    const atr = card('demo', { timing: 'typical' }).atr;
    // T0 = 98: TA1 and TD1 follow, 8 historical bytes; TCK = XOR of T0..the last historical byte.
    expect(hex(atr)).toBe('3B981881' + '31FE45' + '0073B621C0059000' + '3A');
    const parsed = parseAtr(atr);
    expect(parsed.ta1).toBe(0x18);
    expect(parsed.offered).toEqual({ fi: 372, di: 12, fMaxHz: 5_000_000 });
    expect(parsed.protocols).toEqual([1]);
    expect(parsed.capabilities).toEqual({ chaining: true, extendedLength: true });
  });

  test('T=0 with TA1: 3B 1K TA1 and no TCK', () => {
    const atr = card('t0', { timing: 'typical' }).atr;
    expect(hex(atr.subarray(0, 3))).toBe('3B1818');
    expect(atr.length).toBe(3 + 8);
    expect(parseAtr(atr)).toMatchObject({ ta1: 0x18, protocols: [0] });
  });

  test('a JSON profile offering TA1 = 96 (Fi 512, Di 32)', () => {
    const p = parseTimingProfile({ ...json(), card: { ...json().card, ta1: '96' } }, 'fast.json');
    const c = card('demo', { timing: p });
    expect(parseAtr(c.atr).offered).toEqual({ fi: 512, di: 32, fMaxHz: 5_000_000 });
  });
});

/** A valid profile as JSON. */
function json() {
  return {
    name: 'mine',
    card: { ta1: '18', commandMs: 1, eeprom: { pageBytes: 64, pageWriteMs: 2 }, ecdsaP256: { signMs: 100, verifyMs: 120 } },
    reader: { clockHz: 4_000_000, maxBitRate: 344_086, ifsd: 254 },
  };
}

describe('timing profiles from JSON', () => {
  test('a valid file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-timing-'));
    const file = path.join(dir, 'mine.json');
    fs.writeFileSync(file, JSON.stringify(json()));
    const p = resolveTimingProfile(file)!;
    expect(p.card.ta1).toBe(0x18);
    expect(new CardTimingModel(p).rate.di).toBe(12);
    expect(resolveTimingProfile('none')).toBeUndefined();
    expect(resolveTimingProfile('typical')).toBe(TIMING_PROFILES.typical);
  });

  test.each([
    [
      'card.eeprom.pageWriteMs',
      (j: ReturnType<typeof json>) => ({ ...j, card: { ...j.card, eeprom: { pageBytes: 64, pageWriteMs: -1 } } }),
    ],
    ['card.ta1', (j: ReturnType<typeof json>) => ({ ...j, card: { ...j.card, ta1: '71' } })], // Fi index 7 is reserved
    ['card.ta1', (j: ReturnType<typeof json>) => ({ ...j, card: { ...j.card, ta1: 24 } })],
    ['reader.clockHz', (j: ReturnType<typeof json>) => ({ ...j, reader: { ...j.reader, clockHz: 20_000_000 } })],
    ['reader.ifsd', (j: ReturnType<typeof json>) => ({ ...j, reader: { ...j.reader, ifsd: 255 } })],
    ['card.speed', (j: ReturnType<typeof json>) => ({ ...j, card: { ...j.card, speed: 1 } })],
    ['card.ecdsaP256', (j: ReturnType<typeof json>) => ({ ...j, card: { ...j.card, ecdsaP256: undefined } })],
  ])('a bad %s is a TimingProfileError naming it', (field, mutate) => {
    let err: unknown;
    try {
      parseTimingProfile(mutate(json()) as unknown, 'bad.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TimingProfileError);
    expect(err).toMatchObject({ code: 'invalid-timing-profile', field });
    expect((err as Error).message).toContain(`bad.json: ${field}`);
  });

  test('an unknown name or an unreadable file', () => {
    expect(() => resolveTimingProfile('fast')).toThrow(/unknown timing profile.*none, iso-default, typical/);
    expect(() => resolveTimingProfile('/nonexistent/p.json')).toThrow(TimingProfileError);
  });
});

describe('the in-process transport: virtual and real clocks', () => {
  test('virtual: the modelled time is counted, not waited', async () => {
    const t = new InProcessTransport(card('demo'), { timing: 'iso-default' });
    const reset = t.elapsedMs;
    expect(reset).toBeCloseTo((15 * 12 + 10 * 12 + 2 * 10) * ETU_ISO, 9);
    await t.transmit(selectInsured());
    expect(t.elapsedMs - reset).toBeCloseTo(332 * ETU_ISO + 2, 9);
    expect(t.meter.apdus).toBe(1);
    expect(t.meter.resets).toBe(1);
    // A card that would take 10 s per command answers at once.
    const slow: TimingProfile = { ...TIMING_PROFILES.typical, name: 'slow', card: { ...TIMING_PROFILES.typical.card, commandMs: 10_000 } };
    const v = new InProcessTransport(card('demo'), { timing: slow });
    const start = performance.now();
    await v.transmit(selectInsured());
    expect(performance.now() - start).toBeLessThan(5000);
    expect(v.elapsedMs).toBeGreaterThan(10_000);
  });

  test('real: an exchange waits at least its modelled time', async () => {
    const slow: TimingProfile = { ...TIMING_PROFILES.typical, name: 'slow', card: { ...TIMING_PROFILES.typical.card, commandMs: 40 } };
    const t = new InProcessTransport(card('demo'), { timing: slow, clock: 'real' });
    const start = performance.now();
    expect(hex(await t.transmit(selectInsured()))).toBe('9000');
    expect(performance.now() - start).toBeGreaterThanOrEqual(40);
    expect(t.elapsedMs).toBeGreaterThan(40);
  });

  test('no profile: nothing modelled, APDUs still counted', async () => {
    const t = new InProcessTransport(card('demo'));
    await t.transmit(selectInsured());
    expect(t.elapsedMs).toBe(0);
    expect(t.meter.apdus).toBe(1);
  });
});
