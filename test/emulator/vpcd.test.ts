import * as net from 'node:net';
import { FrameReader, frame, VpcdBridge, vpcdReaderName } from '../../src/emulator/vpcd';
import { TIMING_PROFILES } from '../../src/emulator/timing-profile';
import { card, hex, selectInsured, verifyPin } from './helpers';

/**
 * The vpcd bridge against a fake vpcd (a TCP server speaking the same framing on 127.0.0.1): the
 * real pcscd + vpcd run in test/emulator/through-pcscd.pcscd.test.ts.
 */

interface FakeVpcd {
  server: net.Server;
  port: number;
  connections: net.Socket[];
  next(): Promise<net.Socket>;
  close(): Promise<void>;
}

async function fakeVpcd(port = 0): Promise<FakeVpcd> {
  const connections: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  const server = net.createServer((s) => {
    connections.push(s);
    const w = waiting.shift();
    if (w) w(s);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const actual = (server.address() as net.AddressInfo).port;
  let seen = 0;
  return {
    server,
    port: actual,
    connections,
    next: () =>
      new Promise((resolve) => {
        if (connections.length > seen) resolve(connections[seen++]!);
        else
          waiting.push((s) => {
            seen++;
            resolve(s);
          });
      }),
    close: () =>
      new Promise<void>((r) => {
        for (const c of connections) c.destroy();
        server.close(() => r());
      }),
  };
}

/** Sends a payload the way vpcd 3.3 does: length and payload in two writes. */
function send(s: net.Socket, payload: Buffer): void {
  const f = frame(payload);
  s.write(f.subarray(0, 2));
  s.write(f.subarray(2));
}

function reply(s: net.Socket): Promise<Buffer> {
  const reader = new FrameReader();
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      const frames = reader.push(chunk);
      if (frames.length) {
        s.off('data', onData);
        resolve(frames[0]!);
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error('closed')));
  });
}

