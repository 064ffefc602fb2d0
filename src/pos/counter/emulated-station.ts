import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InProcessTransport } from '../../emulator/in-process-transport';
import type { TimingProfile } from '../../emulator/timing-profile';
import { VirtualCard } from '../../emulator/virtual-card';
import type { CardTransport } from '../../card/transport/transport';
import { toHex } from '../../card/apdu';
import { packageRoot } from '../../common/paths';
import { CardMissingError } from './errors';
import { SdkInsuredPort, SdkProfessionalPort } from './sdk-ports';
import type { CardStation, InsuredCardPort, ProfessionalCardPort, ReaderStatus, StationStatus } from './station';

/**
 * The demo (and test) card station: two emulated cards in two emulated readers, reached through
 * the in-process transport — the same SDK calls as with PC/SC readers, without pcscd. The demo
 * cards are personalized from fixtures/cards (TEST ONLY data) on first start and then persisted
 * in `DATA/demo-cards/` after every write, so dispensings survive a restart like a real card.
 *
 * A card's "insertion" changes when it is removed or inserted, when it loses power (a tear) and
 * when it is reset: in each case its PIN and authentication state are gone.
 */

export const DEMO_INSURED_IMAGE = 'demo.json';
export const DEMO_PROFESSIONAL_IMAGE = 'pharmacist-1.json';

class EmulatedSlot {
  insertion = 1;
  private transport: { insertion: number; t: InProcessTransport } | undefined;
  /** What the transports this slot made before the current one did. */
  private earlier: CardUsage = { ms: 0, apdus: 0, characters: 0, nvmPages: 0, cryptoMs: 0 };

  constructor(
    readonly card: VirtualCard,
    private readonly clock: 'real' | 'virtual',
    changed: () => void,
  ) {
    const bump = () => {
      this.insertion++;
      changed();
    };
    card.on('removed', bump);
    card.on('inserted', bump);
    card.on('power', (on: boolean) => {
      if (!on) bump();
    });
    // Reset in the reader (by a test, the demo, another holder of the card): powered all along,
    // but its PIN and authentication state are gone just the same.
    card.on('reset', bump);
  }

  async connect(): Promise<CardTransport> {
    if (!this.card.inserted) throw new CardMissingError();
    if (!this.transport || this.transport.insertion !== this.insertion) {
      this.earlier = this.usage;
      // A new transport powers the card on if it lost power (the PC/SC reconnect).
      this.transport = { insertion: this.insertion, t: new InProcessTransport(this.card, { clock: this.clock }) };
    }
    return this.transport.t;
  }

  /** Modelled card time and work so far, every connection of this slot included. */
  get usage(): CardUsage {
    const m = this.transport?.t.meter;
    const e = this.earlier;
    return m
      ? {
          ms: e.ms + m.totalMs,
          apdus: e.apdus + m.apdus,
          characters: e.characters + m.characters,
          nvmPages: e.nvmPages + m.nvmPages,
          cryptoMs: e.cryptoMs + m.cryptoMs,
        }
      : { ...e };
  }

  isCurrentFor(insertion: number): boolean {
    return this.card.inserted && this.insertion === insertion;
  }
}

/**
 * What a card did so far: modelled milliseconds, APDUs, characters on the line, EEPROM pages,
 * ECDSA time (all but the APDUs 0 without a timing profile).
 */
export interface CardUsage {
  ms: number;
  apdus: number;
  characters: number;
  nvmPages: number;
  cryptoMs: number;
}

export interface EmulatedStationOptions {
  /** PINs to show on the page (demo mode only; test data). */
  hints?: { insuredPin: string; professionalPin?: string };
  /**
   * How slow the cards are (src/emulator/timing.ts: 'none', 'iso-default', 'typical', a JSON
   * profile): the demo shows what a pharmacist would wait for. Absent: each card keeps its own.
   */
  timing?: string | TimingProfile;
  /**
   * 'real' (default): every card exchange waits its modelled time, as a real card makes the counter
   * wait; 'virtual': the time is only counted (`usage`), for benchmarks.
   */
  clock?: 'real' | 'virtual';
}

export class EmulatedStation implements CardStation {
  readonly mode = 'demo' as const;
  readonly demoHints: { insuredPin: string; professionalPin?: string } | undefined;
  private readonly slots: { insured: EmulatedSlot; professional: EmulatedSlot };
  private ports: { insured?: SdkInsuredPort; professional?: SdkProfessionalPort } = {};
  private readonly changes = new EventEmitter();

