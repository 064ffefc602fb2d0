import { CardRemovedError } from '../../src/card/transport/transport';
import { fsProblems, type RecordEf } from '../../src/emulator/filesystem';
import type { VirtualCard } from '../../src/emulator/virtual-card';
import {
  apdu,
  apduExt,
  card,
  certificateApdus,
  certificateOf,
  dispensationTemplate,
  selectInsured,
  selectProfessional,
  tx,
  verifyPin,
} from './helpers';

/**
 * Tearing and removal at every step of an append: whatever APDU of the flow the card is pulled
 * at (before, during, after it), and whatever NVM programming step the power goes at, the rings
 * hold either the old state or the new one — never half a record — the PIN counter only changes
 * as VERIFY says, and the flow run again from the start succeeds.
 */

const NEW = dispensationTemplate(0xc0ffee);

/** The insured-card APDUs of the append flow, in order; the professional card answers the challenge. */
function runFlow(insured: VirtualCard, pro: VirtualCard): void {
  const ok = (cmd: Buffer): Buffer => {
    const r = insured.transmitSync(cmd);
    const sw = r.readUInt16BE(r.length - 2);
    if (sw !== 0x9000) throw new Error(`unexpected ${sw.toString(16)} for ${cmd.subarray(0, 4).toString('hex')}`);
    return r.subarray(0, r.length - 2);
  };
  ok(selectInsured());
  ok(verifyPin('1234'));
  for (const a of certificateApdus(certificateOf(pro))) ok(a);
  const challenge = ok(Buffer.from('0084000010', 'hex'));
  expect(tx(pro, selectProfessional()).sw).toBe(0x9000);
  expect(tx(pro, verifyPin('0000')).sw).toBe(0x9000);
  const sig = tx(pro, apdu(0, 0x88, 0, 1, challenge, 0)).data;
  ok(apdu(0, 0x82, 0, 0, sig));
  ok(apdu(0, 0xe2, 0, 0x30, NEW));
}
const FLOW_APDUS = 8; // SELECT, VERIFY, 3 chained certificate parts, GET CHALLENGE, EXTERNAL AUTHENTICATE, APPEND RECORD

function ring(c: VirtualCard): RecordEf {
  return c.os.mf.dfs[0]!.efByFid(0x0106) as RecordEf;
}

function records(c: VirtualCard): Buffer[] {
  const ef = ring(c);
  return Array.from({ length: ef.count }, (_, i) => Buffer.from(ef.record(i + 1)!));
}

/** Back in the reader and powered, as a terminal would find it after re-insertion. */
function revive(c: VirtualCard): void {
  c.insert();
  c.powerOn();
}

function expectOldOrNew(c: VirtualCard, old: Buffer[], shouldBeNew: boolean | undefined): 'old' | 'new' {
  expect(fsProblems(c.os.mf)).toEqual([]);
  const now = records(c);
  const isOld = now.length === old.length && now.every((r, i) => r.equals(old[i]!));
  const expectedNew = [Buffer.concat([NEW, Buffer.alloc(64 - NEW.length)]), ...old].slice(0, ring(c).capacity);
  const isNew = now.length === expectedNew.length && now.every((r, i) => r.equals(expectedNew[i]!));
  expect(isOld || isNew).toBe(true);
  if (shouldBeNew !== undefined) expect(isNew).toBe(shouldBeNew);
  return isNew ? 'new' : 'old';
}

describe.each(['demo', 'full-rings'])('removal at every APDU of the append flow (%s)', (name) => {
  const pro = card('pharmacist-1');
  const base = card(name);
  const old = records(base);
  const snapshot = base.snapshot();

  for (let n = 1; n <= FLOW_APDUS; n++) {
    for (const phase of ['before', 'during', 'after'] as const) {
      test(`APDU ${n}, ${phase}`, () => {
        const c = card(name);
        c.restore(snapshot);
        c.faults.removeAt({ apdu: n, phase });
        let removedAt: unknown;
        try {
          runFlow(c, pro);
        } catch (err) {
          removedAt = err;
        }
        const appendDone = n === FLOW_APDUS && phase === 'after';
        if (phase === 'after' && n === FLOW_APDUS) expect(removedAt).toBeUndefined();
        else expect(removedAt).toBeInstanceOf(CardRemovedError);
        expect(c.inserted).toBe(false);
        expect(() => c.transmitSync(selectInsured())).toThrow(CardRemovedError);
        revive(c);
        expectOldOrNew(c, old, appendDone);
        expect(c.triesLeft()).toBe(3);
        // The whole flow again, from scratch: the security state did not survive the removal.
        tx(c, selectInsured());
        expect(tx(c, apdu(0, 0xe2, 0, 0x30, NEW)).sw).toBe(0x6982);
        runFlow(c, pro);
        const after = records(c);
        expect(after[0]!.subarray(0, NEW.length)).toEqual(NEW);
        expect(after.length).toBe(Math.min(old.length + (appendDone ? 2 : 1), ring(c).capacity));
      });
    }
  }
});

