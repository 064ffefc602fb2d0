import { parseCommand } from '../card/apdu';
import { DEFAULT_RATE, DI_TABLE, rateFactors, type RateFactors } from '../card/atr';
import type { CardOptions } from './context';
import { IFSC } from './atr';
import type { TimingProfile } from './timing-profile';
import type { CardWork } from './work';

/**
 * The card timing model: how long a real contact card and reader would take for an exchange the
 * emulator answers in microseconds. Figures and sources: docs/emulator.md ("Timing").
 *
 * Link (ISO/IEC 7816-3):
 * - §7.1, §8.3: one elementary time unit etu = (F / D) / f. The ATR and PPS run at the default
 *   Fd = 372, Dd = 1; afterwards at the rate agreed by PPS (§9): what the card offers in TA1 if the
 *   reader supports it, else the fastest lower Di of the table within the reader's maximum, else
 *   the default (see `negotiate`).
 * - §7.2, §8.3 (TC1 absent, N = 0): every character takes 12 etu between leading edges: start
 *   bit, 8 data bits, parity, 2 etu guard time.
 * - §10.2 (T=0): 16 etu between the leading edges of two characters in opposite directions, so
 *   each turn of direction adds 4 etu. A command goes as a header CLA INS P1 P2 P3 (P3 = 00 for
 *   case 1, Le for case 2, Lc for cases 3 and 4: Le never travels in a T=0 TPDU); the card
 *   answers the procedure byte INS before data moves either way, then SW1 SW2 (§10.3).
 * - §11 (T=1): every block is prologue NAD PCB LEN + information field + epilogue LRC (4 bytes
 *   more than its data). A command longer than IFSC (254, TA3 of our ATR) or a response longer
 *   than the reader's IFSD is chained: each block but the last is acknowledged by an R-block
 *   (4 bytes) from the other side (§11.6.3). BGT: 22 etu between the leading edges of characters
 *   in opposite directions, so each block adds 10 etu. BWT and CWT are limits on waiting, not
 *   costs: the processing times below stay well inside BWT (BWI 4: 1.6 s at the default rate).
 *
 * Card: every command costs the profile's processing time; each NVM transaction programs its
 * pages (with anti-tearing, the journal too, plus its commit flag and its clearing: see nvm.ts);
 * each ECDSA P-256 signature or verification the command runs costs the profile's figure.
 */

/** §7.2 / §8.3: character frame plus guard time, between leading edges, with TC1 absent. */
export const CHARACTER_ETU = 12;
/** §10.2: T=0, between leading edges of characters in opposite directions. */
export const T0_TURNAROUND_ETU = 16;
/** §11.2: T=1 block guard time. */
export const T1_BLOCK_GUARD_ETU = 22;
/** §11.3: NAD, PCB, LEN before the information field and LRC after it. */
export const T1_FRAMING_BYTES = 4;
/** §9.2: PPSS, PPS0, PPS1, PCK — sent by the reader and echoed by the card. */
export const PPS_BYTES = 4;
/**
 * Bytes the NVM journal stores per write besides the data (region, offset, length): the
 * emulator's journal layout is its own, this is an estimate of a compact one.
 */
export const JOURNAL_ENTRY_HEADER = 4;

/** The transmission rate in use. */
export interface LinkRate {
  readonly fi: number;
  readonly di: number;
  /** The clock the reader gives the card, Hz. */
  readonly clockHz: number;
  /** One etu in milliseconds. */
  readonly etuMs: number;
  readonly bitRate: number;
}

/** Modelled time of one exchange (or of a reset), split by cause. */
export interface ExchangeCost {
  /** Characters, framing and guard times on the I/O line. */
  readonly wireMs: number;
  /** The per-command processing time. */
  readonly commandMs: number;
  /** EEPROM page programming. */
  readonly nvmMs: number;
  /** ECDSA signatures and verifications. */
  readonly cryptoMs: number;
  readonly totalMs: number;
  /** Characters on the line, framing and procedure bytes included. */
  readonly characters: number;
  readonly nvmPages: number;
}

export const ZERO_COST: ExchangeCost = { wireMs: 0, commandMs: 0, nvmMs: 0, cryptoMs: 0, totalMs: 0, characters: 0, nvmPages: 0 };

function rate(factors: Pick<RateFactors, 'fi' | 'di'>, clockHz: number): LinkRate {
  const etuMs = (factors.fi / factors.di / clockHz) * 1000;
  return { fi: factors.fi, di: factors.di, clockHz, etuMs, bitRate: 1000 / etuMs };
}

