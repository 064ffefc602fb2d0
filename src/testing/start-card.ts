import * as fs from 'node:fs';
import * as path from 'node:path';
import { listReaders } from '../card/pcsc/list';
import { PcscUnavailableError } from '../card/pcsc/errors';
import type { CardOptions } from '../emulator/context';
import { parseCardImage, type CardImage } from '../emulator/image-schema';
import { InProcessTransport } from '../emulator/in-process-transport';
import { personalize, personalizeFile } from '../emulator/personalize';
import type { CardSnapshot } from '../emulator/state';
import type { TimingProfile } from '../emulator/timing-profile';
import { VirtualCard, type VirtualCardOptions } from '../emulator/virtual-card';
import { VPCD_PORT, VpcdBridge } from '../emulator/vpcd';
import { armFault, type CardFault } from './card-faults';
import { track, untrack } from './cleanup';
import { cardFixture, isFixtureCard } from './fixtures';
import { transcriptLines } from './transcript';

/**
 * `startCard`: an emulated card for a test, in-process (a CardTransport, no PC/SC at all) or in
 * pcscd's virtual reader (vsmartcard's vpcd), recording every APDU it sees as a transcript.
 */

/** What `startCard` takes: a shipped fixture's name, an image file, an image object, or a builder. */
export type CardSource =
  | string
  | CardImage
  | {
      /** The image (a builder's `build`). */
      build(): CardImage;
    };

/** Options of {@link startCard}. */
export interface StartCardOptions {
  /**
   * Where the card goes: `'in-process'` (default) gives a transport; `'vpcd'` puts it into
   * pcscd's virtual reader and gives the reader's name (fails if vpcd does not answer); `'auto'`
   * takes vpcd when it answers, else in-process.
   */
  readonly via?: 'in-process' | 'vpcd' | 'auto';
  /** Faults armed before the first APDU (APDUs count from the card's first one). */
  readonly faults?: readonly CardFault[];
  /** The card's clock (certificate validity), or a fixed date. Default: the real time. */
  readonly clock?: Date | (() => Date);
  /** Overrides of the image's protocol and length options. */
  readonly options?: Partial<CardOptions>;
  /** Random source for GET CHALLENGE (deterministic tests). */
  readonly random?: (n: number) => Buffer;
  /**
   * How slow the card is: `'none'` (default), `'iso-default'`, `'typical'`, a JSON profile file or
   * a profile (docs/emulator.md, "Timing"). The ATR offers the profile's TA1; in-process, the
   * transport counts the modelled time (`transport.elapsedMs`, `transport.meter`) without
   * sleeping; in vpcd, every answer waits its modelled time.
   */
  readonly timing?: string | TimingProfile;
  /** The vpcd port (35963 is "Virtual PCD 00 00", 35964 "Virtual PCD 00 01"). Default 35963. */
  readonly port?: number;
  /** How long to wait for vpcd and pcscd to see the card, ms. Default 10 000. */
  readonly timeoutMs?: number;
}

/** What every started card offers, wherever it is. */
export interface StartedCardBase {
  /** The emulated card itself: `remove()`, `insert()`, `triesLeft()`, `faults`, `snapshot()`… */
  readonly card: VirtualCard;
  /** Arms faults now (APDUs count from now). */
  inject(...faults: CardFault[]): void;
  /** Every exchange the card saw so far, in the readable `=>`/`<=` format, PIN data as `**`. */
  transcript(): string;
  /** Forgets the transcript so far. */
  clearTranscript(): void;
  /** Releases the card (transport or vpcd connection). Safe to call twice. */
  stop(): Promise<void>;
}

/** A card in this process: open it with `ChifaCard.open(card.transport)`. */
export interface InProcessCard extends StartedCardBase {
  /** Where the card is. */
  readonly via: 'in-process';
  /** The link to the card, as a PC/SC connection would be one. */
  readonly transport: InProcessTransport;
}

/** A card in pcscd's virtual reader: open it with `PcscTransport.connect(card.reader)` (or any PC/SC client). */
export interface VpcdCard extends StartedCardBase {
  /** Where the card is. */
  readonly via: 'vpcd';
  /** The PC/SC reader name, e.g. "Virtual PCD 00 00". */
  readonly reader: string;
}

/** An emulated card that writes down every APDU it answers (redacted). */
class RecordedCard extends VirtualCard {
  readonly lines: string[] = [];

  override transmitSync(apdu: Buffer): Buffer {
    try {
      const response = super.transmitSync(apdu);
      this.lines.push(...transcriptLines(apdu, response));
      return response;
    } catch (err) {
      this.lines.push(...transcriptLines(apdu, undefined, err as { code?: unknown; message?: unknown }));
      throw err;
    }
  }
}

