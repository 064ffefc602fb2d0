import { ChifaError } from '../common/errors';
import type { CardCapabilities } from './transport/transport';

/**
 * Answer-to-reset parsing (ISO/IEC 7816-3 §8.2) and the card capabilities in its historical bytes
 * (ISO/IEC 7816-4 §8.1.1). The reader side uses it to choose between extended-length and short
 * APDUs without trying and failing first.
 */
export interface Atr {
  readonly bytes: Buffer;
  /** Protocols offered (T=0 when no TD byte names another). */
  readonly protocols: readonly number[];
  /** TA1 as sent, absent when the card sends none (then the default factors apply). */
  readonly ta1: number | undefined;
  /**
   * The rate factors the card offers in TA1 (the defaults Fi 372, Di 1, f(max) 5 MHz without
   * TA1); undefined when TA1 holds a reserved value, which a reader must treat as "no faster rate".
   */
  readonly offered: RateFactors | undefined;
  readonly historical: Buffer;
  /** Compact-TLV objects of the historical bytes, by tag nibble. */
  readonly compact: ReadonlyMap<number, Buffer>;
  readonly capabilities: CardCapabilities;
}

/** A malformed ATR; `offset` names the byte. */
export class AtrError extends ChifaError {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('bad-atr', `${message} at ATR byte ${offset}`);
    this.offset = offset;
  }
}

/**
 * Clock rate conversion integer Fi with its maximum clock frequency, and baud rate adjustment
 * integer Di (ISO/IEC 7816-3 §8.3, tables 7 and 8). One elementary time unit is
 * etu = (Fi / Di) × (1 / f), f being the clock the reader gives the card; the bit rate is 1 / etu.
 */
export interface RateFactors {
  readonly fi: number;
  readonly di: number;
  /** The highest clock frequency the card accepts with this Fi, in Hz. */
  readonly fMaxHz: number;
}

/** Fi and f(max) by the high nibble of TA1 (table 7); undefined = reserved. */
const FI_TABLE: readonly (readonly [fi: number, fMaxMHz: number] | undefined)[] = [
  [372, 4],
  [372, 5],
  [558, 6],
  [744, 8],
  [1116, 12],
  [1488, 16],
  [1860, 20],
  undefined,
  undefined,
  [512, 5],
  [768, 7.5],
  [1024, 10],
  [1536, 15],
  [2048, 20],
  undefined,
  undefined,
];

/** Di by the low nibble of TA1 (table 8); undefined = reserved. */
export const DI_TABLE: readonly (number | undefined)[] = [
  undefined,
  1,
  2,
  4,
  8,
  16,
  32,
  64,
  12,
  20,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
];

/** Without TA1 (§8.3): Fd = 372, Dd = 1, f(max) = 5 MHz. */
export const DEFAULT_RATE: RateFactors = { fi: 372, di: 1, fMaxHz: 5_000_000 };

/** The factors TA1 codes, or undefined when either nibble is reserved. */
export function rateFactors(ta1: number): RateFactors | undefined {
  const f = FI_TABLE[(ta1 >> 4) & 0x0f];
  const di = DI_TABLE[ta1 & 0x0f];
  if (!f || di === undefined) return undefined;
  return { fi: f[0], di, fMaxHz: f[1] * 1_000_000 };
}

/**
 * Parses an ATR (ISO/IEC 7816-3 §8.2): protocols, historical bytes and the card capabilities they
 * announce. Throws AtrError naming the byte.
 */
export function parseAtr(input: Uint8Array): Atr {
  const b = Buffer.from(input);
  if (b.length < 2) throw new AtrError('an ATR has at least TS and T0', b.length);
  if (b[0] !== 0x3b && b[0] !== 0x3f) throw new AtrError(`TS must be 3B or 3F, got ${b[0]!.toString(16)}`, 0);
  const t0 = b[1]!;
  const k = t0 & 0x0f;
  let y = t0 >> 4;
  let pos = 2;
  const protocols = new Set<number>();
  let sawTd = false;
  let ta1: number | undefined;
  for (let group = 1; y; group++) {
    // TAi, TBi, TCi, TDi present per bits b5..b8 of the previous Y nibble.
    if (group === 1 && y & 1 && pos < b.length) ta1 = b[pos];
    for (const bit of [1, 2, 4]) if (y & bit) pos++;
    if (y & 8) {
      if (pos >= b.length) throw new AtrError('truncated interface bytes', pos);
      const td = b[pos++]!;
      protocols.add(td & 0x0f);
      sawTd = true;
      y = td >> 4;
    } else y = 0;
    if (pos > b.length) throw new AtrError('truncated interface bytes', b.length);
  }
  if (!sawTd) protocols.add(0);
  if (pos + k > b.length) throw new AtrError(`${k} historical bytes announced, ${b.length - pos} present`, pos);
  const historical = b.subarray(pos, pos + k);
  pos += k;
  // TCK is present when any protocol other than T=0 is indicated (§8.2.5).
  const needsTck = [...protocols].some((p) => p !== 0);
  if (needsTck) {
    if (pos >= b.length) throw new AtrError('missing TCK', pos);
    let x = 0;
    for (let i = 1; i <= pos; i++) x ^= b[i]!;
    if (x !== 0) throw new AtrError('TCK check failed', pos);
    pos++;
  }
  if (pos !== b.length) throw new AtrError(`${b.length - pos} bytes after the ATR`, pos);
  const compact = parseHistorical(historical);
  const caps = compact.get(0x7);
  const third = caps && caps.length >= 3 ? caps[2]! : 0;
  return {
    bytes: b,
    protocols: [...protocols],
    ta1,
    offered: ta1 === undefined ? DEFAULT_RATE : rateFactors(ta1),
    historical,
    compact,
    capabilities: { chaining: (third & 0x80) !== 0, extendedLength: (third & 0x40) !== 0 },
  };
}

/**
 * Historical bytes (ISO 7816-4 §8.1.1): category indicator '00' = compact-TLV objects followed by
 * a 3-byte status indicator; '80' = compact-TLV objects only. Other categories carry no objects
 * we read.
 */
function parseHistorical(h: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (h.length === 0) return out;
  const cat = h[0]!;
  let end: number;
  if (cat === 0x00) end = h.length - 3;
  else if (cat === 0x80) end = h.length;
  else return out;
  let pos = 1;
  while (pos < end) {
    const tl = h[pos]!;
    const len = tl & 0x0f;
    if (pos + 1 + len > end) throw new AtrError('compact-TLV object runs past the historical bytes', pos);
    out.set(tl >> 4, h.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return out;
}