/**
 * The rate card and reader agree on (PPS, §9): the card's offer (TA1) when the reader can go that
 * fast; otherwise the same Fi with the largest lower Di of table 8 that the reader supports;
 * otherwise the default. The reader's clock never exceeds the card's f(max) for that Fi.
 * Through vpcd nothing negotiates (pcscd sends no PPS to a virtual reader): the emulator applies
 * this rate as the one a real reader and this card would agree on.
 */
export function negotiate(profile: TimingProfile): { rate: LinkRate; pps: boolean } {
  const { clockHz, maxBitRate } = profile.reader;
  const offered = profile.card.ta1 === undefined ? DEFAULT_RATE : (rateFactors(profile.card.ta1) ?? DEFAULT_RATE);
  const clock = Math.min(clockHz, offered.fMaxHz);
  const dis = DI_TABLE.filter((d): d is number => d !== undefined && d <= offered.di).sort((a, b) => b - a);
  for (const di of dis) {
    const r = rate({ fi: offered.fi, di }, clock);
    if (r.bitRate <= maxBitRate) {
      const pps = r.fi !== DEFAULT_RATE.fi || r.di !== DEFAULT_RATE.di;
      return { rate: pps ? r : rate(DEFAULT_RATE, clockHz), pps };
    }
  }
  return { rate: rate(DEFAULT_RATE, clockHz), pps: false };
}

/** What a card and its reader take, per the timing profile: the link rate, PPS, and each exchange's modelled time. */
export class CardTimingModel {
  /** The rate during the ATR and PPS. */
  readonly initialRate: LinkRate;
  /** The rate after PPS. */
  readonly rate: LinkRate;
  /** Whether a PPS exchange switches to `rate`. */
  readonly pps: boolean;

  constructor(readonly profile: TimingProfile) {
    this.initialRate = rate(DEFAULT_RATE, profile.reader.clockHz);
    const n = negotiate(profile);
    this.rate = n.rate;
    this.pps = n.pps;
  }

  /** TA1 for the card's ATR (undefined: none). */
  get ta1(): number | undefined {
    return this.profile.card.ta1;
  }

  /** Time to move `n` bytes as bare characters at the agreed rate (no framing, no turnarounds). */
  bytesMs(n: number): number {
    return n * CHARACTER_ETU * this.rate.etuMs;
  }

  /**
   * The least time a task can take on this card: `bytes` it must move, as bare characters at the
   * agreed rate (no headers, framing or turnarounds), and the card operations it cannot avoid
   * (EEPROM pages, signatures). What a benchmark compares a modelled run against.
   */
  floorMs(need: { bytes: number; nvmPages?: number; ecdsaSign?: number; ecdsaVerify?: number }): number {
    const card = this.profile.card;
    return (
      this.bytesMs(need.bytes) +
      (need.nvmPages ?? 0) * card.eeprom.pageWriteMs +
      (need.ecdsaSign ?? 0) * card.ecdsaP256.signMs +
      (need.ecdsaVerify ?? 0) * card.ecdsaP256.verifyMs
    );
  }

  /**
   * From reset to the first command: the ATR at the default rate, PPS request and answer when
   * the rate changes, and with T=1 the reader's S(IFS request) and the card's answer when IFSD
   * is not the default 32 (§11.4.2).
   */
  resetCost(atr: Buffer, protocol: CardOptions['protocol']): ExchangeCost {
    let wire = atr.length * CHARACTER_ETU * this.initialRate.etuMs;
    let characters = atr.length;
    if (this.pps) {
      const turns = 2 * (T0_TURNAROUND_ETU - CHARACTER_ETU);
      wire += (2 * PPS_BYTES * CHARACTER_ETU + turns) * this.initialRate.etuMs;
      characters += 2 * PPS_BYTES;
    }
    if (protocol === 'T=1' && this.profile.reader.ifsd !== 32) {
      // S(IFS request) and S(IFS response): NAD PCB LEN IFSD LRC each, two blocks.
      const s = T1_FRAMING_BYTES + 1;
      wire += (2 * s * CHARACTER_ETU + 2 * (T1_BLOCK_GUARD_ETU - CHARACTER_ETU)) * this.rate.etuMs;
      characters += 2 * s;
    }
    return { ...ZERO_COST, wireMs: wire, totalMs: wire, characters };
  }

  /** @internal The modelled time of one command/response exchange and what the card did for it. */
  exchange(command: Buffer, response: Buffer, protocol: CardOptions['protocol'], work?: CardWork): ExchangeCost {
    const { characters, etu } = protocol === 'T=0' ? t0Line(command, response) : t1Line(command, response, this.profile.reader.ifsd);
    const wireMs = etu * this.rate.etuMs;
    const card = this.profile.card;
    const nvmPages = work ? work.transactions.reduce((n, tx) => n + pagesOf(tx, card.eeprom.pageBytes), 0) : 0;
    const nvmMs = nvmPages * card.eeprom.pageWriteMs;
    const cryptoMs = work ? work.ecdsaSign * card.ecdsaP256.signMs + work.ecdsaVerify * card.ecdsaP256.verifyMs : 0;
    const commandMs = card.commandMs;
    return { wireMs, commandMs, nvmMs, cryptoMs, totalMs: wireMs + commandMs + nvmMs + cryptoMs, characters, nvmPages };
  }
}

