import { Mutex } from '../../src/common/mutex';

/** The one mutex of the project (card channel, PC/SC transport, counter service). */

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('callers run one at a time, in the order they called', async () => {
  const m = new Mutex();
  const log: string[] = [];
  let inside = 0;
  const job = (name: string, ms: number) =>
    m.run(async () => {
      inside++;
      expect(inside).toBe(1);
      log.push(`${name}>`);
      await tick(ms);
      log.push(`<${name}`);
      inside--;
      return name;
    });
  // The first sleeps longest: without the lock, the others would finish before it.
  const out = await Promise.all([job('a', 15), job('b', 5), job('c', 0), job('d', 1)]);
  expect(out).toEqual(['a', 'b', 'c', 'd']);
  expect(log).toEqual(['a>', '<a', 'b>', '<b', 'c>', '<c', 'd>', '<d']);
});

test('a failure releases the lock and reaches only its own caller', async () => {
  const m = new Mutex();
  const first = m.run(async () => {
    await tick(2);
    throw new Error('card pulled');
  });
  const syncThrow = m.run(() => {
    throw new Error('thrown before any await');
  });
  const second = m.run(async () => 'next');
  await expect(first).rejects.toThrow('card pulled');
  await expect(syncThrow).rejects.toThrow('thrown before any await');
  await expect(second).resolves.toBe('next');
  expect(m.locked).toBe(false);
});

test('locked says whether a caller is inside', async () => {
  const m = new Mutex();
  expect(m.locked).toBe(false);
  let seen = false;
  const p = m.run(async () => {
    await tick(1);
    seen = m.locked;
  });
  await p;
  expect(seen).toBe(true);
  expect(m.locked).toBe(false);
});
