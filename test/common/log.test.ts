import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type SonicBoom from 'sonic-boom';
import { createLogger, maskId } from '../../src/common/log';

/** Collects the JSON lines a logger writes. */
function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  const saved = process.env.CHIFA_LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.CHIFA_LOG_LEVEL;
    else process.env.CHIFA_LOG_LEVEL = saved;
  });

  test('a CLI logger (to a file descriptor, as `chifa fund` and `chifa sync` log to fd 2) redacts PINs', async () => {
    delete process.env.CHIFA_LOG_LEVEL;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-log-'));
    const file = path.join(dir, 'stderr.log');
    const fd = fs.openSync(file, 'w');
    const log = createLogger({ name: 'chifa-sync', defaultLevel: 'warn', destination: fd });
    log.warn({ pin: '1234', puk: '87654321', newPin: '4321', card: { pin: '0000', puk: '11111111', newPin: '9999' } }, 'slipped');
    log.info({ pin: '5555' }, 'below the level');
    // The logger's stream owns the descriptor from here: ending it flushes and closes it. Closing
    // the fd behind its back would let a later test's file reuse the number under a live stream.
    const stream = (log as unknown as Record<symbol, SonicBoom>)[pino.symbols.streamSym]!;
    await new Promise<void>((resolve) => {
      stream.once('close', () => resolve());
      stream.end();
    });
    const text = fs.readFileSync(file, 'utf8');
    fs.rmSync(dir, { recursive: true, force: true });
    for (const secret of ['1234', '87654321', '4321', '0000', '11111111', '9999', '5555']) expect(text).not.toContain(secret);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      name: 'chifa-sync',
      msg: 'slipped',
      pin: '[redacted]',
      puk: '[redacted]',
      newPin: '[redacted]',
      card: { pin: '[redacted]', puk: '[redacted]', newPin: '[redacted]' },
    });
  });

  test('level: an explicit level, else $CHIFA_LOG_LEVEL, else defaultLevel, else info', () => {
    delete process.env.CHIFA_LOG_LEVEL;
    const s = sink();
    expect(createLogger({ destination: s.stream }).level).toBe('info');
    expect(createLogger({ defaultLevel: 'warn', destination: s.stream }).level).toBe('warn');
    process.env.CHIFA_LOG_LEVEL = 'debug';
    expect(createLogger({ defaultLevel: 'warn', destination: s.stream }).level).toBe('debug');
    expect(createLogger({ level: 'silent', destination: s.stream }).level).toBe('silent');
  });

  test('to a stream: same redaction, default name', () => {
    delete process.env.CHIFA_LOG_LEVEL;
    const s = sink();
    createLogger({ destination: s.stream }).info({ pin: '2468' }, 'hello');
    expect(s.lines()).toEqual([expect.objectContaining({ name: 'chifa', msg: 'hello', pin: '[redacted]' })]);
  });
});

test('maskId keeps the last four characters', () => {
  expect(maskId('123456789012')).toBe('********9012');
  expect(maskId('123')).toBe('***');
});