  constructor(insured: VirtualCard, professional: VirtualCard, options: EmulatedStationOptions = {}) {
    if (options.timing !== undefined) {
      insured.setTiming(options.timing);
      professional.setTiming(options.timing);
    }
    const clock = options.clock ?? 'real';
    const changed = () => this.changes.emit('change');
    this.slots = { insured: new EmulatedSlot(insured, clock, changed), professional: new EmulatedSlot(professional, clock, changed) };
    this.demoHints = options.hints;
  }

  onChange(listener: () => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /** What each card has done so far, in modelled time (benchmarks). */
  usage(which: 'insured' | 'professional'): CardUsage {
    return this.slots[which].usage;
  }

  /**
   * The demo cards of `DATA/demo-cards/`: resumed from their state files, or personalized from
   * the fixture images the first time.
   */
  static openDemo(
    dataDir: string,
    options: { insuredImage?: string; professionalImage?: string; clock?: () => Date; timing?: string | TimingProfile } = {},
  ): EmulatedStation {
    const cards = path.join(packageRoot(), 'fixtures', 'cards');
    const insuredImage = options.insuredImage ?? path.join(cards, DEMO_INSURED_IMAGE);
    const proImage = options.professionalImage ?? path.join(cards, DEMO_PROFESSIONAL_IMAGE);
    const dir = path.join(dataDir, 'demo-cards');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const clock = options.clock ? { clock: options.clock } : {};
    // Another insured image than the default gets its own state file: each card keeps its history.
    const insuredState = options.insuredImage ? `insured-${path.basename(insuredImage, '.json')}.state.json` : 'insured.state.json';
    const insured = VirtualCard.open({ image: insuredImage, state: path.join(dir, insuredState), ...clock });
    const professional = VirtualCard.open({ image: proImage, state: path.join(dir, 'professional.state.json'), ...clock });
    const pinOf = (file: string): string | undefined => {
      try {
        const pin = (JSON.parse(fs.readFileSync(file, 'utf8')) as { pin?: unknown }).pin;
        return typeof pin === 'string' ? pin : undefined;
      } catch {
        return undefined;
      }
    };
    const insuredPin = pinOf(insuredImage);
    const professionalPin = pinOf(proImage);
    return new EmulatedStation(insured, professional, {
      ...(insuredPin ? { hints: { insuredPin, ...(professionalPin ? { professionalPin } : {}) } } : {}),
      ...(options.timing !== undefined ? { timing: options.timing } : {}),
    });
  }

  /** The emulated cards themselves (tests and the demo controls remove, insert and inject faults). */
  get cards(): { insured: VirtualCard; professional: VirtualCard } {
    return { insured: this.slots.insured.card, professional: this.slots.professional.card };
  }

  status(): StationStatus {
    const i = this.slots.insured;
    const p = this.slots.professional;
    return {
      mode: 'demo',
      serviceAvailable: true,
      readers: [
        readerOf('Lecteur émulé 0 (carte Chifa)', 'insured', i.card),
        readerOf('Lecteur émulé 1 (carte professionnelle)', 'professional', p.card),
      ],
      insured: i.card.inserted ? i.insertion : null,
      professional: p.card.inserted ? p.insertion : null,
    };
  }

  insured(): InsuredCardPort {
    const slot = this.slots.insured;
    if (!slot.card.inserted) throw new CardMissingError('insured');
    if (!this.ports.insured || this.ports.insured.insertion !== slot.insertion) {
      const n = slot.insertion;
      this.ports.insured = new SdkInsuredPort(n, { connect: () => slot.connect(), isCurrent: () => slot.isCurrentFor(n) });
    }
    return this.ports.insured;
  }

  professional(): ProfessionalCardPort {
    const slot = this.slots.professional;
    if (!slot.card.inserted) throw new CardMissingError('professional');
    if (!this.ports.professional || this.ports.professional.insertion !== slot.insertion) {
      const n = slot.insertion;
      this.ports.professional = new SdkProfessionalPort(n, { connect: () => slot.connect(), isCurrent: () => slot.isCurrentFor(n) });
    }
    return this.ports.professional;
  }

  async close(): Promise<void> {
    this.slots.insured.card.persist();
    this.slots.professional.card.persist();
  }
}

/** An emulated reader: the emulator knows what it personalized, so the application is known at once. */
function readerOf(name: string, role: 'insured' | 'professional', card: VirtualCard): ReaderStatus {
  if (!card.inserted) return { name, role, cardPresent: false, atr: null, application: null };
  const application = card.kind === 'insured' || card.kind === 'professional' ? card.kind : 'other';
  return { name, role, cardPresent: true, atr: toHex(card.atr), application };
}
