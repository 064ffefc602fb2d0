import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChifaCard, TransportError } from '../../src/card';
import {
  CardResetError,
  CardUnresponsiveError,
  listReaders,
  NoCardError,
  PcscError,
  PcscNoServiceError,
  PcscTransport,
  ReaderMonitor,
  ReaderUnavailableError,
  SharingViolationError,
  type PcscBackend,
} from '../../src/card/pcsc';
import { VirtualCard } from '../../src/emulator';
import { FakeBackend } from '../card/pcsc/fake-backend';
import { ROOT } from './entries';

/**
 * chifa-terminal/pcsc as a vendor meets it: typed errors for each PC/SC failure (through the
 * `backend` seam, with a scripted PC/SC stack standing in for pcscd), and — against the built
 * package — a machine without the native module, where only the first PC/SC call complains.
 */

const READER = 'ACS ACR39U ICC Reader 00 00';

/** A scripted PC/SC stack with one reader holding an emulated demo card. */
function stack(): FakeBackend {
  const backend = new FakeBackend();
  backend.addReader(READER);
  const card = VirtualCard.fromImage(path.join(ROOT, 'fixtures/cards/demo.json'));
  backend.insertCard(READER, card.atr, (cmd) => card.transmitSync(cmd));
  return backend;
}

describe('typed PC/SC errors', () => {
  it('a card read through PcscTransport, then each failure as its own class (all PcscError, all TransportError)', async () => {
    const backend = stack();
    const t = await PcscTransport.connect(READER, { backend: backend as PcscBackend });
    expect((await ChifaCard.open(t)).holder.cardSerial).toBe('CH2-2024-000001');
    await expect(PcscTransport.connect(READER, { backend, share: 'shared' })).rejects.toBeInstanceOf(SharingViolationError);
    await t.close();

    const failures: [() => Promise<unknown>, new (...a: never[]) => PcscError, string][] = [
      [() => PcscTransport.connect('No Such Reader', { backend }), ReaderUnavailableError, 'reader-unavailable'],
      [
        () => {
          backend.removeCard(READER);
          return PcscTransport.connect(READER, { backend });
        },
        NoCardError,
        'no-card',
      ],
      [
        () => {
          backend.stopService();
          return listReaders({ backend });
        },
        PcscNoServiceError,
        'no-service',
      ],
    ];
    for (const [fn, cls, code] of failures) {
      const err = await fn().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect(err).toBeInstanceOf(PcscError);
      expect(err).toBeInstanceOf(TransportError);
      expect(err).toMatchObject({ code });
    }
  });

  it('a card reset by another application: CardResetError, and the transport works again', async () => {
    const backend = stack();
    const t = await PcscTransport.connect(READER, { backend, share: 'shared', sharedTransactions: 'none' });
    await ChifaCard.open(t);
    backend.resetCard(READER);
    await expect(ChifaCard.open(t)).rejects.toBeInstanceOf(CardResetError);
    await expect(ChifaCard.open(t)).resolves.toBeInstanceOf(ChifaCard);
    await t.close();
    // The class a mute card is reported with (the same family).
    expect(new CardUnresponsiveError(READER, 0x80100066)).toMatchObject({ code: 'card-unresponsive', reader: READER });
  });

  it('ReaderMonitor reports readers and cards from the backend, and closes cleanly', async () => {
    const backend = stack();
    const monitor = new ReaderMonitor({ backend });
    const inserted: string[] = [];
    monitor.on('card-inserted', (e) => inserted.push(e.reader));
    monitor.start();
    await monitor.ready();
    expect(monitor.readers()).toEqual([expect.objectContaining({ name: READER, cardPresent: true })]);
    expect(inserted).toEqual([READER]);
    await monitor.close();
  });
});

describe('a machine without the native module (the built package)', () => {
  const dist = path.join(ROOT, 'dist/src');
  const preload = path.join(ROOT, 'examples/esm-consumer/no-pcsclite.cjs');

  /** Runs `script` in a fresh node; with the preload, `require('pcsclite')` fails as on a machine without libpcsclite. */
  function node(script: string, withoutPcsclite: boolean): { status: number | null; stdout: string; stderr: string } {
    const args = [...(withoutPcsclite ? ['--require', preload] : []), '-e', script];
    return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  }

  beforeAll(() => {
    if (!fs.existsSync(path.join(dist, 'card/index.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does)');
  });

  it('importing every entry point loads no native module', () => {
    const r = node(
      `for (const e of ['card', 'card/pcsc', 'emulator', 'billing', 'sync', 'fund', 'testing']) require('./dist/src/' + e + '/index.js');
       console.log(JSON.stringify(Object.keys(require.cache).filter((f) => /[\\\\/]pcsclite[\\\\/]/.test(f))));`,
      false,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('without pcsclite the SDK works, and only the first PC/SC call complains, saying what to install', () => {
    const r = node(
      `const { VirtualCard, InProcessTransport } = require('./dist/src/emulator/index.js');
       const { ChifaCard } = require('./dist/src/card/index.js');
       const { listReaders } = require('./dist/src/card/pcsc/index.js');
       (async () => {
         const card = await ChifaCard.open(new InProcessTransport(VirtualCard.fromImage('fixtures/cards/demo.json')));
         console.log('read ' + card.holder.cardSerial);
         await listReaders().catch((err) => console.log(err.constructor.name + ' ' + err.code + ': ' + err.message));
       })();`,
      true,
    );
    expect(r.stdout).toMatch(/^read CH2-2024-000001$/m);
    expect(r.stdout).toMatch(
      /^PcscUnavailableError pcsc-unavailable: PC\/SC support needs the optional native module pcsclite: apt-get install libpcsclite-dev pcscd, then npm rebuild pcsclite/m,
    );
    expect(r.status).toBe(0);
  });
});
