import * as path from 'node:path';
import { AppendInterruptedError, ChifaCard, ProfessionalCard, type NewDispensation } from '../../../src/card/chifa';
import { InProcessTransport } from '../../../src/emulator/in-process-transport';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import {
  CardResetError,
  listReaders,
  NoCardError,
  PcscTransport,
  ReaderMonitor,
  SharingViolationError,
  type MonitorEvents,
} from '../../../src/card/pcsc';
import { VpcdBridge } from '../../../src/emulator/vpcd';
import { TransportError } from '../../../src/card/transport/transport';
import { describePcsc } from '../../support/pcscd';
import { PORT_0, PORT_1, READER_0, READER_1, restartPcscd, waitForReader } from '../../support/pcscd-sdk';

/**
 * The SDK through the real PC/SC stack: pcscd + vpcd, with emulated cards bridged to the two vpcd
 * readers. Run in band (they share the readers): `npm run test:pcsc`.
 */

const CARDS = path.join(__dirname, '../../../fixtures/cards');
const card = (name: string) => VirtualCard.fromImage(path.join(CARDS, `${name}.json`));

const sale = (invoiceNumber: number): NewDispensation => ({
  date: '2025-07-02',
  pharmacyId: 'DZ16-PH-00001',
  rank: 1,
  productCode: 'N02BE01-08',
  quantity: 1,
  durationDays: 5,
  invoiceNumber,
});

/** Counts APDUs on the wire. */
function counting(t: PcscTransport): PcscTransport & { count: number } {
  const c = Object.create(t) as PcscTransport & { count: number };
  c.count = 0;
  c.transmit = (cmd: Buffer) => {
    c.count++;
    return t.transmit(cmd);
  };
  return c;
}

