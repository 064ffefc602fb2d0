import { RecordList } from '../../../src/card/chifa/files';

/** RecordList: the records of READ RECORD(S) answers, decoded in place, all at once or in shares. */

const records = (size: number, first: number, n: number): Buffer =>
  Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.alloc(size, first + i)));
const view = (bytes: Buffer, record: number, start: number, end: number) => ({ record, first: bytes[start], length: end - start });

describe('RecordList', () => {
  // Answers of 4, 1 and 3 records of 8 bytes: record n is filled with byte n.
  const list = (): RecordList => {
    const l = new RecordList(8);
    l.push(records(8, 1, 4));
    l.push(records(8, 5, 1));
    l.push(records(8, 6, 3));
    return l;
  };
  const all = Array.from({ length: 8 }, (_, i) => ({ record: i + 1, first: i + 1, length: 8 }));

  it('map gives every record once, in order, numbered from 1, across answers', () => {
    expect(list().count).toBe(8);
    expect(list().map(view)).toEqual(all);
  });

  it.each([[1], [2], [3], [5], [8], [20]])('mapNext in shares of %i gives the same as map', (share) => {
    const l = list();
    const out: ReturnType<typeof view>[] = [];
    let rounds = 0;
    while (out.length < l.count) {
      const before = out.length;
      l.mapNext(out, share, view);
      expect(out.length - before).toBe(Math.min(share, l.count - before));
      rounds++;
    }
    expect(out).toEqual(all);
    expect(rounds).toBe(Math.ceil(8 / share));
    l.mapNext(out, share, view);
    expect(out).toHaveLength(8);
  });

  it('truncate drops records past the limit', () => {
    const l = list();
    l.truncate(6);
    expect(l.map(view)).toEqual(all.slice(0, 6));
  });
});
