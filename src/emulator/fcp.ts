import { FileDescriptor } from '../card/layout';
import { encodeTlv, type TlvInput } from '../card/tlv';
import type { Df, Ef } from './filesystem';

/**
 * File control parameters (ISO 7816-4 §7.4.3, table 12) returned by SELECT.
 *
 * EF, transparent: 62 { 80 02 size, 82 01 01, 83 02 FID, 88 01 SFI<<3, 8A 01 05 }
 * EF, record:      62 { 80 02 capacity×length, 82 06 FDB 41 LLLL NNNN, 83 02 FID, 88 01 SFI<<3, 8A 01 05 }
 *                  (FDB 02 linear-fixed / 06 cyclic; data coding byte 41; LLLL the fixed record
 *                  length; NNNN the number of records currently in the file; capacity = 80 / LLLL)
 * DF:              62 { 82 01 38, 83 02 FID, 84 AID (not for the MF), 8A 01 05 }
 * '8A' 05 is the life-cycle status "operational state (activated)" (§7.4.10). Tag 88 holds the
 * SFI in bits b8-b4 (§7.4.4). Access rules are not in the FCP: they are fixed by the layout and
 * documented in docs/card-layout.md.
 */

const LCS_OPERATIONAL_ACTIVATED = 0x05;
/** Data coding byte (§7.4.3 table 12 footnote, §8.1.1.2.7 table 117): proprietary write, unit 1 byte. */
const DATA_CODING_BYTE = 0x41;

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

function contents(file: Ef | Df): TlvInput[] {
  const lcs = { tag: 0x8a, value: Buffer.from([LCS_OPERATIONAL_ACTIVATED]) };
  if ('efs' in file) {
    const items: TlvInput[] = [
      { tag: 0x82, value: Buffer.from([FileDescriptor.df]) },
      { tag: 0x83, value: u16(file.fid) },
    ];
    if (file.aid) items.push({ tag: 0x84, value: file.aid });
    items.push(lcs);
    return items;
  }
  const def = file.def;
  const sfi: TlvInput[] = def.sfi ? [{ tag: 0x88, value: Buffer.from([def.sfi << 3]) }] : [];
  if (file.kind === 'transparent') {
    return [
      { tag: 0x80, value: u16(def.size) },
      { tag: 0x82, value: Buffer.from([FileDescriptor.transparent]) },
      { tag: 0x83, value: u16(def.fid) },
      ...sfi,
      lcs,
    ];
  }
  const fdb = file.kind === 'cyclic' ? FileDescriptor.cyclic : FileDescriptor.linearFixed;
  return [
    { tag: 0x80, value: u16(file.capacity * file.recordLength) },
    { tag: 0x82, value: Buffer.concat([Buffer.from([fdb, DATA_CODING_BYTE]), u16(file.recordLength), u16(file.count)]) },
    { tag: 0x83, value: u16(def.fid) },
    ...sfi,
    lcs,
  ];
}

/** FCP template '62'. */
export function fcp(file: Ef | Df): Buffer {
  return encodeTlv({ tag: 0x62, children: contents(file) });
}

/** FCI template '6F' (SELECT P2 = 00): the same objects as the FCP, nothing proprietary. */
export function fci(file: Ef | Df): Buffer {
  return encodeTlv({ tag: 0x6f, children: contents(file) });
}

/** FMD template '64' (SELECT P2 = 08): this card has no file management data, so it is empty. */
export function fmd(): Buffer {
  return Buffer.from([0x64, 0x00]);
}
