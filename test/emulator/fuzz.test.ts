import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { fsProblems } from '../../src/emulator/filesystem';
import { PIN_INS, WRITING_INS } from '../../src/emulator/os';
import type { VirtualCard } from '../../src/emulator/virtual-card';
import { INSURED_AID } from '../../src/card/layout';
import {
  apdu,
  apduExt,
  authenticateProfessional,
  card,
  certificateApdus,
  dispensationTemplate,
  pinBlock,
  selectInsured,
  selectProfessional,
  sha256,
  verifyPin,
} from './helpers';

/**
 * Bad input: random and mutated APDUs never crash the card OS, never corrupt its file system and
 * never change a PIN counter except through VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER.
 *
 * CHIFA_FUZZ_RUNS sets the total number of APDUs (default 100,000, the CI floor; 1,000,000 for a
 * long local run). Runs are sequences of 10 APDUs on a card restored from a snapshot, with the
 * application selected and, in some runs, the PIN verified and a professional authenticated, so
 * the fuzzer reaches the protected and the writing paths too.
 */

const TOTAL = Number(process.env.CHIFA_FUZZ_RUNS ?? 100_000);
const SEQ = 10;
const share = (f: number): number => Math.max(1, Math.round((TOTAL * f) / SEQ));

const CORPUS: Buffer[] = [
  selectInsured(),
  selectProfessional(),
  apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, 0),
  apdu(0, 0xa4, 0x00, 0x0c, Buffer.from('3F00', 'hex')),
  apdu(0, 0xa4, 0x08, 0x04, Buffer.from('DF010106', 'hex'), 0),
  apdu(0, 0xa4, 0x02, 0x04, Buffer.from('0101', 'hex'), 0),
  apdu(0, 0xa4, 0x03, 0x0c),
  Buffer.from('00B0810000', 'hex'),
  Buffer.from('00B0830010', 'hex'),
  Buffer.from('00B0000000', 'hex'),
  apduExt(0, 0xb0, 0x82, 0x00, undefined, 65536),
  Buffer.from('00B2013400', 'hex'),
  Buffer.from('00B2013500', 'hex'),
  Buffer.from('00B2013600', 'hex'),
  Buffer.from('00B2012D00', 'hex'),
  Buffer.from('00B2011500', 'hex'),
  apduExt(0, 0xb2, 0x01, 0x35, undefined, 65536),
  apdu(0, 0xe2, 0x00, 0x30, dispensationTemplate(7)),
  apdu(0, 0xe2, 0x00, 0x28, Buffer.from('E403800420250101', 'hex')),
  apdu(0, 0xdc, 0x01, 0x34, Buffer.from('E5', 'hex')),
  apdu(0, 0xd6, 0x81, 0x00, Buffer.from('E000', 'hex')),
  verifyPin('1234'),
  verifyPin('9999'),
  Buffer.from('00200081', 'hex'),
  Buffer.from('0020FF81', 'hex'),
  apdu(0, 0x24, 0, 0x81, Buffer.concat([pinBlock('1234'), pinBlock('1234')])),
  apdu(0, 0x2c, 0x01, 0x81, Buffer.from('12345678')),
  apdu(0, 0x2c, 0x00, 0x81, Buffer.concat([Buffer.from('12345678'), pinBlock('1234')])),
  Buffer.from('0084000010', 'hex'),
  apdu(0, 0x82, 0, 0, Buffer.alloc(64, 0x11)),
  apdu(0, 0x88, 0, 1, Buffer.alloc(16, 0x22), 0),
  apdu(0, 0x2a, 0x9e, 0x9a, sha256(Buffer.from('x')), 0),
  ...certificateApdus(),
  Buffer.from('00CA7F6600', 'hex'),
  Buffer.from('00CA5F5200', 'hex'),
  Buffer.from('00CA7F4900', 'hex'),
  Buffer.from('00C0000000', 'hex'),
  apdu(0x10, 0x2a, 0x00, 0xbe, Buffer.alloc(40, 0x30)),
  apdu(0x10, 0x20, 0x00, 0x81, Buffer.from('3132', 'hex')),
];

const INS = [0xa4, 0xb0, 0xb1, 0xd6, 0xb2, 0xdc, 0xe2, 0x20, 0x24, 0x2c, 0x84, 0x82, 0x88, 0x2a, 0xca, 0xcb, 0xc0];

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));

/** Header-aware random APDUs: plausible classes and instructions, any parameters and lengths. */
const structured = fc
  .record({
    cla: fc.oneof(fc.constantFrom(0x00, 0x10, 0x00, 0x80, 0x0c, 0x01, 0xff, 0x40), fc.integer({ min: 0, max: 255 })),
    ins: fc.oneof(fc.constantFrom(...INS), fc.integer({ min: 0, max: 255 })),
    p1: fc.oneof(fc.constantFrom(0x00, 0x01, 0x04, 0x80, 0x81, 0x86, 0xff), fc.integer({ min: 0, max: 255 })),
    p2: fc.oneof(fc.constantFrom(0x00, 0x04, 0x0c, 0x34, 0x35, 0x36, 0x30, 0x81, 0x82), fc.integer({ min: 0, max: 255 })),
    data: fc.oneof(bytes(16), bytes(300)),
    le: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 256, max: 65536 })),
    form: fc.constantFrom('short', 'extended'),
  })
  .map(({ cla, ins, p1, p2, data, le, form }) => {
    if (form === 'extended' || data.length > 255 || (le !== undefined && le > 256))
      return apduExt(cla, ins, p1, p2, data, le === undefined ? undefined : Math.max(1, le));
    return apdu(cla, ins, p1, p2, data, le);
  });

