/**
 * A strict RFC 4180 CSV reader. Hand-written so that every problem can be reported by line and
 * column, and so that a bad record does not hide the ones after it.
 *
 * What it accepts: fields separated by `,` (or another one-character delimiter, e.g. the `;` of
 * spreadsheets and bank exports in locales whose decimal separator is the comma); records ended by CRLF or LF (the last one may have no
 * line end); a field wholly enclosed in `"` may contain `,`, line breaks and `""` (one quote).
 * A UTF-8 byte-order mark at the start is ignored, and so are empty lines.
 * What it refuses (RFC 4180 §2.5–2.7): a `"` inside an unquoted field, text after a closing quote,
 * a quoted field that never closes, and a bare CR.
 * After an error it skips to the end of that physical line and carries on.
 */

export interface CsvRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
}

export interface CsvError {
  line: number;
  /** 1-based field number within the record. */
  column: number;
  message: string;
}

export interface CsvResult {
  records: CsvRecord[];
  errors: CsvError[];
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export interface CsvOptions {
  /** The field delimiter, one character other than a quote or a line end; `,` by default. */
  delimiter?: ',' | ';' | '\t';
}

export function parseCsv(input: string, options: CsvOptions = {}): CsvResult {
  const DELIMITER = (options.delimiter ?? ',').charCodeAt(0);
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const n = text.length;
  const records: CsvRecord[] = [];
  const errors: CsvError[] = [];
  let i = 0;
  let line = 1;

  /** Skips to just after the next line end (used after an error); returns the new position. */
  const skipLine = (from: number): number => {
    let j = from;
    while (j < n && text.charCodeAt(j) !== LF) j++;
    if (j < n) {
      line++;
      j++;
    }
    return j;
  };

  recordLoop: while (i < n) {
    const startLine = line;
    // An empty line is not a record.
    if (text.charCodeAt(i) === LF) {
      i++;
      line++;
      continue;
    }
    if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) {
      i += 2;
      line++;
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      const column = fields.length + 1;
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        // Quoted field: runs to the next lone quote; "" is an escaped quote.
        let j = i + 1;
        let out = '';
        let segment = j;
        for (;;) {
          if (j >= n) {
            errors.push({ line: startLine, column, message: 'quoted field is never closed' });
            i = n;
            continue recordLoop;
          }
          const c = text.charCodeAt(j);
          if (c === QUOTE) {
            if (text.charCodeAt(j + 1) === QUOTE) {
              out += text.slice(segment, j + 1);
              j += 2;
              segment = j;
              continue;
            }
            out += text.slice(segment, j);
            j++;
            break;
          }
          if (c === LF) line++;
          j++;
        }
        value = out;
        i = j;
        const next = i < n ? text.charCodeAt(i) : -1;
        if (next !== -1 && next !== DELIMITER && next !== LF && !(next === CR && text.charCodeAt(i + 1) === LF)) {
          errors.push({ line, column, message: 'unexpected text after a closing quote' });
          i = skipLine(i);
          continue recordLoop;
        }
      } else {
        let j = i;
        for (;;) {
          if (j >= n) break;
          const c = text.charCodeAt(j);
          if (c === DELIMITER || c === LF) break;
          if (c === CR) {
            if (text.charCodeAt(j + 1) === LF) break;
            errors.push({ line, column, message: 'carriage return without a line feed' });
            i = skipLine(j);
            continue recordLoop;
          }
          if (c === QUOTE) {
            errors.push({ line, column, message: 'a quote inside an unquoted field (enclose the field in quotes and double the quote)' });
            i = skipLine(j);
            continue recordLoop;
          }
          j++;
        }
        value = text.slice(i, j);
        i = j;
      }
      fields.push(value);
      // After a field: the delimiter (another field follows), a line end, or the end of the text.
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === DELIMITER) {
        i++;
        continue;
      }
      i += c === CR ? 2 : 1; // CRLF or LF
      line++;
      break;
    }
    records.push({ line: startLine, fields });
  }
  return { records, errors };
}

/**
 * Quotes a field for writing when it needs it: it holds the `delimiter` (`,` by default; a `;`
 * file quotes `;` and leaves `,` bare), a quote, or a line break.
 */
export function csvField(s: string, delimiter: NonNullable<CsvOptions['delimiter']> = ','): string {
  return s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
