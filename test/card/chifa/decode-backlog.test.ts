import { DecodeBacklog } from '../../../src/card/chifa/decode-backlog';
import { RecordList } from '../../../src/card/chifa/files';

/** DecodeBacklog: decoding shared out over the reads in flight. */

const list = (n: number, first = 1): RecordList => {
  const l = new RecordList(4);
  l.push(Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.alloc(4, first + i))));
  return l;
};

describe('DecodeBacklog', () => {
  it('decodes 1/windows of what is left per read in flight, in queue order, and the rest at finish', async () => {
    const seen: string[] = [];
    const work = new DecodeBacklog();
    const a = work.records(list(10), (b, record, start) => (seen.push(`a${record}`), b[start]));
    await work.during(Promise.resolve(), 4); // 10 left: 3
    expect(seen).toEqual(['a1', 'a2', 'a3']);
    const b = work.records(list(2, 50), (bytes, record, start) => (seen.push(`b${record}`), bytes[start]));
    await work.during(Promise.resolve(), 3); // 9 left: 3
    await work.during(Promise.resolve(), 2); // 6 left: 3
    expect(seen).toHaveLength(9);
    expect(a).toHaveLength(9);
    expect(b).toHaveLength(0);
    work.finish();
    expect(a).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(b).toEqual([50, 51]);
    expect(seen.slice(-3)).toEqual(['a10', 'b1', 'b2']);
  });

  it('a decode error waits for the read in flight to settle, then is thrown instead of its failure', async () => {
    const work = new DecodeBacklog();
    work.records(list(3), (_b, record) => {
      if (record === 2) throw new Error('bad record 2');
      return record;
    });
    let settle!: () => void;
    const next = new Promise<void>((_, reject) => (settle = () => reject(new Error('card removed'))));
    let done = false;
    const p = work.during(next, 1).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    settle();
    await expect(p).rejects.toThrow('bad record 2');
  });
});