describe.each(['demo', 'full-rings'])('power loss at every NVM step of APPEND RECORD (%s)', (name) => {
  const pro = card('pharmacist-1');
  const base = card(name);
  const old = records(base);
  const snapshot = base.snapshot();
  // 64-byte record = 2 pages, header = 1 page; with the journal: write journal, set commit flag,
  // 3 page writes, clear journal.
  const steps = 6;

  for (let k = 0; k <= steps + 1; k++) {
    for (const removed of [false, true]) {
      test(`step ${k}${removed ? ' (card pulled)' : ' (tear, card stays)'}`, () => {
        const c = card(name);
        c.restore(snapshot);
        if (removed) c.faults.removeAt({ ins: 0xe2, phase: 'during', step: k });
        else c.faults.tearAt({ ins: 0xe2, step: k });
        expect(() => runFlow(c, pro)).toThrow(CardRemovedError);
        expect(c.inserted).toBe(!removed);
        expect(c.powered).toBe(false);
        revive(c); // power-on recovery: roll the journal forward or drop it
        // New exactly when the commit flag (step 2) was written before the power went.
        expectOldOrNew(c, old, k >= 2);
        expect(c.os.nvm.journal).toBeNull();
      });
    }
  }

  test('commit: false / commit: true shorthands', () => {
    const c = card(name);
    c.restore(snapshot);
    c.faults.tearAt({ ins: 0xe2, commit: false });
    expect(() => runFlow(c, pro)).toThrow(CardRemovedError);
    revive(c);
    expectOldOrNew(c, old, false);
    c.faults.tearAt({ ins: 0xe2, commit: true });
    expect(() => runFlow(c, pro)).toThrow(CardRemovedError);
    revive(c);
    expectOldOrNew(c, old, true);
  });
});

describe('without anti-tearing, a torn append corrupts a record (the journal is what prevents it)', () => {
  test('full ring, power lost after the first page: the oldest record is half old, half new', () => {
    const pro = card('pharmacist-1');
    const c = card('full-rings', { options: { antiTearing: false } });
    const old = records(c);
    c.faults.tearAt({ ins: 0xe2, step: 1 });
    expect(() => runFlow(c, pro)).toThrow(CardRemovedError);
    revive(c);
    const now = records(c);
    const oldest = now[now.length - 1]!;
    expect(oldest.equals(old[old.length - 1]!)).toBe(false);
    expect(oldest.subarray(0, 32)).toEqual(Buffer.concat([NEW, Buffer.alloc(64)]).subarray(0, 32));
    expect(oldest.subarray(32)).toEqual(old[old.length - 1]!.subarray(32));
  });
});

describe('PIN counter under tearing', () => {
  // VERIFY = decrement transaction (4 steps) then, on a match, restore transaction (4 steps).
  test.each([
    [0, 3],
    [1, 3],
    [2, 2],
    [3, 2],
    [5, 2],
    [6, 3],
    [8, 3],
  ])('right PIN, power lost after step %i → %i tries left', (k, left) => {
    const c = card('demo');
    tx(c, selectInsured());
    c.faults.tearAt({ step: k });
    // From step 8 on the command completes, and the power goes before the answer.
    expect(() => c.transmitSync(verifyPin('1234'))).toThrow(CardRemovedError);
    c.powerOn();
    expect(c.triesLeft()).toBe(left);
  });

  test.each([
    [0, 3],
    [1, 3],
    [2, 2],
    [4, 2],
  ])('wrong PIN, power lost after step %i → %i tries left (the guess is never free after the commit)', (k, left) => {
    const c = card('demo');
    tx(c, selectInsured());
    c.faults.tearAt({ step: k });
    expect(() => c.transmitSync(verifyPin('9999'))).toThrow(CardRemovedError);
    c.powerOn();
    expect(c.triesLeft()).toBe(left);
  });
});

describe('injected status words and latency', () => {
  test('injectSw answers the word without executing the command', () => {
    const c = card('demo');
    c.faults.injectSw({ apdu: 2, sw: 0x6581 });
    expect(tx(c, selectInsured()).sw).toBe(0x9000);
    expect(tx(c, verifyPin('0000'))).toEqual({ data: Buffer.alloc(0), sw: 0x6581 });
    expect(c.triesLeft()).toBe(3);
    c.faults.injectSw({ ins: 0xb0, sw: 0x6f00 });
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(tx(c, '00B0810000').sw).toBe(0x6f00);
    expect(tx(c, '00B0810000').sw).toBe(0x9000);
    expect(c.faults.pending).toBe(0);
  });

  test('latency delays transmit', async () => {
    const c = card('demo');
    c.faults.latencyMs = 30;
    const t0 = process.hrtime.bigint();
    await c.transmit(selectInsured());
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeGreaterThanOrEqual(25);
    c.faults.clear();
    expect(c.faults.latencyMs).toBe(0);
  });

  test('bad fault specifications are refused', () => {
    const c = card('demo');
    expect(() => c.faults.removeAt({ apdu: 0, phase: 'before' })).toThrow(RangeError);
    expect(() => c.faults.tearAt({ step: -1 })).toThrow(RangeError);
    expect(() => c.faults.injectSw({ sw: 0x10000 })).toThrow(RangeError);
  });

  test('extended APDU on a removed card throws; insert + power on brings it back', async () => {
    const c = card('demo');
    c.remove();
    await expect(c.transmit(apduExt(0, 0xb0, 0x81, 0, undefined, 256))).rejects.toBeInstanceOf(CardRemovedError);
    c.insert();
    expect(() => c.transmitSync(selectInsured())).toThrow(/not powered/);
    expect(c.powerOn()).toEqual(c.atr);
    expect(tx(c, selectInsured()).sw).toBe(0x9000);
  });
});
