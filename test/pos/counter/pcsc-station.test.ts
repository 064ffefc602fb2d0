import * as path from 'node:path';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { CounterJournal, journalPath } from '../../../src/pos/counter/journal';
import { openStation } from '../../../src/pos/counter/open-station';
import { PcscStation } from '../../../src/pos/counter/pcsc-station';
import { CounterService } from '../../../src/pos/counter/service';
import { packageRoot } from '../../../src/common/paths';
import { loadRules } from '../../../src/billing/rules/load';
import { FakeBackend, settle } from '../../card/pcsc/fake-backend';
import { captureLogger, NOW, THREE_LINES, tmpDir } from './harness';

/**
 * The PC/SC card station over the PC/SC seam with a scripted PC/SC stack (readers, insertions,
 * pcscd stopping) in front of real emulated cards: reader roles are detected from the cards, a
 * checkout goes through, a pulled card ends the session, a stopped pcscd is a 503-class error,
 * and the start-up choice falls back to the demo cards when there is no reader.
 */

const CARDS = path.join(packageRoot(), 'fixtures', 'cards');
const READER_A = 'ACS ACR39U ICC Reader 00 00';
const READER_B = 'ACS ACR39U ICC Reader 01 00';

function plug(backend: FakeBackend, reader: string, card: VirtualCard): void {
  card.insert();
  backend.insertCard(reader, card.atr, (c) => card.transmitSync(c));
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await settle(3);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('roles detected from the cards; checkout through PC/SC; removal and pcscd loss', async () => {
  const backend = new FakeBackend();
  backend.addReader(READER_A);
  backend.addReader(READER_B);
  const insured = VirtualCard.fromImage(path.join(CARDS, 'demo.json'));
  const pro = VirtualCard.fromImage(path.join(CARDS, 'pharmacist-1.json'));
  // The professional card in the first reader: detection must not rely on the order.
  plug(backend, READER_A, pro);
  plug(backend, READER_B, insured);
  const { logger } = captureLogger();
  const station = await PcscStation.start({ backend, logger, readyTimeoutMs: 1000 });
  await until(() => station.status().readers.every((r) => r.application !== null), 'both cards identified');
  const atr = pro.atr.toString('hex').toUpperCase();
  expect(station.status().readers).toEqual(
    expect.arrayContaining([
      { name: READER_A, role: 'professional', cardPresent: true, atr, application: 'professional' },
      { name: READER_B, role: 'insured', cardPresent: true, atr: insured.atr.toString('hex').toUpperCase(), application: 'insured' },
    ]),
  );

  const dir = tmpDir('chifa-pcsc-');
  const journal = CounterJournal.open(journalPath(dir), { now: () => NOW });
  const catalogue = CatalogueStore.open(dir);
  const service = new CounterService({ station, catalogue, rules: loadRules(), journal, logger, now: () => NOW });
  // What the page's event stream hears from the readers.
  const heard: (number | null)[] = [];
  service.events.subscribe((e) => {
    if (e.type === 'station') heard.push((e.data as { insured: number | null }).insured);
  });
  try {
    expect((await service.openCard()).holder.cardSerial).toBe('CH2-2024-000001');
    expect((await service.verifyProfessionalPin('0000')).result).toBe('ok');
    expect((await service.verifyPin('1234')).result).toBe('ok');
    const out = await service.checkout(THREE_LINES);
    expect(out.cardWrite).toMatchObject({ state: 'done', records: 3 });
    expect(service.status()).toMatchObject({
      mode: 'pcsc',
      serviceAvailable: true,
      insured: { verified: true },
      professional: { unlocked: true, pharmacy: { pharmacyId: 'DZ16-PH-00001' } },
    });

    // Pulling the card ends the session; putting it back asks for the PIN again.
    heard.length = 0;
    backend.removeCard(READER_B);
    await until(() => service.status().insured.present === false, 'removal seen');
    expect(service.status().insured.opened).toBe(false);
    expect(heard).toContain(null);
    plug(backend, READER_B, insured);
    await until(() => station.status().insured !== null, 'insured card back');
    // The insertion, then the card identified as the insured's: each a station event.
    await until(() => heard.at(-1) !== null && heard.at(-1) !== undefined, 'insertion heard');
    expect((await service.openCard()).verified).toBe(false);
    await expect(service.quote(THREE_LINES)).rejects.toMatchObject({ code: 'pin-required' });

    // pcscd stops: card operations say the service is unavailable.
    backend.stopService();
    await until(() => !station.status().serviceAvailable, 'service loss seen');
    await expect(service.openCard()).rejects.toMatchObject({ code: 'pcsc-unavailable' });
    expect(service.status()).toMatchObject({ serviceAvailable: false, insured: { present: false } });
  } finally {
    await service.close();
    await station.close();
    await journal.close();
    catalogue.close();
  }
});

test('named readers take their roles without probing the cards', async () => {
  const backend = new FakeBackend();
  backend.addReader(READER_A);
  backend.addReader(READER_B);
  const { logger } = captureLogger();
  const station = await PcscStation.start({
    backend,
    logger,
    insuredReader: 'reader 00',
    professionalReader: 'READER 01',
    readyTimeoutMs: 1000,
  });
  try {
    await until(() => station.status().readers.length === 2, 'readers listed');
    expect(station.status().readers.map((r) => [r.name, r.role])).toEqual([
      [READER_A, 'insured'],
      [READER_B, 'professional'],
    ]);
    expect(() => station.insured()).toThrow(expect.objectContaining({ code: 'no-card' }));
  } finally {
    await station.close();
  }
});

test('a card that is not a Chifa card: its reader says so (application other), and opening it says why', async () => {
  const backend = new FakeBackend();
  backend.addReader(READER_A);
  const atr = Buffer.from('3B8F8001804F0CA000000306030001000000006A', 'hex'); // a contactless-style ATR, no Chifa application
  backend.insertCard(READER_A, atr, () => Buffer.from([0x6a, 0x82])); // every SELECT: file or application not found
  const { logger } = captureLogger();
  const station = await PcscStation.start({ backend, logger, readyTimeoutMs: 1000 });
  try {
    await until(() => station.status().readers[0]?.application != null, 'card identified');
    expect(station.status().readers).toEqual([
      { name: READER_A, role: 'insured', cardPresent: true, atr: atr.toString('hex').toUpperCase(), application: 'other' },
    ]);
    await expect(station.insured().open()).rejects.toMatchObject({ code: 'not-a-chifa-card' });
  } finally {
    await station.close();
  }
});

test('start-up choice: no reader → demo cards, and the log says why', async () => {
  const backend = new FakeBackend();
  const { logger, lines } = captureLogger();
  const dir = tmpDir('chifa-choice-');
  const { station, reason } = await openStation({ dataDir: dir, logger, backend, readyTimeoutMs: 500 });
  try {
    expect(station.mode).toBe('demo');
    expect(reason).toBe('no card reader is attached');
    expect(lines.join('\n')).toContain('DEMO MODE');
  } finally {
    await station.close();
  }
  backend.serviceUp = false;
  const second = await openStation({ dataDir: dir, logger, backend, readyTimeoutMs: 500 });
  expect([second.station.mode, second.reason]).toEqual(['demo', 'the PC/SC service (pcscd) is not running']);
  await second.station.close();

  backend.serviceUp = true;
  backend.addReader(READER_A);
  const third = await openStation({ dataDir: dir, logger, backend, readyTimeoutMs: 500 });
  expect(third.station.mode).toBe('pcsc');
  await third.station.close();
});
