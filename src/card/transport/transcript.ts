import { fromHex, toHex } from '../apdu';
import { redactCommand } from './trace';
import { CardRemovedError, type CardTransport, TransportError, TransportTimeoutError } from './transport';

/**
 * Text transcripts of card sessions (after Ledger's hw-transport-mocker, going further: errors and
 * card removals are recorded too). One exchange a line:
 *
 *   => 00A4040C0BD2130000014348494641 01     a command (hex; secret data shown as '**')
 *   <= 9000                                   its response
 *   !! card-removed the card was removed      the link failed instead of answering (code, message)
 *   # any comment
 *
 * VERIFY-like commands are recorded redacted, so a transcript never holds a PIN; on replay they
 * match by header and length only.
 */
export type TranscriptEntry =
  | { kind: 'command'; hex: string; line: number }
  | { kind: 'response'; hex: string; line: number }
  | { kind: 'error'; code: string; message: string; line: number };

/** A transcript line that cannot be parsed (the message names the line). */
export class TranscriptFormatError extends TransportError {
  constructor(line: number, message: string) {
    super('transcript-format', `transcript line ${line}: ${message}`);
  }
}

/** Parses transcript text into entries; throws TranscriptFormatError naming the line. */
export function parseTranscript(text: string): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const marker = s.slice(0, 2);
    const rest = s.slice(2).trim();
    if (marker === '=>' || marker === '<=') {
      const hex = rest.replace(/\s+/g, '').toUpperCase();
      if (!/^([0-9A-F]{2}|\*\*)+$/.test(hex)) throw new TranscriptFormatError(line, `bad hex "${rest}"`);
      if (marker === '<=' && hex.includes('*')) throw new TranscriptFormatError(line, 'a response cannot be redacted');
      out.push({ kind: marker === '=>' ? 'command' : 'response', hex, line });
    } else if (marker === '!!') {
      const m = /^(\S+)\s*(.*)$/.exec(rest);
      if (!m) throw new TranscriptFormatError(line, 'an error line needs a code');
      out.push({ kind: 'error', code: m[1]!, message: m[2] ?? '', line });
    } else {
      throw new TranscriptFormatError(line, `unknown line "${s.slice(0, 20)}"`);
    }
  });
  return out;
}

/** Records every exchange of an inner transport as transcript lines. */
export class RecordingTransport implements CardTransport {
  private readonly lines: string[] = [];
  constructor(private readonly inner: CardTransport) {}

  async transmit(command: Buffer): Promise<Buffer> {
    this.lines.push(`=> ${redactCommand(command)}`);
    try {
      const resp = await this.inner.transmit(command);
      this.lines.push(`<= ${toHex(resp)}`);
      return resp;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'string' ? e.code : 'error';
      this.lines.push(`!! ${code} ${String(e.message ?? err).replace(/\s+/g, ' ')}`);
      throw err;
    }
  }

  /** Marks an event that happened between exchanges, e.g. the card being pulled. */
  note(code: string, message = ''): void {
    this.lines.push(`!! ${code} ${message}`.trimEnd());
  }

  /** Everything recorded so far, one line per command, response or error. */
  transcript(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '');
  }

  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : Promise.resolve();
  }
}

/** The replayed session diverged from the transcript (another command, or more commands than recorded). */
export class ReplayMismatchError extends TransportError {
  constructor(message: string) {
    super('replay-mismatch', message);
  }
}

/**
 * Plays a transcript back as a card: each command must equal the next recorded one (redacted
 * bytes match anything of the same length), else ReplayMismatchError. Recorded errors are thrown
 * again with their type (card-removed → CardRemovedError). `assertDone()` fails on leftovers.
 */
export class ReplayTransport implements CardTransport {
  private readonly entries: TranscriptEntry[];
  private pos = 0;

  constructor(transcript: string | TranscriptEntry[]) {
    this.entries = typeof transcript === 'string' ? parseTranscript(transcript) : transcript;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    // A removal recorded between exchanges applies to the next command.
    const pending = this.entries[this.pos];
    if (pending?.kind === 'error') {
      this.pos++;
      throw replayError(pending.code, pending.message);
    }
    const expected = this.entries[this.pos];
    const got = redactCommand(command);
    if (!expected) throw new ReplayMismatchError(`unexpected command ${got}: the transcript has ended`);
    if (expected.kind !== 'command') {
      throw new ReplayMismatchError(`line ${expected.line}: expected a ${expected.kind}, but a command ${got} was sent`);
    }
    if (!hexMatches(expected.hex, got)) {
      throw new ReplayMismatchError(`line ${expected.line}: expected command ${expected.hex}, got ${got}`);
    }
    this.pos++;
    const answer = this.entries[this.pos];
    if (!answer || answer.kind === 'command') {
      throw new ReplayMismatchError(`line ${expected.line}: the transcript has no answer for ${got}`);
    }
    this.pos++;
    if (answer.kind === 'error') throw replayError(answer.code, answer.message);
    return fromHex(answer.hex);
  }

  /** Number of transcript entries not yet played. */
  get remaining(): number {
    return this.entries.length - this.pos;
  }

  /** Throws ReplayMismatchError if the transcript has entries left. */
  assertDone(): void {
    const next = this.entries[this.pos];
    if (next) throw new ReplayMismatchError(`transcript not finished: ${this.remaining} entries left, next at line ${next.line}`);
  }
}

function hexMatches(expected: string, got: string): boolean {
  if (expected.length !== got.length) return false;
  for (let i = 0; i < expected.length; i += 2) {
    const e = expected.slice(i, i + 2);
    const g = got.slice(i, i + 2);
    if (e !== '**' && g !== '**' && e !== g) return false;
    if ((e === '**') !== (g === '**')) return false;
  }
  return true;
}

function replayError(code: string, message: string): Error {
  if (code === 'card-removed') return new CardRemovedError(message || undefined);
  if (code === 'timeout') return new TransportTimeoutError(message || undefined);
  return new TransportError(code, message || code);
}