function snapshotOf(source: CardSource): CardSnapshot {
  if (typeof source === 'string') {
    const file = isFixtureCard(source) ? cardFixture(source) : path.resolve(source);
    return personalizeFile(file);
  }
  const image = 'build' in source && typeof source.build === 'function' ? source.build() : (source as CardImage);
  // Relative key paths in a hand-written object resolve against the working directory.
  return personalize(parseCardImage(image, 'startCard image'), process.cwd(), 'startCard image');
}

function vpcdAnswers(bridge: VpcdBridge, timeoutMs: number): Promise<boolean> {
  if (bridge.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      bridge.off('connected', onConnected);
      resolve(ok);
    };
    const onConnected = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    bridge.on('connected', onConnected);
  });
}

/** Waits until pcscd lists the card in `reader` (when the PC/SC binding loads; else a fixed wait). */
async function pcscdSeesCard(reader: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const readers = await listReaders({ timeoutMs: 2000 });
      if (readers.some((r) => r.name === reader && r.cardPresent)) return;
    } catch (err) {
      if (err instanceof PcscUnavailableError) {
        // No binding here to ask pcscd: give it more than one of its ~400 ms polls.
        await new Promise((r) => setTimeout(r, 1000));
        return;
      }
    }
    if (Date.now() > until) throw new Error(`pcscd did not report the emulated card in "${reader}" within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts an emulated card for a test.
 *
 * ```ts
 * const card = await startCard('demo');                        // a shipped fixture
 * const chifa = await ChifaCard.open(card.transport);
 * card.inject(tearNextAppend());
 * expectTranscript(card, '=> 00A4040C0BD213000001434849464101\n<= 9000\n...');
 * await card.stop();
 * ```
 *
 * `source` is a fixture name (`'demo'`, `'pharmacist-1'`, … see {@link FIXTURE_CARDS}), the path
 * of an image file, an image object, or a builder ({@link insuredImage}). The card starts powered,
 * in the reader, with a fresh memory (nothing is written to disk).
 */
export function startCard(source: CardSource, options?: StartCardOptions & { readonly via?: 'in-process' }): Promise<InProcessCard>;
export function startCard(source: CardSource, options: StartCardOptions & { readonly via: 'vpcd' }): Promise<VpcdCard>;
export function startCard(source: CardSource, options: StartCardOptions): Promise<InProcessCard | VpcdCard>;
export async function startCard(source: CardSource, options: StartCardOptions = {}): Promise<InProcessCard | VpcdCard> {
  const cardOptions: VirtualCardOptions = {
    ...(options.options !== undefined ? { options: options.options } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.random !== undefined ? { random: options.random } : {}),
    ...(options.timing !== undefined ? { timing: options.timing } : {}),
  };
  const card = new RecordedCard(snapshotOf(source), cardOptions);
  for (const f of options.faults ?? []) armFault(card.faults, f);
  const base = {
    card,
    inject: (...faults: CardFault[]): void => faults.forEach((f) => armFault(card.faults, f)),
    transcript: (): string => card.lines.join('\n') + (card.lines.length > 0 ? '\n' : ''),
    clearTranscript: (): void => {
      card.lines.length = 0;
    },
  };
  const via = options.via ?? 'in-process';
  const timeoutMs = options.timeoutMs ?? 10_000;

  if (via !== 'in-process') {
    const bridge = new VpcdBridge(card, { port: options.port ?? VPCD_PORT, retryMs: 50, maxRetryMs: 200 });
    bridge.start();
    if (await vpcdAnswers(bridge, via === 'auto' ? Math.min(timeoutMs, 1000) : timeoutMs)) {
      let stopped = false;
      const started: VpcdCard = {
        ...base,
        via: 'vpcd',
        reader: bridge.readerName,
        stop: async () => {
          if (stopped) return;
          stopped = true;
          untrack(started);
          await bridge.stop();
        },
      };
      track(started);
      try {
        await pcscdSeesCard(bridge.readerName, timeoutMs);
      } catch (err) {
        await started.stop();
        throw err;
      }
      return started;
    }
    await bridge.stop();
    if (via === 'vpcd') {
      throw new Error(
        `no vpcd answered on 127.0.0.1:${options.port ?? VPCD_PORT} within ${timeoutMs} ms: start pcscd with vsmartcard-vpcd (apt-get install pcscd vsmartcard-vpcd), or use startCard(…, { via: 'in-process' })`,
      );
    }
  }

  const transport = new InProcessTransport(card);
  let stopped = false;
  const started: InProcessCard = {
    ...base,
    via: 'in-process',
    transport,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      untrack(started);
      card.faults.clear();
      await transport.close();
    },
  };
  track(started);
  return started;
}

/** Whether pcscd's socket is there (a cheap check before `startCard(…, { via: 'vpcd' })`). */
export function pcscdRunning(socket = '/run/pcscd/pcscd.comm'): boolean {
  try {
    return fs.statSync(socket).isSocket();
  } catch {
    return false;
  }
}
