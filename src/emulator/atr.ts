import { CAPABILITY_CHAINING, CAPABILITY_EXTENDED_LENGTH } from '../card/layout';
import type { CardOptions } from './context';

/**
 * The answer-to-reset (ISO 7816-3 §8.2) and its historical bytes (ISO 7816-4 §8.1.1).
 *
 * T=1:  3B 8K 81 31 FE 45 <historical bytes> TCK
 *        T0 = 8K: TD1 follows, K historical bytes (9K when TA1 follows too: 3B 9K TA1 81 31 …)
 *        TA1 (§8.3, only when the timing profile offers a faster rate than the default):
 *              Fi in the high nibble, Di in the low one; absent = Fd 372, Dd 1
 *        TD1 = 81: TD2 follows, protocol T=1
 *        TD2 = 31: TA3 and TB3 follow, protocol T=1
 *        TA3 = FE: IFSC 254; TB3 = 45: BWI 4, CWI 5
 *        TCK: XOR of T0..the last historical byte (present because a protocol other than T=0 is indicated)
 * T=0:  3B 0K <historical bytes>   (no interface bytes: T=0 implicitly, default Fi/Di; no TCK)
 *        3B 1K TA1 <historical bytes> when a faster rate is offered (still no TCK: only T=0)
 *
 * Historical bytes (8): category indicator 00, then the compact-TLV card capabilities object
 *   73 B6 21 yy
 *   B6 = DF selection by full DF name, by path, by FID; short EF identifiers; record numbers
 *   21 = data coding byte (write behaviour proprietary, data unit 1 byte)
 *   yy = b8 command chaining (80), b7 extended Lc/Le (40) as configured; one logical channel
 * and, because the category indicator is 00, the mandatory 3-byte status indicator at the end
 * (§8.1.1.3): life-cycle status 05 (operational, activated), SW1-SW2 90 00.
 */

export const CATEGORY_INDICATOR = 0x00;
const SELECTION_METHODS = 0xb6;
const DATA_CODING = 0x21;

export function historicalBytes(options: Pick<CardOptions, 'chaining' | 'extendedLength'>): Buffer {
  const caps = (options.chaining ? CAPABILITY_CHAINING : 0) | (options.extendedLength ? CAPABILITY_EXTENDED_LENGTH : 0);
  return Buffer.from([CATEGORY_INDICATOR, 0x73, SELECTION_METHODS, DATA_CODING, caps, 0x05, 0x90, 0x00]);
}

/** IFSC the ATR announces in TA3 (T=1): the largest information field the card receives. */
export const IFSC = 0xfe;

/**
 * The ATR for these options; `ta1` (ISO 7816-3 §8.3) when the card offers a rate other than the
 * default one (timing.ts decides).
 */
export function buildAtr(options: Pick<CardOptions, 'chaining' | 'extendedLength' | 'protocol'>, ta1?: number): Buffer {
  const hist = historicalBytes(options);
  // Y1 (T0's high nibble) says which of TA1..TD1 follow: b5 = TA1, b8 = TD1.
  const ta = ta1 === undefined ? [] : [ta1];
  const y1ta = ta1 === undefined ? 0 : 0x10;
  if (options.protocol === 'T=0') return Buffer.concat([Buffer.from([0x3b, y1ta | hist.length, ...ta]), hist]);
  const body = Buffer.concat([Buffer.from([0x80 | y1ta | hist.length, ...ta, 0x81, 0x31, IFSC, 0x45]), hist]);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Buffer.concat([Buffer.from([0x3b]), body, Buffer.from([tck])]);
}
