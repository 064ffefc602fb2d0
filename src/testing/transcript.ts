import { AssertionError } from 'node:assert';
import { fromHex, toHex } from '../card/apdu';
import { isSecretCommand, redactCommand } from '../card/transport/trace';

/**
 * Transcript assertions in the SDK's readable format (the one `RecordingTransport` writes and
 * `ReplayTransport` plays):
 *
 *   => 00A4040C0BD213000001434849464101     a command (hex, spaces allowed; `**` = any byte,
 *                                           `..` = any number of bytes)
 *   <= 9000                                 its response
 *   !! card-removed                         the link failed instead (code, then optionally the message)
 *   ...                                     any number of exchanges (including none)
 *   # a comment
 *
 * PIN-bearing commands (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) are recorded with
 * their data as `**`, so neither the recorded transcript nor the expectation ever holds a PIN.
 */

type Line =
  | { kind: 'command' | 'response'; hex: string; text: string }
  | { kind: 'error'; code: string; message: string; text: string }
  | { kind: 'gap'; text: string };

function normalizeHex(rest: string, where: string): string {
  const hex = rest.replace(/\s+/g, '').toUpperCase();
  if (!/^([0-9A-F]{2}|\*\*|\.\.)*$/.test(hex)) throw new TypeError(`${where}: bad hex "${rest}"`);
  return hex;
}

function parse(text: string, what: 'expected' | 'actual'): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    const where = `${what} transcript line ${i + 1}`;
    if (s === '' || s.startsWith('#')) return;
    if (s === '...' || s === '…') {
      if (what === 'actual') throw new TypeError(`${where}: "..." only belongs in an expectation`);
      out.push({ kind: 'gap', text: '...' });
      return;
    }
    const marker = s.slice(0, 2);
    const rest = s.slice(2).trim();
    if (marker === '=>' || marker === '<=') {
      const hex = normalizeHex(rest, where);
      if (hex.includes('..') && what === 'actual') throw new TypeError(`${where}: ".." only belongs in an expectation`);
      if (marker === '=>' && what === 'expected' && !/[*.]/.test(hex) && hex.length >= 10) {
        // Written in clear, a PIN would be compared with (and printed next to) a redacted record.
        const bytes = fromHex(hex);
        if (isSecretCommand(bytes)) {
          throw new TypeError(`${where}: transcripts never hold PIN data; write this command as "=> ${redactCommand(bytes)}"`);
        }
      }
      out.push({ kind: marker === '=>' ? 'command' : 'response', hex, text: `${marker} ${hex}` });
    } else if (marker === '!!') {
      const m = /^(\S+)\s*(.*)$/.exec(rest);
      if (!m) throw new TypeError(`${where}: an error line needs a code`);
      out.push({ kind: 'error', code: m[1]!, message: m[2] ?? '', text: `!! ${rest}` });
    } else {
      throw new TypeError(`${where}: expected "=>", "<=", "!!", "..." or "#", got "${s.slice(0, 20)}"`);
    }
  });
  return out;
}

function lineMatches(e: Line, a: Line): boolean {
  if (e.kind === 'gap' || a.kind === 'gap' || e.kind !== a.kind) return false;
  if (e.kind === 'error') {
    const ae = a as Extract<Line, { kind: 'error' }>;
    return e.code === ae.code && (e.message === '' || ae.message.startsWith(e.message));
  }
  return hexPattern(e.hex).test((a as Extract<Line, { kind: 'command' | 'response' }>).hex);
}

const patterns = new Map<string, RegExp>();

/** The expected hex as a regular expression over byte pairs: `**` one byte, `..` any run of bytes. */
function hexPattern(hex: string): RegExp {
  let re = patterns.get(hex);
  if (!re) {
    const parts = hex.match(/../g) ?? [];
    re = new RegExp(`^${parts.map((p) => (p === '**' ? '[0-9A-F*]{2}' : p === '..' ? '(?:[0-9A-F*]{2})*' : p)).join('')}$`);
    patterns.set(hex, re);
  }
  return re;
}

/** Whether expected[ei..] matches actual[ai..]; `best` records how far a match got (for the message). */
function matchFrom(exp: Line[], act: Line[], ei: number, ai: number, memo: Set<number>, best: { e: number; a: number }): boolean {
  const key = ei * (act.length + 1) + ai;
  if (memo.has(key)) return false;
  if (ai > best.a || (ai === best.a && ei > best.e)) {
    best.a = ai;
    best.e = ei;
  }
  let ok: boolean;
  if (ei === exp.length) ok = ai === act.length;
  else if (exp[ei]!.kind === 'gap')
    ok = matchFrom(exp, act, ei + 1, ai, memo, best) || (ai < act.length && matchFrom(exp, act, ei, ai + 1, memo, best));
  else ok = ai < act.length && lineMatches(exp[ei]!, act[ai]!) && matchFrom(exp, act, ei + 1, ai + 1, memo, best);
  if (!ok) memo.add(key);
  return ok;
}

/** Something that has a transcript: a started card, a `RecordingTransport`. */
export interface HasTranscript {
  /** The transcript text so far. */
  transcript(): string;
}

/**
 * Asserts that a card session's transcript matches `expected` (see the format above): the whole
 * transcript, line by line, with `**` matching any byte and `...` any run of exchanges. Throws an
 * `AssertionError` (which jest, vitest and node:test all report with a diff) naming the first
 * line that does not match. Returns the actual transcript.
 */
export function expectTranscript(actual: string | HasTranscript, expected: string): string {
  const text = typeof actual === 'string' ? actual : actual.transcript();
  const act = parse(text, 'actual');
  const exp = parse(expected, 'expected');
  const best = { e: 0, a: 0 };
  if (matchFrom(exp, act, 0, 0, new Set(), best)) return text;
  const got = act[best.a];
  const want = exp[best.e];
  const where = want
    ? `expected line "${want.text}" ${got ? `but the transcript has "${got.text}" (exchange line ${best.a + 1})` : 'but the transcript has ended'}`
    : `the expectation ended but the transcript goes on with "${got?.text ?? ''}" (line ${best.a + 1}); end the expectation with "..." to allow more`;
  throw new AssertionError({
    message: `the card transcript does not match: ${where}`,
    actual: act.map((l) => l.text).join('\n'),
    expected: exp.map((l) => l.text).join('\n'),
    operator: 'expectTranscript',
  });
}

/** One exchange as a transcript line pair (commands redacted): what the kit's recorder writes. */
export function transcriptLines(command: Buffer, response: Buffer | undefined, error?: { code?: unknown; message?: unknown }): string[] {
  const lines = [`=> ${redactCommand(command)}`];
  if (response) lines.push(`<= ${toHex(response)}`);
  else {
    const code = typeof error?.code === 'string' ? error.code : 'error';
    lines.push(`!! ${code} ${String(error?.message ?? '').replace(/\s+/g, ' ')}`.trimEnd());
  }
  return lines;
}
