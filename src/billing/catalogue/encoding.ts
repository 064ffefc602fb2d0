import { quoteClipped } from '../../common/display';
import { BillingError } from '../errors';

/**
 * Turns a catalogue file's bytes into text, strictly. The default is UTF-8, with or without a
 * byte-order mark; a byte that is not UTF-8 stops the import (naming its line and column) rather
 * than becoming U+FFFD in a product name, which is what a lenient decoder does to a
 * spreadsheet's "CSV" saved in the Windows code page. Such a file is read as it was written with
 * `windows-1252` (`latin1` is the same decoder: the WHATWG Encoding Standard, which Node's
 * TextDecoder implements, maps the label `latin1` to windows-1252; they differ from ISO-8859-1
 * only in 0x80–0x9F, C1 control codes there, which no catalogue field may hold).
 */

export const CATALOGUE_ENCODINGS = ['utf-8', 'windows-1252', 'latin1'] as const;
/** The encodings a catalogue file may be read with. */
export type CatalogueEncoding = (typeof CATALOGUE_ENCODINGS)[number];

/**
 * Accepts the names above in any case, and `utf8` / `cp1252` as spelt by other tools. `field` names
 * where the name came from in the error (the CLI passes its option, `--encoding`).
 */
export function parseCatalogueEncoding(name: string, field = 'encoding'): CatalogueEncoding {
  const n = name.trim().toLowerCase();
  if (n === 'utf8') return 'utf-8';
  if (n === 'cp1252') return 'windows-1252';
  if ((CATALOGUE_ENCODINGS as readonly string[]).includes(n)) return n as CatalogueEncoding;
  throw new BillingError('invalid-input', `${field}: expected one of ${CATALOGUE_ENCODINGS.join(', ')}, got ${quoteClipped(name)}`, field);
}

/** A catalogue file is not text in the encoding it is read with. Nothing is imported. */
export class CatalogueEncodingError extends BillingError {
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, message: string) {
    super('invalid-encoding', `${file}: line ${line}, column ${column}: ${message}; nothing imported`, `line ${line}, column ${column}`);
    this.line = line;
    this.column = column;
  }
}

const BOM_UTF8 = [0xef, 0xbb, 0xbf];
const startsWith = (bytes: Uint8Array, prefix: readonly number[]): boolean => prefix.every((b, i) => bytes[i] === b);
const hex = (b: number): string => '0x' + b.toString(16).toUpperCase().padStart(2, '0');

/**
 * The text of a catalogue file read as `encoding`. A UTF-8 byte-order mark is dropped; one in a
 * file read as windows-1252 means the file is UTF-8 after all and is refused, as is a UTF-16
 * file (its byte-order mark), which would otherwise fail on its second byte with a puzzling
 * message.
 */
export function decodeCatalogue(bytes: Uint8Array, encoding: CatalogueEncoding = 'utf-8', file = 'catalogue'): string {
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    const bom = `${hex(bytes[0]!)} ${hex(bytes[1]!)}`;
    throw new CatalogueEncodingError(file, 1, 1, `the file is UTF-16 (it starts with the byte-order mark ${bom}); save it as UTF-8`);
  }
  if (encoding !== 'utf-8') {
    if (startsWith(bytes, BOM_UTF8))
      throw new CatalogueEncodingError(file, 1, 1, `the file starts with a UTF-8 byte-order mark: it is UTF-8, not ${encoding}`);
    return new TextDecoder(encoding).decode(bytes);
  }
  try {
    // fatal: an invalid sequence throws instead of becoming U+FFFD; the BOM is dropped.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw err;
  }
  const at = firstInvalidUtf8(bytes);
  let lineStart = at;
  while (lineStart > 0 && bytes[lineStart - 1] !== 0x0a) lineStart--;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
  let prefix = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(lineStart, at));
  if (lineStart === 0 && prefix.charCodeAt(0) === 0xfeff) prefix = prefix.slice(1);
  // Columns count code points, as people count characters: a low surrogate ends a pair already counted.
  let column = 1;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) column++;
  }
  throw new CatalogueEncodingError(
    file,
    line,
    column,
    `byte ${hex(bytes[at]!)} is not valid UTF-8 (byte offset ${at}); ` +
      'if a spreadsheet saved the file in the Windows code page, read it as windows-1252 (`chifa catalogue import --encoding windows-1252`)',
  );
}

/**
 * Offset of the first byte that starts an invalid UTF-8 sequence (the file is known to hold one).
 * The lenient decoder puts U+FFFD exactly there; a U+FFFD that the file itself spells EF BF BD
 * is genuine and skipped. Every other code point advances by its own UTF-8 length.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  let at = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0xfffd && !(bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd)) return at;
    at += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return at;
}