const closed = (s: net.Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('vpcd framing', () => {
  test('frames split anywhere are reassembled', () => {
    const r = new FrameReader();
    const bytes = Buffer.concat([frame(Buffer.from([4])), frame(Buffer.from('00A4040C', 'hex')), frame(Buffer.alloc(0))]);
    const out: Buffer[] = [];
    for (const b of bytes) out.push(...r.push(Buffer.from([b])));
    expect(out.map(hex)).toEqual(['04', '00A4040C', '']);
  });

  test('reader names', () => {
    expect(vpcdReaderName(35963)).toBe('Virtual PCD 00 00');
    expect(vpcdReaderName(35964)).toBe('Virtual PCD 00 01');
  });
});

describe('VpcdBridge', () => {
  let vpcd: FakeVpcd;
  let bridge: VpcdBridge | undefined;
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await vpcd.close();
  });

  test('ATR, power, APDUs; removal closes the connection, insertion opens a new one', async () => {
    vpcd = await fakeVpcd();
    const c = card('demo');
    const lines: string[] = [];
    bridge = new VpcdBridge(c, { port: vpcd.port, reinsertDelayMs: 20, log: (l) => lines.push(l) });
    bridge.start();
    const s = await vpcd.next();
    send(s, Buffer.from([0x01]));
    send(s, Buffer.from([0x04]));
    expect(await reply(s)).toEqual(c.atr);
    send(s, selectInsured());
    expect(hex(await reply(s))).toBe('9000');
    send(s, verifyPin('1234'));
    expect(hex(await reply(s))).toBe('9000');
    send(s, Buffer.from('00B0830004', 'hex'));
    expect((await reply(s)).length).toBe(6);
    send(s, Buffer.from([0x02])); // reset: the PIN state goes
    send(s, selectInsured());
    expect(hex(await reply(s))).toBe('9000');
    send(s, Buffer.from('00B0830004', 'hex'));
    expect(hex(await reply(s))).toBe('6982');
    c.remove();
    await closed(s);
    expect(lines.some((l) => /card removed/.test(l))).toBe(true);
    c.insert();
    const s2 = await vpcd.next();
    send(s2, Buffer.from([0x04]));
    expect(await reply(s2)).toEqual(c.atr);
    expect(lines[0]).toMatch(/card inserted in vpcd on port|Virtual PCD/);
  });

  test('a card removed right after a command still delivers its response', async () => {
    vpcd = await fakeVpcd();
    const c = card('demo');
    bridge = new VpcdBridge(c, { port: vpcd.port, reinsertDelayMs: 20 });
    bridge.start();
    const s = await vpcd.next();
    c.faults.removeAt({ apdu: 1, phase: 'after' });
    send(s, selectInsured());
    expect(hex(await reply(s))).toBe('9000');
    await closed(s);
    expect(c.inserted).toBe(false);
  });

  test('a card removed during a command answers nothing and leaves', async () => {
    vpcd = await fakeVpcd();
    const c = card('demo');
    bridge = new VpcdBridge(c, { port: vpcd.port, reinsertDelayMs: 20 });
    bridge.start();
    const s = await vpcd.next();
    c.faults.removeAt({ apdu: 1, phase: 'during' });
    send(s, selectInsured());
    await expect(reply(s)).rejects.toThrow('closed');
  });

  test('a tear drops the connection and comes back; the card is powered on again', async () => {
    vpcd = await fakeVpcd();
    const c = card('demo');
    bridge = new VpcdBridge(c, { port: vpcd.port, reinsertDelayMs: 20 });
    bridge.start();
    const s = await vpcd.next();
    send(s, selectInsured());
    expect(hex(await reply(s))).toBe('9000');
    c.faults.tearAt({ ins: 0x20, step: 2 }); // the decrement is committed
    send(s, verifyPin('1234'));
    await expect(reply(s)).rejects.toThrow('closed');
    const s2 = await vpcd.next();
    send(s2, Buffer.from([0x01]));
    send(s2, selectInsured());
    expect(hex(await reply(s2))).toBe('9000');
    send(s2, Buffer.from('00200081', 'hex'));
    expect(hex(await reply(s2))).toBe('63C2');
  });

  test('retries until vpcd listens', async () => {
    const probe = await fakeVpcd();
    const port = probe.port;
    await probe.close();
    const c = card('demo');
    bridge = new VpcdBridge(c, { port, retryMs: 20, maxRetryMs: 50 });
    bridge.start();
    await new Promise((r) => setTimeout(r, 120));
    expect(bridge.connected).toBe(false);
    vpcd = await fakeVpcd(port);
    const s = await vpcd.next();
    send(s, Buffer.from([0x04]));
    expect(await reply(s)).toEqual(c.atr);
  });

  test('reconnects when vpcd goes away and comes back', async () => {
    vpcd = await fakeVpcd();
    const port = vpcd.port;
    const c = card('demo');
    bridge = new VpcdBridge(c, { port, retryMs: 20, maxRetryMs: 50 });
    bridge.start();
    await vpcd.next();
    await vpcd.close();
    vpcd = await fakeVpcd(port);
    const s = await vpcd.next();
    send(s, Buffer.from([0x04]));
    expect(await reply(s)).toEqual(c.atr);
  });

  test('with a timing profile the answer leaves after its modelled time, and the ATR offers TA1', async () => {
    vpcd = await fakeVpcd();
    const slow = { ...TIMING_PROFILES.typical, name: 'slow', card: { ...TIMING_PROFILES.typical.card, commandMs: 60 } };
    const c = card('demo', { timing: slow });
    bridge = new VpcdBridge(c, { port: vpcd.port });
    bridge.start();
    const s = await vpcd.next();
    send(s, Buffer.from([0x04]));
    const atr = await reply(s);
    expect(hex(atr.subarray(0, 3))).toBe('3B9818');
    const start = performance.now();
    send(s, selectInsured());
    expect(hex(await reply(s))).toBe('9000');
    expect(performance.now() - start).toBeGreaterThanOrEqual(60);
  });
});