/**
 * T=0: the TPDU header (5), command data, the procedure byte when data moves, response data and
 * SW1 SW2; 12 etu each, plus 4 etu per turn of direction: the reader starting after the card,
 * the card answering the header, and for cases 3 and 4 the reader sending data after the
 * procedure byte and the card its status after the data.
 */
function t0Line(command: Buffer, response: Buffer): { characters: number; etu: number } {
  let nc: number;
  let withData = false;
  try {
    const c = parseCommand(command);
    nc = c.data.length;
    withData = c.case === 3 || c.case === 4;
  } catch {
    nc = Math.max(0, command.length - 5);
  }
  const responseData = Math.max(0, response.length - 2);
  const procedure = withData || responseData > 0 ? 1 : 0;
  const characters = 5 + nc + procedure + responseData + 2;
  const turns = withData ? 4 : 2;
  return { characters, etu: characters * CHARACTER_ETU + turns * (T0_TURNAROUND_ETU - CHARACTER_ETU) };
}

/**
 * T=1: the command in I-blocks of at most IFSC bytes, the response in I-blocks of at most IFSD
 * bytes, an R-block from the other side after every block but the last of a chain; 4 framing
 * bytes per block, 12 etu per character, 10 etu more per block (BGT 22 etu after the other
 * side's last character).
 */
function t1Line(command: Buffer, response: Buffer, ifsd: number): { characters: number; etu: number } {
  const commandBlocks = Math.max(1, Math.ceil(command.length / IFSC));
  const responseBlocks = Math.max(1, Math.ceil(response.length / ifsd));
  const blocks = 2 * commandBlocks - 1 + (2 * responseBlocks - 1);
  const characters = command.length + response.length + blocks * T1_FRAMING_BYTES;
  return { characters, etu: characters * CHARACTER_ETU + blocks * (T1_BLOCK_GUARD_ETU - CHARACTER_ETU) };
}

/**
 * EEPROM pages one NVM transaction programs: each distinct page its writes touch (regions taken
 * as page-aligned), and when journalled the journal's pages, its commit flag and its clearing.
 */
export function pagesOf(tx: CardWork['transactions'][number], pageBytes: number): number {
  const pages = new Set<string>();
  let journal = 0;
  for (const w of tx.writes) {
    if (w.length === 0) continue;
    for (let p = Math.floor(w.offset / pageBytes); p <= Math.floor((w.offset + w.length - 1) / pageBytes); p++)
      pages.add(`${w.region}#${p}`);
    journal += JOURNAL_ENTRY_HEADER + w.length;
  }
  return pages.size + (tx.journalled ? Math.ceil(journal / pageBytes) + 2 : 0);
}

/** Accumulated modelled time: what a transport or bridge exposes. */
export class TimingMeter {
  apdus = 0;
  resets = 0;
  wireMs = 0;
  commandMs = 0;
  nvmMs = 0;
  cryptoMs = 0;
  characters = 0;
  nvmPages = 0;

  /** The modelled time so far, ms. */
  get totalMs(): number {
    return this.wireMs + this.commandMs + this.nvmMs + this.cryptoMs;
  }

  /** Adds one exchange's (or reset's) cost. */
  add(cost: ExchangeCost, kind: 'apdu' | 'reset' = 'apdu'): void {
    if (kind === 'apdu') this.apdus++;
    else this.resets++;
    this.wireMs += cost.wireMs;
    this.commandMs += cost.commandMs;
    this.nvmMs += cost.nvmMs;
    this.cryptoMs += cost.cryptoMs;
    this.characters += cost.characters;
    this.nvmPages += cost.nvmPages;
  }

  /** Back to zero. */
  clear(): void {
    this.apdus = this.resets = this.characters = this.nvmPages = 0;
    this.wireMs = this.commandMs = this.nvmMs = this.cryptoMs = 0;
  }

  /** A copy of the totals (for a report, or to subtract from a later one). */
  snapshot(): Readonly<{ apdus: number; resets: number; totalMs: number } & Omit<ExchangeCost, 'totalMs'>> {
    return {
      apdus: this.apdus,
      resets: this.resets,
      totalMs: this.totalMs,
      wireMs: this.wireMs,
      commandMs: this.commandMs,
      nvmMs: this.nvmMs,
      cryptoMs: this.cryptoMs,
      characters: this.characters,
      nvmPages: this.nvmPages,
    };
  }
}
