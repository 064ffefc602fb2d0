import pino, { type Logger } from 'pino';

/**
 * Logs are pino JSON. Insured identifiers are masked (keep the last 4 characters) and PINs are
 * never passed to a logger at all; the redact list is a second line of defence for field names
 * that must never be printed even if a caller slips.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'chifa',
    level: options.level ?? process.env.CHIFA_LOG_LEVEL ?? 'info',
    redact: { paths: ['pin', 'puk', '*.pin', '*.puk', 'newPin', '*.newPin'], censor: '[redacted]' },
  });
}

/** Masks an insured person's identifier (social-security number, card serial) for logs. */
export function maskId(id: string): string {
  if (id.length <= 4) return '*'.repeat(id.length);
  return '*'.repeat(id.length - 4) + id.slice(-4);
}
