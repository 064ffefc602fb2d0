import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChifaCard, DEFAULT_CHUNK, type Dispensation } from '../../../src/card';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { InvalidInputError } from '../../../src/common/errors';
import { CARDS, CountingTransport, virtualCard } from './helpers';

/**
 * Reading the rings newest first, a chunk at a time, and stopping once older records no longer
 * matter — over the emulator, with the APDUs counted. The full-rings card holds 400
 * dispensations (records 255..400 reachable only through the card's chained answer, P1 being one
 * byte) and 40 prescriptions.
 */

const PIN = '1234';
const INS_READ_RECORD = 0xb2;
const INS_GET_RESPONSE = 0xc0;

async function opened(extendedLength: boolean): Promise<{ card: ChifaCard; t: CountingTransport }> {
  const t = new CountingTransport(virtualCard('full-rings', { options: { extendedLength } }));
  const card = await ChifaCard.open(t);
  expect(await card.verifyPin(PIN)).toEqual({ kind: 'ok' });
  return { card, t };
}

let full: readonly Dispensation[];
beforeAll(async () => {
  const { card } = await opened(true);
  const r = await card.readAll();
  if (r.kind !== 'ok') throw new Error(r.kind);
  full = r.data.dispensations;
  expect(full).toHaveLength(400);
});

describe.each([
  ['extended length', true],
  ['short APDUs', false],
])('with %s', (_name, extended) => {
  test('the iterator yields the records of the full read, in the same order (newest first)', async () => {
    const { card, t } = await opened(extended);
    const before = t.count;
    const got: Dispensation[] = [];
    for await (const d of card.dispensations({ chunk: 20 })) got.push(d);
    expect(got).toEqual(full);
    const dates = got.map((d) => d.date);
    expect([...dates].sort().reverse()).toEqual(dates);
    // Extended: one APDU per chunk of 20 — READ RECORD(S) from P1 = 1, 21, …, 241 (that one
    // chains the rest: 261 cannot be named), then GET RESPONSE, 20 records at a time.
    // Short: 4 records per APDU, as the full read.
    expect(t.count - before).toBe(extended ? 20 : 100);
    if (extended) {
      expect(t.commands.slice(before).filter((c) => c[1] === INS_READ_RECORD)).toHaveLength(13);
      expect(t.countIns(INS_GET_RESPONSE)).toBe(7);
    }
  });

  test('until: stops at the first record that no longer matters, and reads no further', async () => {
    const { card, t } = await opened(extended);
    const before = t.count;
    const stopAt = full[19]!; // the 20th newest
    const got = await card.readDispensations({ until: (d) => d.invoiceNumber === stopAt.invoiceNumber, chunk: 8 });
    expect(got).toEqual(full.slice(0, 19));
    // Extended: 3 APDUs of 8 records (Le 512). Short: 256 bytes each, 4 records: 5 APDUs.
    const sent = t.commands.slice(before);
    if (extended) expect(sent.map((c) => c.toString('hex').toUpperCase())).toEqual(['00B20135000200', '00B20935000200', '00B21135000200']);
    else expect(sent).toHaveLength(5);
  });

  test('reads on as far as needed: a record that matches at position 399 is found', async () => {
    const { card } = await opened(extended);
    const target = full[398]!;
    const got = await card.readDispensations({ until: (d) => d.invoiceNumber < target.invoiceNumber });
    expect(got).toHaveLength(399);
    expect(got[398]).toEqual(target);
    expect(got).toEqual(full.slice(0, 399));
    // Searching with the iterator finds it too, and stops there.
    const { card: card2, t: t2 } = await opened(extended);
    const before = t2.count;
    let position = 0;
    let found: Dispensation | undefined;
    for await (const d of card2.dispensations()) {
      position++;
      if (d.invoiceNumber === target.invoiceNumber) {
        found = d;
        break;
      }
    }
    expect(found).toEqual(target);
    expect(position).toBe(399);
    // Chunks of DEFAULT_CHUNK (8): 399 is in the 50th; short APDUs carry 4 records each.
    expect(DEFAULT_CHUNK).toBe(8);
    expect(t2.count - before).toBe(extended ? 50 : 100);
  });

  test('since: only the records dated on or after the day', async () => {
    const { card, t } = await opened(extended);
    const since = full[30]!.date;
    const expected = full.slice(
      0,
      full.findIndex((d) => d.date < since),
    );
    expect(expected.length).toBeGreaterThan(30);
    const before = t.count;
    expect(await card.readDispensations({ since })).toEqual(expected);
    // The first older record is in chunk floor(n / 8) + 1.
    if (extended) expect(t.count - before).toBe(Math.floor(expected.length / 8) + 1);
  });

  test('another command between two chunks drops the card chained answer: the reader finds its place again', async () => {
    const { card, t } = await opened(extended);
    const got: Dispensation[] = [];
    for await (const d of card.dispensations({ chunk: 20 })) {
      got.push(d);
      // Inside the chained part (past record 260), ask the card something else.
      if (got.length === 300) expect(await card.pinStatus()).toEqual({ kind: 'verified' });
    }
    expect(got).toEqual(full);
    // GET RESPONSE found nothing pending (6985), so the reader asked again from record 254.
    expect(t.responses.some((r) => r.equals(Buffer.from('6985', 'hex')))).toBe(true);
    expect(t.commands.filter((c) => c[1] === INS_READ_RECORD && c[2] === 254).length).toBeGreaterThan(0);
  });
});

