import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { PIN_REF } from '../card/layout';
import { CardRemovedError } from '../card/transport/transport';
import { buildAtr } from './atr';
import type { CardOptions } from './context';
import { FaultScript } from './faults';
import { fsProblems } from './filesystem';
import { PowerLoss } from './nvm';
import { CardOs } from './os';
import { personalize, personalizeFile } from './personalize';
import { CardImageError, parseCardImage } from './image-schema';
import { readStateFile, writeStateFile, type CardSnapshot } from './state';
import { CardTimingModel, ZERO_COST, type ExchangeCost } from './timing';
import { resolveTimingProfile, type TimingProfile } from './timing-profile';
import { CardWork } from './work';

/** Options of a VirtualCard. */
export interface VirtualCardOptions {
  /** Overrides of the image's options (protocol, extended length, chaining, anti-tearing). */
  readonly options?: Partial<CardOptions>;
  /** The card's clock, or a fixed date (certificate validity checks). */
  readonly clock?: Date | (() => Date);
  /** Random source for GET CHALLENGE (tests can make it deterministic). */
  readonly random?: (n: number) => Buffer;
  /** Write-through persistence: the state file is rewritten (atomically) after every change. */
  readonly statePath?: string;
  /** Timing profile: 'none' (default), 'iso-default', 'typical', a JSON file, or a profile. */
  readonly timing?: string | TimingProfile;
}

/** One exchange: the response and its modelled time (ZERO_COST without a timing profile). */
export interface Exchange {
  readonly response: Buffer;
  readonly cost: ExchangeCost;
}

/**
 * An emulated card in a reader slot: the card OS plus the physical things around it — insertion,
 * power, reset, latency, faults, its timing (what a real card and reader would take: the TA1 of
 * its ATR and the modelled time of every exchange, timing.ts), and its memory surviving restarts
 * (write-through to a state file). This is the object tests, the in-process transport and the
 * vpcd bridge hold.
 *
 *   const card = VirtualCard.fromImage('fixtures/cards/demo.json');
 *   const rsp = await card.transmit(Buffer.from('00A4040C0BD213000001434849464101', 'hex'));
 *
 * Events: 'inserted', 'removed', 'power' (powered: boolean), 'reset' (a warm reset of a powered
 * card: the power stays, the volatile state goes — what PC/SC reports to the card's other
 * connections as SCARD_W_RESET_CARD).
 */
export class VirtualCard extends EventEmitter {
  /** @internal The card OS itself (tests and the CLI reach into its file system and NVM). */
  readonly os: CardOs;
  readonly faults = new FaultScript();
  private _inserted = true;
  private _powered = false;
  private statePath: string | undefined;
  private _timing: CardTimingModel | undefined;

  constructor(snapshot: CardSnapshot, opts: VirtualCardOptions = {}) {
    super();
    const clock = opts.clock;
    this.os = new CardOs(
      snapshot.definition,
      { ...snapshot.options, ...opts.options },
      {
        clock: clock instanceof Date ? () => new Date(clock.getTime()) : clock,
        random: opts.random,
      },
    );
    this.os.nvm.load(snapshot.regions as Record<string, Buffer>, snapshot.journal);
    const problems = fsProblems(this.os.mf);
    if (problems.length > 0) throw new Error(`inconsistent card memory: ${problems.join('; ')}`);
    this.statePath = opts.statePath;
    this._timing = timingModel(opts.timing);
    this.os.nvm.dirty = true;
    this.powerOn();
  }

  /** Personalizes a card image file (fixtures/cards/*.json). */
  static fromImage(file: string, opts: VirtualCardOptions = {}): VirtualCard {
    return new VirtualCard(personalizeFile(file), opts);
  }

  /** Personalizes an image given as parsed JSON; key paths resolve against `baseDir`. */
  static fromImageObject(json: unknown, baseDir: string, opts: VirtualCardOptions = {}, source = 'card image'): VirtualCard {
    return new VirtualCard(personalize(parseCardImage(json, source), baseDir, source), opts);
  }

