import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ReaderMonitor, PcscTransport, type PcscBackend } from '../../card/pcsc';
import type { CardTransport } from '../../card/transport/transport';
import { toHex } from '../../card/apdu';
import { ChifaError } from '../../common/errors';
import { CardServiceUnavailableError, CardMissingError } from './errors';
import { SdkInsuredPort, SdkProfessionalPort, type Slot } from './sdk-ports';
import type { CardApplication, CardStation, InsuredCardPort, ProfessionalCardPort, ReaderStatus, StationStatus } from './station';

/**
 * The card station over real PC/SC readers (src/card/pcsc). Which reader holds which card:
 * `--insured-reader` / `--pro-reader` name them (exact name, or a case-insensitive part of it);
 * otherwise each inserted card is identified by selecting the professional application — a card
 * that has it is the pharmacist's, any other card is taken as an insured card (and opening it
 * says so if it is not a Chifa card at all). A two-slot reader is two PC/SC readers.
 *
 * The monitor follows insertions, removals and pcscd itself (lost / restored, with backoff);
 * each insertion gets a new number, so a session opened on a pulled card is recognised as stale.
 */

export interface PcscStationOptions {
  insuredReader?: string;
  professionalReader?: string;
  backend?: PcscBackend;
  logger?: Logger;
}

type Role = 'insured' | 'professional';

interface Entry {
  name: string;
  present: boolean;
  /** The ATR of the card now in the reader. */
  atr: Buffer | undefined;
  /** What the card answered to, once a port opened it (or detection probed it). */
  application: CardApplication | null;
  insertion: number;
  /** Configured, or detected for the current insertion. */
  role: Role | null;
  detecting: boolean;
  transport: Promise<PcscTransport> | undefined;
  insured?: SdkInsuredPort;
  professional?: SdkProfessionalPort;
}

const nameMatches = (pattern: string | undefined, name: string): boolean =>
  pattern !== undefined && pattern !== '' && (name === pattern || name.toLowerCase().includes(pattern.toLowerCase()));

export class PcscStation implements CardStation {
  readonly mode = 'pcsc' as const;
  readonly monitor: ReaderMonitor;
  private readonly entries = new Map<string, Entry>();
  private readonly options: PcscStationOptions;
  private readonly log: Logger | undefined;
  private counter = 0;
  private readonly changes = new EventEmitter();

  constructor(monitor: ReaderMonitor, options: PcscStationOptions = {}) {
    this.monitor = monitor;
    this.options = options;
    this.log = options.logger;
    // Listeners hear of a change as soon as the monitor reports it (the page's live events).
    const changed = () => this.changes.emit('change');
    monitor.on('reader-attached', (name) => {
      this.entry(name);
      this.log?.info({ reader: name }, 'reader attached');
      changed();
    });
    monitor.on('reader-detached', (name) => {
      const e = this.entries.get(name);
      if (e) this.cardGone(e);
      this.entries.delete(name);
      this.log?.info({ reader: name }, 'reader detached');
      changed();
    });
    monitor.on('card-inserted', (ev) => {
      const e = this.entry(ev.reader);
      this.cardGone(e);
      e.present = true;
      e.atr = ev.atr;
      e.insertion = ++this.counter;
      this.log?.info({ reader: ev.reader, role: e.role }, 'card inserted');
      changed();
      if (e.role === null) void this.detect(e, e.insertion).finally(changed);
    });
    monitor.on('card-removed', (ev) => {
      const e = this.entries.get(ev.reader);
      if (e) this.cardGone(e);
      this.log?.info({ reader: ev.reader }, 'card removed');
      changed();
    });
    monitor.on('service-lost', (ev) => {
      for (const e of this.entries.values()) this.cardGone(e);
      this.log?.warn({ error: ev.error.message }, 'PC/SC service lost; retrying');
      changed();
    });
    monitor.on('service-restored', () => {
      this.log?.info('PC/SC service restored');
      changed();
    });
  }

