import { SW } from '../../card/status';
import { encodeTlv } from '../../card/tlv';
import { historicalBytes } from '../atr';
import { fit, sw, type Command, type CommandContext, type Reply } from '../context';

/**
 * GET DATA 'CA' (ISO 7816-4 §11.4.3): P1-P2 is the tag; the answer is the object's value.
 *
 *   5F52  historical bytes (as in the ATR)
 *   7F66  extended length information (§12.7.1): 02 02 <max Nc> 02 02 <max Ne> — 65535/65535 with
 *         extended length, 255/256 without (so a terminal can check what the ATR said)
 *   5A    insured card: the card serial (ASCII); professional card: the pharmacy identifier
 *   7F49  professional card: its public key, { 86 41 04 X Y } (uncompressed point)
 * Other tags: '6A88'. The odd-INS form 'CB' is not supported ('6D00').
 */
export function getData(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.data.length !== 0) return sw(SW.WRONG_LENGTH);
  const tag = (cmd.p1 << 8) | cmd.p2;
  let value: Buffer | undefined;
  if (tag === 0x5f52) value = historicalBytes(ctx.options);
  else if (tag === 0x7f66) {
    const ext = ctx.options.extendedLength;
    const n = (v: number): Buffer => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
    value = encodeTlv([
      { tag: 0x02, value: n(ext ? 0xffff : 0xff) },
      { tag: 0x02, value: n(ext ? 0xffff : 0x100) },
    ]);
  } else value = ctx.dataObjects.get(tag);
  if (!value) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  return fit(Buffer.from(value), cmd.ne);
}