  /** Resumes a card from its state file (and keeps writing through to it). */
  static fromState(file: string, opts: Omit<VirtualCardOptions, 'statePath'> = {}): VirtualCard {
    return new VirtualCard(readStateFile(file), { ...opts, statePath: file });
  }

  /**
   * The usual start: with `state` given and present, resume from it; otherwise personalize
   * `image` (and, with `state`, create that file).
   */
  static open(args: { image?: string; state?: string } & Omit<VirtualCardOptions, 'statePath'>): VirtualCard {
    const { image, state, ...opts } = args;
    if (state && fs.existsSync(state)) return VirtualCard.fromState(state, opts);
    if (!image) throw new CardImageError(state ?? '(none)', '', 'no card image given and no state file to resume');
    return new VirtualCard(personalizeFile(image), { ...opts, statePath: state });
  }

  /** The card's kind: `insured` or `professional`. */
  get kind(): string {
    return this.os.definition.kind;
  }

  /** The card's protocol and length options in force. */
  get options(): CardOptions {
    return this.os.options;
  }

  /** Changes protocol / length options; the ATR changes at the next power-on or reset. */
  setOptions(options: Partial<CardOptions>): void {
    this.os.setOptions(options);
    this.os.nvm.dirty = true;
    this.persist();
  }

  /** The ATR the card answers at the next reset (it follows the options). */
  get atr(): Buffer {
    return buildAtr(this.os.options, this._timing?.ta1);
  }

  /** The timing model (undefined: none, the emulator answers with no modelled time). */
  get timing(): CardTimingModel | undefined {
    return this._timing;
  }

  /** Changes the timing profile; the ATR (its TA1) changes with it, seen at the next reset. */
  setTiming(profile: string | TimingProfile | undefined): void {
    this._timing = timingModel(profile);
  }

  /** Modelled time from reset to the first command: ATR, PPS, IFS (ZERO_COST without timing). */
  resetCost(): ExchangeCost {
    return this._timing ? this._timing.resetCost(this.atr, this.os.options.protocol) : ZERO_COST;
  }

  /** Whether the card is in the reader. */
  get inserted(): boolean {
    return this._inserted;
  }

  /** Whether the card is powered (a reset or power-on happened since the last power loss). */
  get powered(): boolean {
    return this._powered;
  }

  /** Puts the card back into the reader (unpowered until the next power-on). */
  insert(): void {
    if (this._inserted) return;
    this._inserted = true;
    this.emit('inserted');
  }

  /** Pulls the card out: it loses power and its security state; APDUs throw CardRemovedError. */
  remove(): void {
    if (!this._inserted) return;
    this.powerOff();
    this._inserted = false;
    this.emit('removed');
  }

  /** Cold reset: power on (recovering a torn transaction) and answer the ATR. */
  powerOn(): Buffer {
    if (!this._inserted) throw new CardRemovedError('no card in the reader');
    this.os.reset();
    this.persist();
    if (!this._powered) {
      this._powered = true;
      this.emit('power', true);
    }
    return this.atr;
  }

  /** Cuts the power: the security state (verified PIN, authentication) is gone. */
  powerOff(): void {
    this.os.security.clear();
    if (this._powered) {
      this._powered = false;
      this.emit('power', false);
    }
  }

  /** Warm reset: the security state goes, the ATR comes again. */
  reset(): Buffer {
    const warm = this._powered;
    const atr = this.powerOn();
    if (warm) this.emit('reset');
    return atr;
  }

  /** Sends one APDU, honouring latency and faults. Throws CardRemovedError when the card is gone or loses power. */
  async transmit(apdu: Buffer): Promise<Buffer> {
    return (await this.exchange(apdu)).response;
  }

  /**
   * Like transmit, and says what the exchange would take on a real card (the timing profile's
   * model). The modelled time is not waited here: the in-process transport and the vpcd bridge
   * decide whether to wait it or to count it.
   */
  async exchange(apdu: Buffer): Promise<Exchange> {
    const latency = this.faults.latencyMs;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    return this.exchangeSync(apdu);
  }

