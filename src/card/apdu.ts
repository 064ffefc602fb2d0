import { ChifaError } from '../common/errors';
import { SW } from './status';

/**
 * Command and response APDUs (ISO/IEC 7816-4 §5.1, ISO/IEC 7816-3 §12.1).
 *
 * A command is a value: header bytes, an optional data field and an optional expected length Ne.
 * Ne is a number of bytes (1..65536), never the raw Le byte: the encoder writes Le = 00 for
 * Ne = 256 (short) and 0000 for Ne = 65536 (extended), as §5.1 says.
 */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** Command data field (Nc = data.length, 0..65535). */
  readonly data?: Uint8Array;
  /** Expected response length Ne (1..65536); absent means no Le field. */
  readonly ne?: number;
  /** Force the extended length form even when short would do. */
  readonly extended?: boolean;
}

/** ISO 7816-3 §12.1.3 cases: 1 (no data, no Le), 2 (Le), 3 (data), 4 (data and Le). */
export type ApduCase = 1 | 2 | 3 | 4;

/** A command APDU as parseCommand read it: its fields, case, and whether its lengths were extended. */
export interface ParsedCommand extends CommandApdu {
  readonly data: Buffer;
  readonly case: ApduCase;
  readonly extended: boolean;
}

/** The `code` of an ApduFormatError: which field or structure was wrong. */
export type ApduErrorCode =
  'invalid-cla' | 'invalid-ins' | 'invalid-p1' | 'invalid-p2' | 'invalid-lc' | 'invalid-le' | 'malformed-command' | 'malformed-response';

