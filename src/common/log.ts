import pino, { type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** The `name` field of every line (default `chifa`). */
  name?: string;
  /** A fixed level; without it $CHIFA_LOG_LEVEL, then `defaultLevel`, decide. */
  level?: string;
  /** The level when neither `level` nor $CHIFA_LOG_LEVEL is set (default `info`). */
  defaultLevel?: string;
  /**
   * Where the JSON lines go: a file descriptor (a command whose stdout is its output logs to 2)
   * or a stream. Default: stdout.
   */
  destination?: number | DestinationStream;
}

/**
 * Logs are pino JSON. Insured identifiers are masked (keep the last 4 characters) and PINs are
 * never passed to a logger at all; the redact list is a second line of defence for field names
 * that must never be printed even if a caller slips. Every logger in the project comes from here,
 * so none can miss the redaction.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    name: options.name ?? 'chifa',
    level: options.level ?? process.env.CHIFA_LOG_LEVEL ?? options.defaultLevel ?? 'info',
    redact: { paths: ['pin', 'puk', '*.pin', '*.puk', 'newPin', '*.newPin'], censor: '[redacted]' },
  };
  const { destination } = options;
  if (destination === undefined) return pino(settings);
  return pino(settings, typeof destination === 'number' ? pino.destination(destination) : destination);
}

/** Masks an insured person's identifier (social-security number, card serial) for logs. */
export { maskId } from './format';
