import { Writable } from 'node:stream';
import pino, { type Logger, type LevelWithSilent } from 'pino';

/** A pino logger at `level` whose JSON lines are kept in `lines`, for tests that read what was logged. */
export function captureLogger(level: LevelWithSilent = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
