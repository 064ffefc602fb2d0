import fc from 'fast-check';
import { Nvm } from '../../src/emulator/nvm';
import { buildFileSystem, type RecordEf } from '../../src/emulator/filesystem';
import { apdu, apduExt, authenticateProfessional, card, dispensationTemplate, h, selectInsured, tx, verifyPin } from './helpers';
import type { VirtualCard } from '../../src/emulator/virtual-card';

/**
 * The ring-buffer property: append N records (N may exceed the capacity), read everything back —
 * exactly the newest min(N, capacity) come back, newest first.
 */

function ringFile(capacity: number, length: number): { nvm: Nvm; ef: RecordEf } {
  const nvm = new Nvm();
  const mf = buildFileSystem(
    {
      name: 'MF',
      fid: 0x3f00,
      efs: [
        {
          name: 'RING',
          fid: 1,
          sfi: 1,
          kind: 'cyclic',
          size: length,
          maxRecords: capacity,
          read: 'always',
          update: 'always',
          append: 'always',
        },
      ],
    },
    nvm,
  );
  return { nvm, ef: mf.efs[0] as RecordEf };
}

describe('cyclic file model', () => {
  test('property: after N appends, records 1..min(N, capacity) are the newest, newest first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 150 }), fc.boolean(), (capacity, n, anti) => {
        const { nvm, ef } = ringFile(capacity, 4);
        nvm.antiTearing = anti;
        for (let i = 0; i < n; i++) {
          const w = ef.stageAppend(Buffer.from([i >> 8, i & 0xff]));
          if (w === 'full') throw new Error('a cyclic file is never full');
          nvm.commit(w);
        }
        const kept = Math.min(n, capacity);
        expect(ef.count).toBe(kept);
        for (let k = 1; k <= kept; k++) expect(ef.record(k)!.readUInt16BE(0)).toBe(n - k);
        expect(ef.record(kept + 1)).toBeUndefined();
        expect(ef.record(0)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

function authenticated(name: string): VirtualCard {
  const insured = card(name);
  const pro = card('pharmacist-1');
  tx(insured, selectInsured());
  expect(tx(insured, verifyPin('1234')).sw).toBe(0x9000);
  expect(authenticateProfessional(insured, pro)).toBe(0x9000);
  return insured;
}

/** Reads every record of a file with READ RECORDS "P1 to last", in as few APDUs as the card allows. */
function readAll(c: VirtualCard, sfi: number, recordLength: number, extended: boolean): { records: Buffer[]; apdus: number } {
  const records: Buffer[] = [];
  let apdus = 0;
  for (let p1 = 1; p1 <= 254;) {
    let r = tx(c, extended ? apduExt(0, 0xb2, p1, (sfi << 3) | 5, undefined, 65536) : apdu(0, 0xb2, p1, (sfi << 3) | 5, undefined, 0));
    apdus++;
    if (r.sw === 0x6a83) break;
    // Response chaining: records a next P1 could not name come by GET RESPONSE.
    while ((r.sw & 0xff00) === 0x6100) {
      const more = tx(c, apdu(0, 0xc0, 0, 0, undefined, r.sw & 0xff));
      apdus++;
      r = { data: Buffer.concat([r.data, more.data]), sw: more.sw };
    }
    expect(r.sw).toBe(0x9000);
    for (let o = 0; o < r.data.length; o += recordLength) records.push(r.data.subarray(o, o + recordLength));
    p1 += r.data.length / recordLength;
  }
  return { records, apdus };
}

describe('the dispensations ring on the insured card (400 × 64 bytes)', () => {
  test('property: append N through APDUs, read all: exactly the newest 400, newest first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), (n) => {
        const c = authenticated('demo');
        const before = readAll(c, 6, 64, true).records.map((r) => Buffer.from(r));
        for (let i = 0; i < n; i++) expect(tx(c, apdu(0, 0xe2, 0, 0x30, dispensationTemplate(i))).sw).toBe(0x9000);
        const after = readAll(c, 6, 64, true);
        const expected = [...Array.from({ length: n }, (_, k) => n - 1 - k).map((i) => dispensationTemplate(i)), ...before].slice(0, 400);
        expect(after.records.length).toBe(expected.length);
        after.records.forEach((r, k) =>
          expect(r.subarray(0, expected[k]![1]! + 2)).toEqual(expected[k]!.subarray(0, expected[k]![1]! + 2)),
        );
        expect(after.apdus).toBeLessThanOrEqual(2); // one extended READ RECORDS (+ a 6A83 probe if not full)
      }),
      { numRuns: 12 },
    );
  });

  test('full-rings card: 400 and 40 records, wrapped; short APDUs read 4 records per READ RECORDS', () => {
    const c = card('full-rings');
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    const disp = readAll(c, 6, 64, false);
    // P1 stops at 254: from READ RECORDS P1=253 on, the card chains the rest with 61xx.
    expect(disp.records.length).toBe(400);
    expect(disp.apdus).toBe(400 / 4);
    const rx = readAll(c, 5, 128, true);
    expect(rx.records.length).toBe(40);
    const ef = c.os.mf.dfs[0]!.efByFid(0x0106) as RecordEf;
    expect(ef.head).not.toBe(399); // 437 appends: the head is mid-file
    // Newest first: dates never increase with the record number.
    const dates = disp.records.map((r) => r.subarray(4, 8).toString('hex'));
    for (let i = 1; i < dates.length; i++) expect(dates[i]! <= dates[i - 1]!).toBe(true);
  });

  test('"last to P1" on a full ring starts with the oldest record', () => {
    const c = card('full-rings');
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    const oldestFirst = tx(c, apdu(0, 0xb2, 1, 0x36, undefined, 0));
    const oldest = tx(c, apduExt(0, 0xb2, 1, 0x35, undefined, 65536)).data.subarray(399 * 64);
    expect(oldestFirst.data.subarray(0, 64)).toEqual(oldest);
  });

  test('appending to the full prescriptions ring drops the oldest', () => {
    const c = authenticated('full-rings');
    const before = tx(c, apduExt(0, 0xb2, 1, 0x2d, undefined, 65536)).data;
    expect(before.length).toBe(40 * 128);
    expect(tx(c, apdu(0, 0xe2, 0, 0x28, h('E403800420250701'))).sw).toBe(0x9000);
    const after = tx(c, apduExt(0, 0xb2, 1, 0x2d, undefined, 65536)).data;
    expect(after.length).toBe(40 * 128);
    expect(after.subarray(0, 5)).toEqual(h('E403800420'));
    expect(after.subarray(128)).toEqual(before.subarray(0, 39 * 128));
  });
});

describe('record numbers above 254', () => {
  test('short READ RECORDS from P1 = 253 chains the unreachable rest with 61xx; from 1 it does not', () => {
    const c = card('full-rings', { options: { extendedLength: false } });
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    const first = tx(c, apdu(0, 0xb2, 1, 0x35, undefined, 0));
    expect(first.sw).toBe(0x9000);
    expect(first.data.length).toBe(256);
    const r = tx(c, apdu(0, 0xb2, 253, 0x35, undefined, 0));
    expect(r.data.length).toBe(256);
    expect(r.sw).toBe(0x6100); // 144 records × 64 bytes still available
    const g = tx(c, '00C0000000');
    expect(g.sw).toBe(0x6100);
    expect(tx(c, '00B2013400').sw).toBe(0x9000); // another command drops the rest
    expect(tx(c, '00C0000000').sw).toBe(0x6985);
    expect(tx(c, apdu(0, 0xb2, 255, 0x34, undefined, 0)).sw).toBe(0x6a86);
    // "last to P1" from the oldest: 400..397 fit, 396 and below would need a P1 > 254 → chained.
    const back = tx(c, apdu(0, 0xb2, 1, 0x36, undefined, 0));
    expect(back.sw).toBe(0x6100);
  });
});