describePcsc('SDK through pcscd + vpcd', () => {
  const bridges: VpcdBridge[] = [];
  const transports: PcscTransport[] = [];
  const bridge = async (vc: VirtualCard, port = PORT_0, reader = READER_0): Promise<VpcdBridge> => {
    const b = new VpcdBridge(vc, { port, reinsertDelayMs: 600 });
    bridges.push(b);
    b.start();
    await waitForReader(reader, true);
    return b;
  };
  const connect = async (reader = READER_0, options = {}): Promise<PcscTransport> => {
    const t = await PcscTransport.connect(reader, options);
    transports.push(t);
    return t;
  };

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close().catch(() => undefined);
    for (const b of bridges.splice(0)) await b.stop();
    for (const r of [READER_0, READER_1]) await waitForReader(r, false).catch(() => undefined);
  });

  it('lists both readers; a reader without a card answers NoCardError', async () => {
    const readers = await listReaders();
    expect(readers.map((r) => r.name)).toEqual(expect.arrayContaining([READER_0, READER_1]));
    expect(readers.find((r) => r.name === READER_1)!.cardPresent).toBe(false);
    await expect(PcscTransport.connect(READER_1)).rejects.toBeInstanceOf(NoCardError);
  });

  it('reads the whole card through pcscd, the same as in-process, in 11 APDUs', async () => {
    const vc = card('full-rings');
    await bridge(vc);
    const t = counting(await connect());
    expect(t.capabilities).toEqual({ extendedLength: true, chaining: true });
    const r = await (await ChifaCard.open(t)).readAll({ pin: '1234' });
    // SELECT, VERIFY, 3 READ RECORD(S), 2 READ BINARY per transparent file (header, then the rest).
    expect(t.count).toBe(11);
    const local = await (await ChifaCard.open(new InProcessTransport(vc))).readAll({ pin: '1234' });
    expect(r).toEqual(local);
  });

  it('wrong PIN, blocked PIN and the PUK unblock, through pcscd', async () => {
    await bridge(card('demo'));
    const c = await ChifaCard.open(await connect());
    await expect(c.verifyPin('0000')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    await expect(c.pinRetriesLeft()).resolves.toBe(2);
    await expect(c.verifyPin('0001')).resolves.toEqual({ kind: 'wrongPin', retriesLeft: 1 });
    await expect(c.verifyPin('0002')).resolves.toEqual({ kind: 'blocked' });
    await expect(c.readAll({ pin: '1234' })).resolves.toEqual({ kind: 'blocked' });
    await expect(c.unblockPin('12345678', '2580')).resolves.toEqual({ kind: 'ok' });
    const r = await c.readAll({ pin: '2580' });
    expect(r.kind).toBe('ok');
  });

  it('two readers at once: the insured card and the professional card; auth, append, re-read', async () => {
    await bridge(card('demo'), PORT_0, READER_0);
    await bridge(card('pharmacist-1'), PORT_1, READER_1);
    const insured = await ChifaCard.open(await connect(READER_0));
    const pro = await ProfessionalCard.open(await connect(READER_1));
    expect(pro.identity.pharmacyId).toBe('DZ16-PH-00001');
    expect(await insured.verifyPin('1234')).toEqual({ kind: 'ok' });
    expect(await pro.verifyPin('0000')).toEqual({ kind: 'ok' });
    expect(await pro.authenticate(insured)).toEqual({ kind: 'ok' });
    await insured.appendDispensations([sale(7001), sale(7002)]);
    const d = await insured.readDispensations();
    expect(d.slice(0, 2).map((x) => x.invoiceNumber)).toEqual([7002, 7001]);
  });

  it('exclusive means exclusive; a shared card reset by another application: CardResetError, then usable again', async () => {
    await bridge(card('demo'));
    const a = await connect();
    await expect(PcscTransport.connect(READER_0)).rejects.toBeInstanceOf(SharingViolationError);
    await a.close();
    // No transaction upgrade: with another application connected it could not happen.
    const s1 = await connect(READER_0, { share: 'shared', sharedTransactions: 'none' });
    const s2 = await connect(READER_0, { share: 'shared' });
    const c = await ChifaCard.open(s1);
    expect(await c.verifyPin('1234')).toEqual({ kind: 'ok' });
    await s2.close('reset'); // the other application resets the card
    await expect(c.readDispensations()).rejects.toBeInstanceOf(CardResetError);
    // The transport reconnected; the card's state is gone, so open it again.
    const again = await ChifaCard.open(s1);
    await expect(again.pinStatus()).resolves.toEqual({ kind: 'notVerified', retriesLeft: 3 });
  });

  it('shared mode: a transaction waits for the card, then reports the sharing violation', async () => {
    await bridge(card('demo'));
    const s1 = await connect(READER_0, { share: 'shared', transactionWaitMs: 300 });
    const s2 = await connect(READER_0, { share: 'shared' });
    // pcsclite 1.0.1 has no SCardBeginTransaction: a transaction is an exclusive reconnection,
    // which another connected application (even idle) prevents.
    await expect(ChifaCard.open(s1)).rejects.toBeInstanceOf(SharingViolationError);
    await s2.close();
    const c = await ChifaCard.open(s1);
    expect((await c.readAll({ pin: '1234' })).kind).toBe('ok');
  });

  it('card pulled mid-read: a clear error, then a correct re-read once it is back', async () => {
    const vc = card('full-rings');
    await bridge(vc);
    const c = await ChifaCard.open(await connect());
    // Pull the card when the dispensations ring is asked for (the third READ RECORD(S)).
    vc.faults.removeAt({ ins: 0xb2, apdu: 3, phase: 'before' });
    const err = await c.readAll({ pin: '1234' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toMatch(/^(card-removed|card-unresponsive)$/);
    await waitForReader(READER_0, false);
    vc.insert();
    await waitForReader(READER_0, true);
    const again = await (await ChifaCard.open(await connect())).readAll({ pin: '1234' });
    expect(again).toEqual(await (await ChifaCard.open(new InProcessTransport(vc))).readAll({ pin: '1234' }));
  });

  it('card pulled mid-append: AppendInterruptedError, then a re-read shows what the card kept', async () => {
    const insuredCard = card('demo');
    await bridge(insuredCard, PORT_0, READER_0);
    await bridge(card('pharmacist-1'), PORT_1, READER_1);
    const insured = await ChifaCard.open(await connect(READER_0));
    const pro = await ProfessionalCard.open(await connect(READER_1));
    await insured.verifyPin('1234');
    await pro.verifyPin('0000');
    expect((await pro.authenticate(insured)).kind).toBe('ok');
    const before = (await insured.readDispensations()).length;
    // The second APPEND RECORD completes on the card, then the card is pulled before the answer.
    insuredCard.faults.removeAt({ ins: 0xe2, apdu: 2, phase: 'during', commit: true });
    const err = await insured.appendDispensations([sale(8001), sale(8002), sale(8003)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppendInterruptedError);
    expect(err).toMatchObject({ written: 1, total: 3 });
    await waitForReader(READER_0, false);
    insuredCard.insert();
    await waitForReader(READER_0, true);
    const again = await ChifaCard.open(await connect(READER_0));
    const r = await again.readAll({ pin: '1234' });
    if (r.kind !== 'ok') throw new Error(r.kind);
    // The second APPEND ran on the card but its answer was lost: the re-read is the truth.
    expect(r.data.dispensations.length).toBe(before + 2);
    expect(r.data.dispensations.slice(0, 2).map((x) => x.invoiceNumber)).toEqual([8002, 8001]);
  });

  it('the monitor follows insertions, removals, and a pcscd restart mid-session', async () => {
    const monitor = new ReaderMonitor({ retry: { initialMs: 100, maxMs: 500 } });
    const log: string[] = [];
    const events: (keyof MonitorEvents)[] = ['card-inserted', 'card-removed', 'service-lost', 'service-restored'];
    for (const ev of events) monitor.on(ev, ((x?: { reader?: string }) => log.push(`${ev}${x?.reader ? ` ${x.reader}` : ''}`)) as never);
    monitor.start();
    try {
      await monitor.ready();
      const vc = card('demo');
      await bridge(vc);
      await monitor.waitForCard(READER_0, { timeoutMs: 5000 });
      const t = await connect();
      const c = await ChifaCard.open(t);
      await restartPcscd(async () => {
        // While pcscd is down the session fails plainly, and the monitor has said so.
        await expect(c.readDispensations()).rejects.toBeInstanceOf(TransportError);
        for (let i = 0; i < 60 && !log.includes('service-lost'); i++) await new Promise((r) => setTimeout(r, 50));
      });
      const deadline = Date.now() + 10_000;
      while (!(log.includes('service-restored') && log.lastIndexOf(`card-inserted ${READER_0}`) > log.indexOf('service-lost'))) {
        if (Date.now() > deadline) throw new Error(`monitor did not recover: ${log.join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(log.indexOf('service-lost')).toBeGreaterThan(log.indexOf(`card-inserted ${READER_0}`));
      expect(log).toContain(`card-removed ${READER_0}`);
      // A new session works after the restart.
      const fresh = await ChifaCard.open(await connect());
      expect((await fresh.readAll({ pin: '1234' })).kind).toBe('ok');
      // And a plain removal is seen.
      vc.remove();
      for (let i = 0; i < 100 && log[log.length - 1] !== `card-removed ${READER_0}`; i++) await new Promise((r) => setTimeout(r, 50));
      expect(log[log.length - 1]).toBe(`card-removed ${READER_0}`);
    } finally {
      await monitor.close();
    }
  }, 60_000);
});