  /** Like exchange, without latency. */
  exchangeSync(apdu: Buffer): Exchange {
    const before = this.os.lastWork;
    const response = this.transmitSync(apdu);
    if (!this._timing) return { response, cost: ZERO_COST };
    // A command the OS never saw (an injected status word) did no work.
    const work = this.os.lastWork === before ? new CardWork() : this.os.lastWork;
    return { response, cost: this._timing.exchange(apdu, response, this.os.options.protocol, work) };
  }

  /** Like transmit, without latency or timing. */
  transmitSync(apdu: Buffer): Buffer {
    if (!this._inserted) throw new CardRemovedError('the card was removed');
    if (!this._powered) throw new CardRemovedError('the card is not powered (reset or power loss): reconnect');
    const fault = this.faults.take(apdu);
    if (fault?.remove === 'before') {
      this.remove();
      throw new CardRemovedError('the card was removed before the command');
    }
    if (fault?.injectSw !== undefined) {
      const out = Buffer.alloc(2);
      out.writeUInt16BE(fault.injectSw);
      if (fault.remove === 'after') this.remove();
      return out;
    }
    const nvm = this.os.nvm;
    const tear = fault?.tearAfterSteps;
    if (tear !== undefined && tear !== Infinity) nvm.armTear(tear);
    let response: Buffer;
    try {
      response = this.os.process(apdu);
    } catch (err) {
      if (!(err instanceof PowerLoss)) throw err;
      this.loseSupply(fault?.remove === 'during');
      throw new CardRemovedError(
        fault?.remove === 'during' ? 'the card was removed during the command' : 'the card lost power during the command',
      );
    } finally {
      nvm.disarmTear();
    }
    this.persist();
    if (tear !== undefined) {
      // The command finished before the armed step: the power still goes before the answer.
      this.loseSupply(fault?.remove === 'during');
      throw new CardRemovedError(
        fault?.remove === 'during' ? 'the card was removed during the command' : 'the card lost power during the command',
      );
    }
    if (fault?.remove === 'after') this.remove();
    return response;
  }

  private loseSupply(removed: boolean): void {
    this.persist();
    if (removed) this.remove();
    else this.powerOff();
  }

  /** Tries left of a PIN object (default: the PIN). */
  triesLeft(ref = PIN_REF): number {
    const pin = this.os.pins.get(ref);
    if (!pin) throw new RangeError(`no PIN object ${ref.toString(16)}`);
    return pin.triesLeft;
  }

  /** A deep copy of the card's memory, definition and options. */
  snapshot(): CardSnapshot {
    const { regions, journal } = this.os.nvm.dump();
    return { definition: this.os.definition, options: { ...this.os.options }, regions, journal };
  }

  /**
   * Puts the memory back as it was in `snapshot` (same card structure) and resets the card:
   * volatile state is gone, as after a power cycle.
   */
  restore(snapshot: CardSnapshot): void {
    this.os.nvm.load(snapshot.regions as Record<string, Buffer>, snapshot.journal);
    this.os.setOptions(snapshot.options);
    this.os.nvm.dirty = true;
    if (this._inserted) {
      this._powered = false;
      this.powerOn();
    } else this.persist();
  }

  /** Writes the state file now (when write-through is on and something changed). */
  persist(): void {
    const nvm = this.os.nvm;
    if (!this.statePath || !nvm.dirty) return;
    writeStateFile(this.statePath, this.snapshot());
    nvm.dirty = false;
  }

  /** Starts writing through to `file` (and writes it now). */
  persistTo(file: string): void {
    this.statePath = file;
    this.os.nvm.dirty = true;
    this.persist();
  }
}

function timingModel(profile: string | TimingProfile | undefined): CardTimingModel | undefined {
  const p = profile === undefined ? undefined : resolveTimingProfile(profile);
  return p ? new CardTimingModel(p) : undefined;
}
