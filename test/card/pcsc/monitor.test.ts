import { ReaderMonitor, type MonitorEvents } from '../../../src/card/pcsc/monitor';
import { loadPcsclite, PcscliteBackend } from '../../../src/card/pcsc/binding';
import { PcscUnavailableError } from '../../../src/card/pcsc/errors';
import { FakeBackend, settle } from './fake-backend';

const ATR_A = Buffer.from('3B8080010101', 'hex');
const ATR_B = Buffer.from('3B80800102', 'hex');

type Logged = string;

function record(m: ReaderMonitor): Logged[] {
  const log: Logged[] = [];
  const events: (keyof MonitorEvents)[] = [
    'reader-attached',
    'reader-detached',
    'card-inserted',
    'card-removed',
    'service-lost',
    'service-restored',
  ];
  for (const ev of events) {
    m.on(ev, ((x?: unknown) => {
      if (typeof x === 'string') log.push(`${ev} ${x}`);
      else if (x && typeof x === 'object' && 'reader' in x) {
        const e = x as { reader: string; atr?: Buffer };
        log.push(`${ev} ${e.reader}${e.atr ? ` ${e.atr.toString('hex')}` : ''}`);
      } else if (x && typeof x === 'object' && 'error' in x) log.push(`${ev} ${(x as { error: { code: string } }).error.code}`);
      else log.push(ev);
    }) as never);
  }
  return log;
}

