import { type CommandApdu, encodeCommand, fromHex, toHex } from '../../../src/card/apdu';
import { CardChannel } from '../../../src/card/transport/channel';
import { TransportError, type CardTransport } from '../../../src/card/transport/transport';
import type { TraceEvent } from '../../../src/card/transport/trace';
import { readBinary, verify } from '../../../src/card/commands';

/**
 * Processor tests use a scripted card (a test double on purpose: these tests pin the exact bytes
 * the processors put on the wire for answers a real card gives only in rare states). The same
 * processors are exercised against the emulator and the real pcscd in the integration suites.
 */
class ScriptedCard implements CardTransport {
  readonly sent: string[] = [];
  constructor(private readonly answer: (cmd: Buffer, n: number) => string | Promise<string>) {}
  async transmit(cmd: Buffer): Promise<Buffer> {
    this.sent.push(toHex(cmd));
    return fromHex(await this.answer(cmd, this.sent.length - 1));
  }
}

describe('61xx GET RESPONSE', () => {
  test('chains GET RESPONSE with Le = SW2 and the original CLA, concatenating data', async () => {
    const card = new ScriptedCard((_c, n) => ['AAAA 6103', 'BBBBBB 6102', 'CCCC 9000'][n]!);
    const ch = new CardChannel(card);
    const r = await ch.transmit({ cla: 0x80, ins: 0xca, p1: 0x9f, p2: 0x7f, ne: 256 });
    expect(card.sent).toEqual(['80CA9F7F00', '80C0000003', '80C0000002']);
    expect(r.sw).toBe(0x9000);
    expect(toHex(r.data)).toBe('AAAABBBBBBCCCC');
  });

  test('fetches no more than Ne: "61 00" asks for what Ne still allows, and what is left stays on the card', async () => {
    const card = new ScriptedCard((_c, n) => ['AAAA 6103', 'BBBBBB 6100', 'CC'.repeat(251) + '6105'][n]!);
    const ch = new CardChannel(card);
    const r = await ch.transmit({ cla: 0x80, ins: 0xca, p1: 0x9f, p2: 0x7f, ne: 256 });
    // 5 bytes in hand, 251 more allowed; then Ne is reached and the card's 5 remaining bytes are the caller's to fetch.
    expect(card.sent).toEqual(['80CA9F7F00', '80C0000003', '80C00000FB']);
    expect(r.sw).toBe(0x6105);
    expect(r.data.length).toBe(256);
  });

  test('with extended length, one GET RESPONSE asks for all that Ne still allows', async () => {
    const card = new ScriptedCard((_c, n) => ['AA'.repeat(256) + '6100', 'BB'.repeat(1024) + '6100'][n]!);
    const ch = new CardChannel(card, { capabilities: { extendedLength: true, chaining: true } });
    const r = await ch.transmit({ cla: 0, ins: 0xb2, p1: 1, p2: 0x35, ne: 1280 });
    expect(card.sent).toEqual(['00B20135000500', '00C00000000400']);
    expect(r.sw).toBe(0x6100);
    expect(r.data.length).toBe(1280);
  });

  test('is bounded: a card that answers 61xx forever gets a TransportError', async () => {
    const card = new ScriptedCard(() => '00 6101');
    const ch = new CardChannel(card);
    await expect(ch.transmit({ cla: 0, ins: 0xca, p1: 0x9f, p2: 0x7f })).rejects.toThrow(TransportError);
    expect(card.sent.length).toBeLessThan(400);
  });

  test('a final error status after GET RESPONSE is returned with the data so far', async () => {
    const card = new ScriptedCard((_c, n) => ['01 6102', '6A82'][n]!);
    const r = await new CardChannel(card).transmit({ cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 256 });
    expect(r.sw).toBe(0x6a82);
    expect(toHex(r.data)).toBe('01');
  });
});

describe('6Cxx', () => {
  test('re-issues the same command once with Le = SW2', async () => {
    const card = new ScriptedCard((_c, n) => ['6C05', '0102030405 9000'][n]!);
    const r = await new CardChannel(card).transmit({ cla: 0, ins: 0xb2, p1: 1, p2: 0x0c, ne: 256 });
    expect(card.sent).toEqual(['00B2010C00', '00B2010C05']);
    expect(toHex(r.data)).toBe('0102030405');
  });

  test('6C00 means 256 and a second 6Cxx is not looped on', async () => {
    const card = new ScriptedCard(() => '6C00');
    const r = await new CardChannel(card).transmit({ cla: 0, ins: 0xb2, p1: 1, p2: 0x0c, ne: 5 });
    expect(card.sent).toEqual(['00B2010C05', '00B2010C00']);
    expect(r.sw).toBe(0x6c00);
  });

  test('a PIN-bearing command or one without Le is never re-sent on 6Cxx', async () => {
    const card = new ScriptedCard(() => '6C08');
    const ch = new CardChannel(card);
    expect((await ch.transmit({ cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: Buffer.alloc(8), ne: 8 })).sw).toBe(0x6c08);
    expect((await ch.transmit({ cla: 0, ins: 0xe2, p1: 0, p2: 0x30, data: Buffer.alloc(4) })).sw).toBe(0x6c08);
    expect(card.sent).toHaveLength(2);
  });

  test('6Cxx then 61xx: both handled', async () => {
    const card = new ScriptedCard((_c, n) => ['6C02', 'AA 6101', 'BB 9000'][n]!);
    const r = await new CardChannel(card).transmit({ cla: 0, ins: 0xb0, p1: 0, p2: 0, ne: 256 });
    expect(card.sent).toEqual(['00B0000000', '00B0000002', '00C0000001']);
    expect(toHex(r.data)).toBe('AABB');
  });
});