  onChange(listener: () => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /** Starts a monitor (throws PcscUnavailableError without the native module) and waits for its first picture. */
  static async start(options: PcscStationOptions & { readyTimeoutMs?: number } = {}): Promise<PcscStation> {
    const monitor = new ReaderMonitor({
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    const station = new PcscStation(monitor, options);
    monitor.start();
    await Promise.race([monitor.ready(), new Promise((r) => setTimeout(r, options.readyTimeoutMs ?? 3000).unref())]);
    return station;
  }

  private entry(name: string): Entry {
    let e = this.entries.get(name);
    if (!e) {
      const role: Role | null = nameMatches(this.options.insuredReader, name)
        ? 'insured'
        : nameMatches(this.options.professionalReader, name)
          ? 'professional'
          : null;
      e = { name, present: false, atr: undefined, application: null, insertion: 0, role, detecting: false, transport: undefined };
      this.entries.set(name, e);
    }
    return e;
  }

  private configuredRole(name: string): Role | null {
    return nameMatches(this.options.insuredReader, name)
      ? 'insured'
      : nameMatches(this.options.professionalReader, name)
        ? 'professional'
        : null;
  }

  private cardGone(e: Entry): void {
    e.present = false;
    e.atr = undefined;
    e.application = null;
    e.insertion = ++this.counter;
    e.role = this.configuredRole(e.name);
    e.insured = undefined;
    e.professional = undefined;
    const t = e.transport;
    e.transport = undefined;
    if (t) void t.then((x) => x.close()).catch(() => undefined);
  }

  private slot(e: Entry, insertion: number): Slot {
    return {
      connect: (): Promise<CardTransport> => {
        if (e.insertion !== insertion || !e.present) return Promise.reject(new CardMissingError());
        if (!e.transport) {
          const backend = this.options.backend;
          e.transport = PcscTransport.connect(e.name, backend ? { backend } : {});
          e.transport.catch(() => {
            if (e.insertion === insertion) e.transport = undefined;
          });
        }
        return e.transport;
      },
      isCurrent: () => e.present && e.insertion === insertion,
      invalidate: () => {
        // The card was reset under us (or lost power) while still in the reader: its PIN and
        // authentication state are gone, so later calls must open it as a new insertion. It is
        // still the same card: its ATR and application stay known.
        if (e.insertion === insertion) {
          const { present, atr, application } = e;
          this.cardGone(e);
          Object.assign(e, { present, atr, application });
          this.changes.emit('change');
        }
      },
      identified: (application) => {
        if (e.insertion !== insertion || e.application === application) return;
        e.application = application;
        this.changes.emit('change');
      },
    };
  }

  /**
   * Which card is this? The professional application answers, or it is taken as insured — and
   * then opened as one (holder identity, no PIN), so the reader list can say whether it is a
   * Chifa card at all; that opened port is the one the counter then uses.
   */
  private async detect(e: Entry, insertion: number): Promise<void> {
    e.detecting = true;
    const pro = new SdkProfessionalPort(insertion, this.slot(e, insertion));
    try {
      const id = await pro.identity();
      if (e.insertion !== insertion) return;
      e.role = 'professional';
      e.professional = pro;
      this.log?.info({ reader: e.name, pharmacy: id.pharmacyId }, 'professional card detected');
    } catch (err) {
      if (e.insertion !== insertion) return;
      if (err instanceof ChifaError && err.code === 'not-a-chifa-card') {
        e.role = 'insured';
        this.log?.info({ reader: e.name }, 'insured card detected');
        const insured = new SdkInsuredPort(insertion, this.slot(e, insertion));
        e.insured = insured;
        await insured.open().catch(() => undefined); // the port noted what answered; opening again says why it failed
      } else {
        this.log?.warn({ reader: e.name, error: err instanceof Error ? err.message : String(err) }, 'cannot identify the card');
      }
    } finally {
      if (e.insertion === insertion) e.detecting = false;
    }
  }

  private find(role: Role): Entry | undefined {
    for (const e of this.entries.values()) if (e.present && e.role === role) return e;
    return undefined;
  }

  status(): StationStatus {
    const readers: ReaderStatus[] = [...this.entries.values()].map((e) => ({
      name: e.name,
      role: e.role,
      cardPresent: e.present,
      atr: e.present && e.atr ? toHex(e.atr) : null,
      application: e.present ? e.application : null,
    }));
    const ins = this.find('insured');
    const pro = this.find('professional');
    return {
      mode: 'pcsc',
      serviceAvailable: this.monitor.serviceAvailable,
      readers,
      insured: ins ? ins.insertion : null,
      professional: pro ? pro.insertion : null,
    };
  }

  insured(): InsuredCardPort {
    if (!this.monitor.serviceAvailable) throw new CardServiceUnavailableError();
    const e = this.find('insured');
    if (!e) throw new CardMissingError('insured');
    if (!e.insured || e.insured.insertion !== e.insertion) e.insured = new SdkInsuredPort(e.insertion, this.slot(e, e.insertion));
    return e.insured;
  }

  professional(): ProfessionalCardPort {
    if (!this.monitor.serviceAvailable) throw new CardServiceUnavailableError();
    const e = this.find('professional');
    if (!e) throw new CardMissingError('professional');
    if (!e.professional || e.professional.insertion !== e.insertion)
      e.professional = new SdkProfessionalPort(e.insertion, this.slot(e, e.insertion));
    return e.professional;
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) this.cardGone(e);
    await this.monitor.close();
  }
}