/** Bad APDU bytes or fields; `offset` names the byte where parsing failed, when it applies. */
export class ApduFormatError extends ChifaError {
  readonly offset: number | undefined;
  constructor(code: ApduErrorCode, message: string, offset?: number) {
    super(code, offset === undefined ? message : `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

export const MAX_SHORT_NC = 255;
export const MAX_SHORT_NE = 256;
export const MAX_EXTENDED_NC = 65535;
export const MAX_EXTENDED_NE = 65536;

function checkByte(value: number, code: ApduErrorCode, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new ApduFormatError(code, `${field} must be a byte (0..255), got ${value}`);
  }
}

/**
 * Checks the header rules of ISO 7816-4 §5.4: CLA 'FF' is reserved for PPS (ISO 7816-3), and
 * INS values '6X' and '9X' are invalid because a T=0 card would take them for procedure bytes.
 */
export function validateHeader(cla: number, ins: number, p1: number, p2: number): void {
  checkByte(cla, 'invalid-cla', 'CLA');
  checkByte(ins, 'invalid-ins', 'INS');
  checkByte(p1, 'invalid-p1', 'P1');
  checkByte(p2, 'invalid-p2', 'P2');
  if (cla === 0xff) throw new ApduFormatError('invalid-cla', "CLA 'FF' is reserved for PPS");
  if ((ins & 0xf0) === 0x60 || (ins & 0xf0) === 0x90) {
    throw new ApduFormatError('invalid-ins', `INS '${hexByte(ins)}' is invalid (6X and 9X are procedure bytes)`);
  }
}

/** Whether the command needs the extended length form (§5.1: Nc > 255 or Ne > 256). */
export function needsExtended(apdu: CommandApdu): boolean {
  const nc = apdu.data?.length ?? 0;
  return apdu.extended === true || nc > MAX_SHORT_NC || (apdu.ne !== undefined && apdu.ne > MAX_SHORT_NE);
}

/** Encodes a command APDU, short form unless the sizes or `extended` ask for the extended form. */
export function encodeCommand(apdu: CommandApdu): Buffer {
  validateHeader(apdu.cla, apdu.ins, apdu.p1, apdu.p2);
  const data = apdu.data ?? new Uint8Array(0);
  const nc = data.length;
  const ne = apdu.ne;
  if (nc > MAX_EXTENDED_NC) throw new ApduFormatError('invalid-lc', `Nc ${nc} exceeds ${MAX_EXTENDED_NC}`);
  if (ne !== undefined && (!Number.isInteger(ne) || ne < 1 || ne > MAX_EXTENDED_NE)) {
    throw new ApduFormatError('invalid-le', `Ne must be 1..${MAX_EXTENDED_NE}, got ${ne}`);
  }
  const ext = needsExtended(apdu);
  const size = 4 + (nc > 0 ? (ext ? 3 : 1) + nc : 0) + (ne !== undefined ? (ext ? (nc > 0 ? 2 : 3) : 1) : 0);
  const out = Buffer.allocUnsafe(size);
  out[0] = apdu.cla;
  out[1] = apdu.ins;
  out[2] = apdu.p1;
  out[3] = apdu.p2;
  let o = 4;
  if (nc > 0) {
    if (ext) {
      // §5.1: extended Lc is '00' followed by two bytes.
      out[o++] = 0;
      out[o++] = nc >> 8;
      out[o++] = nc & 0xff;
    } else {
      out[o++] = nc;
    }
    out.set(data, o);
    o += nc;
  }
  if (ne !== undefined) {
    if (ext) {
      // Extended Le: two bytes after an extended Lc, or '00' + two bytes with no data field.
      if (nc === 0) out[o++] = 0;
      const le = ne === MAX_EXTENDED_NE ? 0 : ne;
      out.writeUInt16BE(le, o);
    } else {
      out[o] = ne === MAX_SHORT_NE ? 0 : ne;
    }
  }
  return out;
}

/**
 * Decodes command APDU bytes into their case, Nc, data and Ne (ISO 7816-3 §12.1.3). This is the
 * card side's view, used by the emulator; header validity beyond the byte layout is left to the
 * caller, which answers with the proper status word.
 */
export function parseCommand(bytes: Uint8Array): ParsedCommand {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  if (n < 4) throw new ApduFormatError('malformed-command', `a command APDU has at least 4 bytes, got ${n}`, n);
  const cla = buf[0]!;
  const ins = buf[1]!;
  const p1 = buf[2]!;
  const p2 = buf[3]!;
  const body = n - 4;
  const empty = Buffer.alloc(0);
  if (body === 0) return { cla, ins, p1, p2, data: empty, case: 1, extended: false };
  const b1 = buf[4]!;
  if (body === 1) return { cla, ins, p1, p2, data: empty, ne: b1 === 0 ? 256 : b1, case: 2, extended: false };
  if (b1 !== 0) {
    // Short case 3 (body = 1 + Lc) or case 4 (body = 2 + Lc).
    if (body === 1 + b1) return { cla, ins, p1, p2, data: buf.subarray(5, 5 + b1), case: 3, extended: false };
    if (body === 2 + b1) {
      const le = buf[n - 1]!;
      return { cla, ins, p1, p2, data: buf.subarray(5, 5 + b1), ne: le === 0 ? 256 : le, case: 4, extended: false };
    }
    throw new ApduFormatError('malformed-command', `Lc '${hexByte(b1)}' does not match the ${body - 1} bytes that follow`, 4);
  }
  // b1 = 00: extended forms.
  if (body < 3) throw new ApduFormatError('malformed-command', 'truncated extended length field', n);
  const w = (buf[5]! << 8) | buf[6]!;
  if (body === 3) return { cla, ins, p1, p2, data: empty, ne: w === 0 ? 65536 : w, case: 2, extended: true };
  if (w === 0) throw new ApduFormatError('malformed-command', 'extended Lc of 0000 is invalid', 5);
  if (body === 3 + w) return { cla, ins, p1, p2, data: buf.subarray(7, 7 + w), case: 3, extended: true };
  if (body === 5 + w) {
    const le = (buf[n - 2]! << 8) | buf[n - 1]!;
    return { cla, ins, p1, p2, data: buf.subarray(7, 7 + w), ne: le === 0 ? 65536 : le, case: 4, extended: true };
  }
  throw new ApduFormatError('malformed-command', `extended Lc ${w} does not match the ${body - 3} bytes that follow`, 5);
}

/** A response APDU: data field and the two status bytes (ISO 7816-4 §5.1.3). */
export class ResponseApdu {
  constructor(
    readonly data: Buffer,
    readonly sw1: number,
    readonly sw2: number,
  ) {}

  /** SW1-SW2 as one 16-bit number, e.g. 0x9000. */
  get sw(): number {
    return (this.sw1 << 8) | this.sw2;
  }

  /** Normal processing: '9000' (warnings '62xx'/'63xx' are not ok). */
  get ok(): boolean {
    return this.sw === SW.OK;
  }

  /** The response as bytes on the wire: data, then SW1 SW2. */
  toBytes(): Buffer {
    const out = Buffer.allocUnsafe(this.data.length + 2);
    this.data.copy(out, 0);
    out[this.data.length] = this.sw1;
    out[this.data.length + 1] = this.sw2;
    return out;
  }

  /** A response from its data and 16-bit status word (e.g. `ResponseApdu.of(data, 0x9000)`). */
  static of(data: Uint8Array, sw: number): ResponseApdu {
    return new ResponseApdu(Buffer.from(data), (sw >> 8) & 0xff, sw & 0xff);
  }
}

/** Parses response bytes: the last two are SW1 SW2 (a response is never shorter than 2 bytes). */
export function parseResponse(bytes: Uint8Array): ResponseApdu {
  const n = bytes.length;
  if (n < 2) throw new ApduFormatError('malformed-response', `a response APDU has at least 2 bytes, got ${n}`, n);
  if (n - 2 > MAX_EXTENDED_NE) {
    throw new ApduFormatError('malformed-response', `response data of ${n - 2} bytes exceeds ${MAX_EXTENDED_NE}`, MAX_EXTENDED_NE);
  }
  const sw1 = bytes[n - 2]!;
  // SW1 is always '6X' or '9X' (ISO 7816-4 §5.1.3); anything else is not a status word.
  if ((sw1 & 0xf0) !== 0x60 && (sw1 & 0xf0) !== 0x90) {
    throw new ApduFormatError('malformed-response', `SW1 '${hexByte(sw1)}' is not a status byte (6X or 9X)`, n - 2);
  }
  return new ResponseApdu(Buffer.from(bytes.subarray(0, n - 2)), sw1, bytes[n - 1]!);
}

export function hexByte(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

/** Upper-case hex of `bytes`, with `sep` between bytes if given (`toHex(b, " ")` → "90 00"). */
export function toHex(bytes: Uint8Array, sep = ''): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?=.)/g, sep ? `$1${sep}` : '$1');
}

/** Parses hex with optional spaces or colons; throws a typed error naming the offset of a bad digit. */
export function fromHex(text: string): Buffer {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0) throw new ApduFormatError('malformed-command', `odd number of hex digits in "${text}"`);
  const bad = /[^0-9a-fA-F]/.exec(clean);
  if (bad) throw new ApduFormatError('malformed-command', `"${bad[0]}" is not a hex digit`, Math.floor(bad.index / 2));
  return Buffer.from(clean, 'hex');
}