describe('lengths: chaining and extended', () => {
  const cert = Buffer.alloc(600, 0x5a);
  const cmd: CommandApdu = { cla: 0, ins: 0x2a, p1: 0, p2: 0xbe, data: cert };

  test('without extended length, data above 255 bytes goes as a command chain (CLA b5)', async () => {
    const card = new ScriptedCard(() => '9000');
    const r = await new CardChannel(card, { capabilities: { extendedLength: false, chaining: true } }).transmit(cmd);
    expect(r.ok).toBe(true);
    expect(card.sent.map((h) => h.slice(0, 10))).toEqual(['102A00BEFF', '102A00BEFF', '002A00BE5A']);
    expect(card.sent[2]).toBe('002A00BE5A' + '5A'.repeat(90));
    expect(card.sent.reduce((n, h) => n + h.length / 2 - 5, 0)).toBe(600);
  });

  test('a chain stops at the first non-9000 answer', async () => {
    const card = new ScriptedCard((_c, n) => (n === 0 ? '9000' : '6884'));
    const r = await new CardChannel(card).transmit(cmd);
    expect(r.sw).toBe(0x6884);
    expect(card.sent).toHaveLength(2);
  });

  test('with extended length, one extended APDU', async () => {
    const card = new ScriptedCard(() => '9000');
    await new CardChannel(card, { capabilities: { extendedLength: true, chaining: true } }).transmit({ ...cmd, ne: 65536 });
    expect(card.sent).toEqual([toHex(encodeCommand({ ...cmd, ne: 65536 }))]);
    expect(card.sent[0]!.slice(0, 14)).toBe('002A00BE000258');
  });

  test('without extended length, Ne above 256 is lowered to 256', async () => {
    const card = new ScriptedCard(() => '9000');
    await new CardChannel(card).transmit({ cla: 0, ins: 0xb2, p1: 1, p2: 0x35, ne: 65536 });
    expect(card.sent).toEqual(['00B2013500']);
  });

  test('neither chaining nor extended length: a typed error before anything is sent', async () => {
    const card = new ScriptedCard(() => '9000');
    await expect(new CardChannel(card, { capabilities: { extendedLength: false, chaining: false } }).transmit(cmd)).rejects.toMatchObject({
      code: 'data-too-long',
    });
    expect(card.sent).toEqual([]);
  });
});

describe('mutex', () => {
  test('concurrent callers never interleave: each session runs its APDUs back to back', async () => {
    const log: string[] = [];
    const card = new ScriptedCard(async (c) => {
      log.push(toHex(c.subarray(2, 4)));
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      return '9000';
    });
    const ch = new CardChannel(card);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ch.session(async (s) => {
          for (let k = 0; k < 4; k++) await s.transmit({ cla: 0, ins: 0xb0, p1: i, p2: k, ne: 1 });
        }),
      ),
    );
    expect(log).toHaveLength(32);
    for (let j = 0; j < 32; j += 4) {
      const p1s = new Set(log.slice(j, j + 4).map((h) => h.slice(0, 2)));
      expect(p1s.size).toBe(1);
      expect(log.slice(j, j + 4).map((h) => h.slice(2))).toEqual(['00', '01', '02', '03']);
    }
  });

  test('single commands from many callers are serialized and a failure does not jam the lock', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const card = new ScriptedCard(async (_c, n) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      if (n === 3) throw new TransportError('boom', 'link failed');
      return '9000';
    });
    const ch = new CardChannel(card);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => ch.run(readBinary({ sfi: 1 }))));
    expect(maxInFlight).toBe(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
  });
});

describe('trace', () => {
  test('VERIFY data is never shown; other commands are shown whole', async () => {
    const events: TraceEvent[] = [];
    const card = new ScriptedCard((c) => (c[1] === 0x20 ? '63C2' : '0102 9000'));
    const ch = new CardChannel(card, { trace: (e) => events.push(e) });
    const pin = Buffer.from('1234\xff\xff\xff\xff', 'latin1');
    const res = await ch.run(verify(0x81, pin));
    expect(res).toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    await ch.run(readBinary({ sfi: 1, ne: 2 }));
    expect(events.map((e) => e.command)).toEqual(['0020008108' + '**'.repeat(8), '00B0810002']);
    expect(events[1]!.response).toBe('01029000');
    expect(JSON.stringify(events)).not.toContain('31323334');
  });

  test('errors reach the hook too', async () => {
    const events: TraceEvent[] = [];
    const card = new ScriptedCard(() => {
      throw new TransportError('card-removed', 'gone');
    });
    await expect(
      new CardChannel(card, { trace: (e) => events.push(e) }).transmit({ cla: 0, ins: 0x84, p1: 0, p2: 0, ne: 8 }),
    ).rejects.toThrow('gone');
    expect(events[0]!.error!.message).toBe('gone');
  });
});