test('from: goes on where an earlier read stopped, also past the record P1 can name', async () => {
  const { card } = await opened(true);
  for (const from of [1, 150, 254, 300, 400]) {
    const got: Dispensation[] = [];
    for await (const d of card.dispensations({ chunk: 8, from })) got.push(d);
    expect({ from, got }).toEqual({ from, got: full.slice(from - 1) });
  }
  const none: Dispensation[] = [];
  for await (const d of card.dispensations({ from: 401 })) none.push(d);
  expect(none).toEqual([]);
  await expect(card.dispensations({ from: 0 }).next()).rejects.toMatchObject({ code: 'invalid-input', field: 'from' });
  await expect(card.prescriptions({ from: 42 }).next()).rejects.toMatchObject({ field: 'from' });
});

test('prescriptions: the same reads', async () => {
  const { card } = await opened(true);
  const r = await card.readAll();
  if (r.kind !== 'ok') throw new Error(r.kind);
  const got = [];
  for await (const p of card.prescriptions({ chunk: 3 })) got.push(p);
  expect(got).toEqual(r.data.prescriptions);
  const since = r.data.prescriptions[5]!.date;
  expect(await card.readPrescriptions({ since })).toEqual(r.data.prescriptions.filter((p) => p.date >= since));
});

test('bad options are InvalidInputError naming the field', async () => {
  const { card } = await opened(true);
  await expect(card.readDispensations({ since: '30/06/2025' })).rejects.toMatchObject({ code: 'invalid-input', field: 'since' });
  await expect(card.readDispensations({ since: '2025-06-30', chunk: 0 })).rejects.toThrow(InvalidInputError);
  await expect(card.dispensations({ chunk: 1.5 }).next()).rejects.toMatchObject({ field: 'chunk' });
});

test('transparent files are read no further than their template: the header, then exactly the rest', async () => {
  const t = new CountingTransport(virtualCard('demo'));
  const card = await ChifaCard.open(t);
  // SELECT, READ BINARY SFI 1 Le 4 (E0 5A …: 0x5A + 2 = 92 bytes), READ BINARY at offset 4 Le 88.
  expect(t.commands.slice(1).map((c) => c.toString('hex').toUpperCase())).toEqual(['00B0810004', '00B0000458']);
  expect(t.responses.slice(1).map((r) => r.length - 2)).toEqual([4, 88]);
  expect(card.holder.lastName).toBe('BENALI');
});

test('a ring holding more records than P1 can name but not full (300 of 400) reads whole, short APDUs or extended', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(CARDS, 'full-rings.json'), 'utf8')) as { generate: { dispensations: number } };
  json.generate.dispensations = 300;
  const read = async (extendedLength: boolean): Promise<readonly Dispensation[]> => {
    const vc = VirtualCard.fromImageObject(json, CARDS, { options: { extendedLength } }, 'ring-300');
    const r = await (await ChifaCard.open(new CountingTransport(vc))).readAll({ pin: PIN });
    if (r.kind !== 'ok') throw new Error(r.kind);
    return r.data.dispensations;
  };
  const short = await read(false);
  expect(short).toHaveLength(300);
  expect(short).toEqual(await read(true));
});