describe('ReaderMonitor', () => {
  let fake: FakeBackend;
  let monitor: ReaderMonitor;
  beforeEach(() => {
    fake = new FakeBackend();
  });
  afterEach(async () => {
    await monitor?.close();
  });

  it('reports readers and cards already present at start-up, then ready() has the whole picture', async () => {
    fake.addReader('R0');
    fake.addReader('R1');
    fake.insertCard('R0', ATR_A);
    monitor = new ReaderMonitor({ backend: fake });
    const log = record(monitor);
    monitor.start();
    await monitor.ready();
    expect(log).toEqual(['reader-attached R0', 'reader-attached R1', `card-inserted R0 ${ATR_A.toString('hex')}`]);
    expect(monitor.readers().map((r) => [r.name, r.cardPresent, r.atr?.toString('hex')])).toEqual([
      ['R0', true, ATR_A.toString('hex')],
      ['R1', false, undefined],
    ]);
    expect(monitor.serviceAvailable).toBe(true);
  });

  it('follows insertions and removals, and a card swapped between two polls', async () => {
    fake.addReader('R0');
    monitor = new ReaderMonitor({ backend: fake });
    const log = record(monitor);
    monitor.start();
    await monitor.ready();
    fake.insertCard('R0', ATR_A);
    await settle();
    fake.removeCard('R0');
    await settle();
    fake.insertCard('R0', ATR_A);
    await settle();
    // Pull and insert another card faster than the reader reports: one status with a new
    // event counter and another ATR.
    const r = fake.readers.get('R0')!;
    r.card = { atr: ATR_B, respond: () => Buffer.from([0x90, 0]), resets: 0 };
    r.events += 2;
    (fake as unknown as { notifyReader(x: unknown): void }).notifyReader(r);
    await settle();
    // Same ATR (every Chifa card has the same one), event counter moved by two: another card.
    r.events += 2;
    (fake as unknown as { notifyReader(x: unknown): void }).notifyReader(r);
    await settle();
    // A status with nothing new (e.g. the card now in use) is not an event.
    (fake as unknown as { notifyReader(x: unknown): void }).notifyReader(r);
    await settle();
    expect(log.slice(1)).toEqual([
      `card-inserted R0 ${ATR_A.toString('hex')}`,
      'card-removed R0',
      `card-inserted R0 ${ATR_A.toString('hex')}`,
      'card-removed R0',
      `card-inserted R0 ${ATR_B.toString('hex')}`,
      'card-removed R0',
      `card-inserted R0 ${ATR_B.toString('hex')}`,
    ]);
  });

  it('sees a replugged reader again, with its card', async () => {
    fake.addReader('R0');
    fake.insertCard('R0', ATR_A);
    monitor = new ReaderMonitor({ backend: fake });
    const log = record(monitor);
    monitor.start();
    await monitor.ready();
    fake.removeReader('R0');
    await settle();
    fake.addReader('R0');
    fake.insertCard('R0', ATR_B);
    await settle();
    expect(log).toEqual([
      'reader-attached R0',
      `card-inserted R0 ${ATR_A.toString('hex')}`,
      'card-removed R0',
      'reader-detached R0',
      'reader-attached R0',
      `card-inserted R0 ${ATR_B.toString('hex')}`,
    ]);
  });

  it('watches a reader again when its watch ends while it is still listed', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      fake.addReader('R0');
      monitor = new ReaderMonitor({ backend: fake, retry: { initialMs: 100, maxMs: 1000 } });
      const log = record(monitor);
      monitor.start();
      await settle();
      fake.dropWatches('R0');
      await settle();
      expect(fake.watches.size).toBe(0);
      await jest.advanceTimersByTimeAsync(150);
      await settle();
      expect(fake.watches.size).toBe(1);
      fake.insertCard('R0', ATR_A);
      await settle();
      expect(log).toEqual(['reader-attached R0', `card-inserted R0 ${ATR_A.toString('hex')}`]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('without pcscd: says so once, retries with backoff (no busy loop), and reports the service when it comes', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      fake.serviceUp = false;
      monitor = new ReaderMonitor({ backend: fake, retry: { initialMs: 250, maxMs: 5000 } });
      const log = record(monitor);
      monitor.start();
      await monitor.ready(); // resolves: the service is known to be absent
      expect(monitor.serviceAvailable).toBe(false);
      await jest.advanceTimersByTimeAsync(60_000);
      // 250, 500, 1000, 2000, 4000, then every 5 s: about 16 attempts in a minute, not thousands.
      expect(fake.establishCalls).toBeGreaterThanOrEqual(10);
      expect(fake.establishCalls).toBeLessThanOrEqual(20);
      expect(log).toEqual(['service-lost no-service']);
      fake.startService();
      fake.addReader('R0');
      fake.insertCard('R0', ATR_A);
      await jest.advanceTimersByTimeAsync(5000);
      await settle();
      expect(log).toEqual([
        'service-lost no-service',
        'service-restored',
        'reader-attached R0',
        `card-inserted R0 ${ATR_A.toString('hex')}`,
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('pcscd stopping mid-session: service-lost, readers and cards gone; then restored and rescanned', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      fake.addReader('R0');
      fake.addReader('R1');
      fake.insertCard('R0', ATR_A);
      monitor = new ReaderMonitor({ backend: fake, retry: { initialMs: 200, maxMs: 2000 } });
      const log = record(monitor);
      monitor.start();
      await monitor.ready();
      log.length = 0;
      fake.stopService();
      await settle();
      expect(log).toEqual(['service-lost no-service', 'card-removed R0', 'reader-detached R0', 'reader-detached R1']);
      expect(fake.openResources).toBe(0);
      log.length = 0;
      await jest.advanceTimersByTimeAsync(1000);
      fake.startService();
      await jest.advanceTimersByTimeAsync(2000);
      await settle();
      expect(log).toEqual(['service-restored', 'reader-attached R0', 'reader-attached R1', `card-inserted R0 ${ATR_A.toString('hex')}`]);
      expect(
        monitor
          .readers()
          .filter((r) => r.cardPresent)
          .map((r) => r.name),
      ).toEqual(['R0']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('close() releases every context, watch and timer', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      fake.addReader('R0');
      monitor = new ReaderMonitor({ backend: fake });
      monitor.start();
      await monitor.ready();
      expect(fake.openResources).toBe(2);
      await monitor.close();
      expect(fake.openResources).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
      // Closed while the service is absent: the retry timer goes too.
      fake.serviceUp = false;
      const m2 = new ReaderMonitor({ backend: fake });
      m2.start();
      expect(jest.getTimerCount()).toBeGreaterThan(0);
      await m2.close();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('waitForCard resolves on an insertion in the named reader', async () => {
    fake.addReader('R0');
    fake.addReader('R1');
    monitor = new ReaderMonitor({ backend: fake });
    monitor.start();
    await monitor.ready();
    const waiting = monitor.waitForCard('R1', { timeoutMs: 5000 });
    fake.insertCard('R0', ATR_A);
    fake.insertCard('R1', ATR_B);
    await expect(waiting).resolves.toEqual({ reader: 'R1', atr: ATR_B });
    await expect(monitor.waitForCard('R0')).resolves.toEqual({ reader: 'R0', atr: ATR_A });
  });

  it('without the native module: start() throws pcsc-unavailable saying what to install', () => {
    // The real loader, asked for a module that is not installed (as on a machine where the
    // optional dependency did not build).
    const backend = new PcscliteBackend(() => loadPcsclite('pcsclite-not-installed'));
    monitor = new ReaderMonitor({ backend });
    let caught: unknown;
    try {
      monitor.start();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PcscUnavailableError);
    expect((caught as PcscUnavailableError).code).toBe('pcsc-unavailable');
    expect((caught as Error).message).toMatch(
      /^PC\/SC support needs the optional native module pcsclite: apt-get install libpcsclite-dev pcscd, then npm rebuild pcsclite, or npm install pcsclite@1\.0\.1 if it is not in node_modules \(Cannot find module 'pcsclite-not-installed'/,
    );
  });
});