/** A corpus APDU with a mutation: bit flip, truncation, extension, byte overwrite, length-byte change. */
const mutated = fc
  .tuple(fc.constantFrom(...CORPUS), fc.integer({ min: 0, max: 5 }), fc.nat(), fc.integer({ min: 0, max: 255 }), bytes(8))
  .map(([base, kind, at, value, extra]) => {
    const b = Buffer.from(base);
    const i = b.length === 0 ? 0 : at % b.length;
    switch (kind) {
      case 0:
        if (b.length) b[i] = b[i]! ^ (1 << (value % 8));
        return b;
      case 1:
        return b.subarray(0, i);
      case 2:
        return Buffer.concat([b, extra]);
      case 3:
        if (b.length) b[i] = value;
        return b;
      case 4:
        if (b.length > 4) b[4] = value; // Lc / Le
        return b;
      default:
        return base;
    }
  });

const anyApdu = fc.oneof({ arbitrary: mutated, weight: 5 }, { arbitrary: structured, weight: 4 }, { arbitrary: bytes(40), weight: 1 });

function nvmHash(c: VirtualCard): string {
  const h = createHash('sha1');
  const nvm = c.os.nvm;
  for (const name of nvm.names()) h.update(name).update(nvm.get(name));
  h.update(JSON.stringify(nvm.journal));
  return h.digest('hex');
}

function pinCounters(c: VirtualCard): string {
  return [...c.os.pins.values()].map((p) => `${p.ref}:${p.triesLeft}`).join(',');
}

function validSw(resp: Buffer): boolean {
  if (resp.length < 2) return false;
  const sw1 = resp[resp.length - 2]!;
  return ((sw1 & 0xf0) === 0x60 || (sw1 & 0xf0) === 0x90) && sw1 !== 0x60;
}

type Prep = 'selected' | 'pin' | 'professional';

function fuzz(name: string, kind: 'insured' | 'professional', runs: number): void {
  const c = card(name);
  const pro = card('pharmacist-1');
  const snap = c.snapshot();
  const holder = (): Buffer =>
    c.os.mf.dfs[0]!.efs[0]!.kind === 'transparent' ? Buffer.from((c.os.mf.dfs[0]!.efs[0] as { data: Buffer }).data) : Buffer.alloc(0);
  const holderBefore = holder();
  fc.assert(
    fc.property(
      fc.constantFrom<Prep>('selected', 'pin', 'professional'),
      fc.array(anyApdu, { minLength: SEQ, maxLength: SEQ }),
      (prep, seq) => {
        c.restore(snap);
        // Plain checks, not expect(): this loop runs a hundred thousand times.
        const must = (cond: boolean, what: string): void => {
          if (!cond) throw new Error(what);
        };
        const sw = (a: Buffer): number => {
          const r = c.transmitSync(a);
          return r.readUInt16BE(r.length - 2);
        };
        const select = kind === 'insured' ? selectInsured() : selectProfessional();
        must(sw(select) === 0x9000, 'select');
        if (prep !== 'selected') must(sw(verifyPin(kind === 'insured' ? '1234' : '0000')) === 0x9000, 'verify');
        if (prep === 'professional' && kind === 'insured') must(authenticateProfessional(c, pro) === 0x9000, 'authenticate');
        let hash = nvmHash(c);
        for (const a of seq) {
          const hashBefore = hash;
          const pinsBefore = pinCounters(c);
          let resp: Buffer;
          try {
            resp = c.transmitSync(a);
          } catch (err) {
            throw new Error(`APDU ${a.toString('hex')} threw ${(err as Error).message}`, { cause: err });
          }
          const where = `APDU ${a.toString('hex')}`;
          must(validSw(resp), `${where} answered ${resp.toString('hex')}`);
          must(resp.readUInt16BE(resp.length - 2) !== 0x6f00, `${where} hit an internal error (6F00)`);
          const ins = a.length >= 2 ? a[1]! : -1;
          must(PIN_INS.has(ins) || pinCounters(c) === pinsBefore, `${where} changed a PIN counter`);
          hash = nvmHash(c);
          must(WRITING_INS.has(ins) || hash === hashBefore, `${where} changed NVM`);
          const problems = fsProblems(c.os.mf);
          must(problems.length === 0, `${where} broke the file system: ${problems.join('; ')}`);
        }
        // The card still works (one unchained command ends a chain the sequence left open; exact Le
        // because T=0 would answer 6Cxx), and what no command may write is untouched.
        must(sw(Buffer.from('00CA5F5208', 'hex')) === 0x9000, 'GET DATA after the sequence');
        must(sw(select) === 0x9000, 'SELECT after the sequence');
        must(sw(Buffer.from('00B0810000', 'hex')) === 0x9000, 'READ BINARY after the sequence');
        must(holder().equals(holderBefore), 'EF.HOLDER / EF.PHARMACY changed');
      },
    ),
    { numRuns: runs },
  );
}

describe(`random and mutated APDUs (${TOTAL} in total)`, () => {
  test('insured card, T=1, extended length', () => fuzz('demo', 'insured', share(0.5)));
  test('insured card, T=0, short APDUs only', () => fuzz('t0', 'insured', share(0.2)));
  test('insured card with full rings', () => fuzz('full-rings', 'insured', share(0.15)));
  test('professional card', () => fuzz('pharmacist-1', 'professional', share(0.15)));
});
