import { PcscTransport } from '../../../src/card/pcsc/transport';
import { CardResetError, NoCardError, ReaderUnavailableError, SharingViolationError } from '../../../src/card/pcsc/errors';
import { CardRemovedError, TransportTimeoutError } from '../../../src/card/transport/transport';
import { FakeBackend } from './fake-backend';

// 3B 80 80 01 01 with historical bytes 80 73 00 00 C0: compact-TLV tag 7 (card capabilities),
// third byte C0 = chaining + extended length. T=0 and T=1 offered.
const ATR_EXT = Buffer.from('3B858001807300 00C0'.replace(/ /g, ''), 'hex');
function withTck(atr: Buffer): Buffer {
  let x = 0;
  for (let i = 1; i < atr.length; i++) x ^= atr[i]!;
  return Buffer.concat([atr, Buffer.from([x])]);
}

const echo = (cmd: Buffer): Buffer => Buffer.concat([cmd.subarray(0, 2), Buffer.from([0x90, 0x00])]);

describe('PcscTransport', () => {
  let fake: FakeBackend;
  beforeEach(() => {
    fake = new FakeBackend();
    fake.addReader('R0');
  });

  it('connects exclusively by default, transmits, and reads capabilities from the ATR', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake });
    expect(fake.connects).toEqual([{ reader: 'R0', share: 'exclusive' }]);
    expect(t.protocol).toBe('T1');
    expect(t.capabilities).toEqual({ extendedLength: true, chaining: true });
    expect((await t.transmit(Buffer.from('00A40400', 'hex'))).toString('hex')).toBe('00a49000');
    await t.close();
    await t.close();
    expect(fake.disconnects).toEqual(['leave']);
  });

  it('rejects with NoCardError / ReaderUnavailableError / SharingViolationError', async () => {
    await expect(PcscTransport.connect('R0', { backend: fake })).rejects.toBeInstanceOf(NoCardError);
    await expect(PcscTransport.connect('nope', { backend: fake })).rejects.toBeInstanceOf(ReaderUnavailableError);
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    fake.setForeignExclusive('R0', true);
    const err = await PcscTransport.connect('R0', { backend: fake }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SharingViolationError);
    expect((err as SharingViolationError).code).toBe('sharing-violation');
  });

  it('a card pulled mid-session gives CardRemovedError until reconnect() after reinsertion', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake });
    fake.removeCard('R0');
    await expect(t.transmit(Buffer.from('00B00000', 'hex'))).rejects.toBeInstanceOf(CardRemovedError);
    await expect(t.transmit(Buffer.from('00B00000', 'hex'))).rejects.toMatchObject({ code: 'card-removed' });
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    await t.reconnect();
    expect((await t.transmit(Buffer.from('00B00000', 'hex'))).toString('hex')).toBe('00b09000');
    await t.close();
  });

  it('a card reset by another application: CardResetError once, then the transport works again', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    fake.resetCard('R0');
    await expect(t.transmit(Buffer.from('00B00000', 'hex'))).rejects.toBeInstanceOf(CardResetError);
    expect((await t.transmit(Buffer.from('00B00000', 'hex'))).toString('hex')).toBe('00b09000');
    await t.close();
  });

  it('shared mode: transaction() holds the card exclusively for its duration', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    await t.transaction(async () => {
      await t.transmit(Buffer.from('00200081', 'hex'));
      await t.transaction(async () => t.transmit(Buffer.from('00B00000', 'hex')));
    });
    await t.transmit(Buffer.from('00B20000', 'hex'));
    expect(fake.connects.map((c) => c.share)).toEqual(['shared', 'exclusive', 'shared']);
    expect(fake.transmits.map((x) => x.share)).toEqual(['exclusive', 'exclusive', 'shared']);
    // The card is left powered between the connections: its state survives.
    expect(fake.disconnects).toEqual(['leave', 'leave']);
    await t.close();
  });

  it('shared mode: concurrent transactions take turns', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    const order: string[] = [];
    const tx = (name: string) =>
      t.transaction(async () => {
        order.push(`${name} start`);
        await t.transmit(Buffer.from('00B00000', 'hex'));
        order.push(`${name} end`);
      });
    await Promise.all([tx('a'), tx('b')]);
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end']);
    expect(fake.connects.map((c) => c.share)).toEqual(['shared', 'exclusive', 'shared', 'exclusive', 'shared']);
    await t.close();
  });

  it('shared mode: a transaction waits for another application, then gives up with SharingViolationError', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, share: 'shared', transactionWaitMs: 150 });
    const other = await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    await expect(t.transaction(async () => 1)).rejects.toBeInstanceOf(SharingViolationError);
    // Still usable in shared mode afterwards.
    expect((await t.transmit(Buffer.from('00B00000', 'hex'))).toString('hex')).toBe('00b09000');
    // Once the other lets go within the wait, the transaction proceeds.
    setTimeout(() => void other.close(), 30);
    const t2 = await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    await t.close();
    await expect(t2.transaction(async () => 'done')).resolves.toBe('done');
    await t2.close();
  });

  it("shared mode with sharedTransactions 'none': no exclusive reconnection", async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, share: 'shared', sharedTransactions: 'none' });
    await PcscTransport.connect('R0', { backend: fake, share: 'shared' });
    await expect(t.transaction(async () => t.transmit(Buffer.from('00B00000', 'hex')))).resolves.toBeDefined();
    expect(fake.connects.map((c) => c.share)).toEqual(['shared', 'shared']);
    await t.close();
  });

  it('a card that does not answer gives TransportTimeoutError', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake, timeoutMs: 30 });
    fake.hang = true;
    await expect(t.transmit(Buffer.from('00B00000', 'hex'))).rejects.toBeInstanceOf(TransportTimeoutError);
    await t.close();
  });

  it('under T=0 extended length is not offered even if the ATR says so', async () => {
    fake.insertCard('R0', withTck(ATR_EXT), echo);
    const t = await PcscTransport.connect('R0', { backend: fake });
    Object.defineProperty(t, 'protocol', { get: () => 'T0' });
    expect(t.capabilities).toEqual({ extendedLength: false, chaining: true });
    await t.close();
  });
});
