import type { Logger } from 'pino';
import type { PcscBackend } from '../../card/pcsc';
import { EmulatedStation } from './emulated-station';
import { PcscStation } from './pcsc-station';
import type { CardStation } from './station';

/**
 * Chooses the card source at start-up:
 * - `--demo`: the in-process emulator with the demo cards;
 * - otherwise PC/SC, if the native module loads, pcscd answers and at least one reader exists;
 * - with named readers (`--insured-reader`, `--pro-reader`) PC/SC is kept even if pcscd or the
 *   readers are not there yet (the monitor waits for them): the operator asked for real readers;
 * - else the demo cards, and the log says why.
 */
export interface OpenStationOptions {
  dataDir: string;
  demo?: boolean;
  insuredReader?: string;
  professionalReader?: string;
  logger: Logger;
  /** Demo cards only: how slow they are (a timing profile: none, iso-default, typical, FILE.json). */
  timing?: string;
  /** Demo cards only: the insured card's image (default fixtures/cards/demo.json). */
  demoInsuredImage?: string;
  /** Tests: a scripted PC/SC backend. */
  backend?: PcscBackend;
  readyTimeoutMs?: number;
}

export async function openStation(o: OpenStationOptions): Promise<{ station: CardStation; reason: string }> {
  const log = o.logger;
  const demo = (reason: string) => {
    const station = EmulatedStation.openDemo(o.dataDir, {
      ...(o.timing !== undefined ? { timing: o.timing } : {}),
      ...(o.demoInsuredImage !== undefined ? { insuredImage: o.demoInsuredImage } : {}),
    });
    log.warn(
      { mode: 'demo', reason, cards: `${o.dataDir}/demo-cards`, timing: o.timing ?? 'none' },
      `DEMO MODE: emulated cards (TEST ONLY data) — ${reason}`,
    );
    return { station, reason };
  };
  if (o.demo) return demo('--demo was given');
  const named = Boolean(o.insuredReader || o.professionalReader);
  let station: PcscStation;
  try {
    station = await PcscStation.start({
      ...(o.insuredReader ? { insuredReader: o.insuredReader } : {}),
      ...(o.professionalReader ? { professionalReader: o.professionalReader } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
      ...(o.readyTimeoutMs !== undefined ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
      logger: log,
    });
  } catch (err) {
    const why = `PC/SC is not available (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    if (named) throw err;
    return demo(why);
  }
  const readers = station.status().readers;
  if (!named) {
    if (!station.monitor.serviceAvailable) {
      await station.close();
      return demo('the PC/SC service (pcscd) is not running');
    }
    if (readers.length === 0) {
      await station.close();
      return demo('no card reader is attached');
    }
  }
  if (o.timing !== undefined || o.demoInsuredImage !== undefined)
    log.warn('--timing and --demo-card apply to the demo cards only: ignored with PC/SC readers');
  const reason = named ? 'readers named on the command line' : `${readers.length} reader(s) found`;
  log.info({ mode: 'pcsc', readers: readers.map((r) => r.name), reason }, `PC/SC MODE: ${reason}`);
  return { station, reason };
}
