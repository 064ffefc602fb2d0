import { CAPABILITY_CHAINING, CAPABILITY_EXTENDED_LENGTH } from '../card/layout';
import type { CardOptions } from './context';

/**
 * The answer-to-reset (ISO 7816-3 §8.2) and its historical bytes (ISO 7816-4 §8.1.1).
 *
 * T=1:  3B 8K 81 31 FE 45 <historical bytes> TCK
 *        T0 = 8K: TD1 follows, K historical bytes
 *        TD1 = 81: TD2 follows, protocol T=1
 *        TD2 = 31: TA3 and TB3 follow, protocol T=1
 *        TA3 = FE: IFSC 254; TB3 = 45: BWI 4, CWI 5
 *        TCK: XOR of T0..the last historical byte (present because a protocol other than T=0 is indicated)
 * T=0:  3B 0K <historical bytes>   (no interface bytes: T=0 implicitly, default Fi/Di; no TCK)
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

export function buildAtr(options: Pick<CardOptions, 'chaining' | 'extendedLength' | 'protocol'>): Buffer {
  const hist = historicalBytes(options);
  if (options.protocol === 'T=0') return Buffer.concat([Buffer.from([0x3b, hist.length]), hist]);
  const body = Buffer.concat([Buffer.from([0x80 | hist.length, 0x81, 0x31, 0xfe, 0x45]), hist]);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Buffer.concat([Buffer.from([0x3b]), body, Buffer.from([tck])]);
}
