import type { Command } from 'commander';
import { parseAtr } from '../card/atr';
import { toHex } from '../card/apdu';
import { listReaders, ReaderMonitor, type ReaderInfo } from '../card/pcsc';
import { ChifaError } from '../common/errors';
import { reportError } from './report';
import { untilStopSignal } from './stop-signal';

/**
 * `chifa readers [--watch] [--json]`: the PC/SC readers and their cards; with --watch, follows
 * attach/detach, insert/remove and the PC/SC service itself until Ctrl-C.
 */
export function register(program: Command): void {
  program
    .command('readers')
    .description('list PC/SC readers and their cards (--watch to follow events until Ctrl-C)')
    .option('--watch', 'keep running and print reader, card and service events')
    .option('--json', 'print JSON (one object per line with --watch)')
    .action(async (opts: { watch?: boolean; json?: boolean }) => {
      try {
        if (opts.watch) await watch(opts.json === true);
        else await list(opts.json === true);
      } catch (err) {
        cardCommandFailed('readers', err);
      }
    });
}

async function list(json: boolean): Promise<void> {
  const readers = await listReaders();
  if (json) {
    process.stdout.write(JSON.stringify(readers.map(readerJson), null, 2) + '\n');
    return;
  }
  if (readers.length === 0) {
    process.stdout.write('no readers (pcscd is running but sees no reader)\n');
    return;
  }
  const width = Math.max(...readers.map((r) => r.name.length));
  for (const r of readers) process.stdout.write(`${r.name.padEnd(width)}  ${describeCard(r)}\n`);
}

function readerJson(r: ReaderInfo): Record<string, unknown> {
  return { reader: r.name, card: r.cardPresent, atr: r.atr ? toHex(r.atr) : null, ...(r.atr ? { card_info: atrInfo(r.atr) } : {}) };
}

function describeCard(r: ReaderInfo): string {
  if (!r.cardPresent || !r.atr) return 'no card';
  const info = atrInfo(r.atr);
  return `card  ATR ${toHex(r.atr, ' ')}${info ? `  (${info})` : ''}`;
}

/** "T=1, extended length, chaining" from the ATR, or '' if it does not parse. */
export function atrInfo(atr: Buffer): string {
  try {
    const a = parseAtr(atr);
    const parts = [a.protocols.map((p) => `T=${p}`).join('/')];
    if (a.capabilities.extendedLength) parts.push('extended length');
    if (a.capabilities.chaining) parts.push('chaining');
    return parts.join(', ');
  } catch {
    return '';
  }
}

async function watch(json: boolean): Promise<void> {
  const monitor = new ReaderMonitor();
  const out = (event: string, fields: Record<string, unknown>, text: string): void => {
    const time = new Date().toISOString();
    process.stdout.write(json ? JSON.stringify({ time, event, ...fields }) + '\n' : `${time.slice(11, 23)}  ${text}\n`);
  };
  monitor.on('reader-attached', (reader) => out('reader-attached', { reader }, `reader attached   ${reader}`));
  monitor.on('reader-detached', (reader) => out('reader-detached', { reader }, `reader detached   ${reader}`));
  monitor.on('card-inserted', ({ reader, atr }) =>
    out(
      'card-inserted',
      { reader, atr: toHex(atr) },
      `card inserted     ${reader}  ATR ${toHex(atr, ' ')}${atrInfo(atr) ? `  (${atrInfo(atr)})` : ''}`,
    ),
  );
  monitor.on('card-removed', ({ reader }) => out('card-removed', { reader }, `card removed      ${reader}`));
  monitor.on('service-lost', ({ error }) =>
    out('service-lost', { message: error.message }, `PC/SC service lost: ${error.message} (retrying)`),
  );
  monitor.on('service-restored', () => out('service-restored', {}, 'PC/SC service restored'));
  monitor.start();
  await untilStopSignal();
  await monitor.close();
}

/**
 * Reports a card or PC/SC failure the house way (reportError) with exit status 1, or 2 for bad
 * input. Anything that is not one of ours is a bug: rethrown for the launcher to print.
 */
export function cardCommandFailed(command: string, err: unknown): void {
  if (!(err instanceof ChifaError)) throw err;
  reportError(command, err, BAD_INPUT.has(err.code) ? 2 : 1);
}

const BAD_INPUT = new Set([
  'malformed-command',
  'invalid-cla',
  'invalid-ins',
  'invalid-p1',
  'invalid-p2',
  'invalid-lc',
  'invalid-le',
  'usage',
  'invalid-pin-format',
]);

/** A usage mistake on the command line (exit status 2). */
export class UsageError extends ChifaError {
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * The reader to use: the one named, else the only reader with a card. Errors list what exists,
 * so a new user sees the names to type.
 */
export async function chooseReader(name: string | undefined): Promise<string> {
  const readers = await listReaders();
  const names = readers.map((r) => `"${r.name}"${r.cardPresent ? ' (card)' : ''}`).join(', ') || 'none';
  if (name !== undefined) {
    const exact = readers.find((r) => r.name === name);
    if (exact) return exact.name;
    const partial = readers.filter((r) => r.name.toLowerCase().includes(name.toLowerCase()));
    if (partial.length === 1) return partial[0]!.name;
    throw new UsageError(`${partial.length > 1 ? `"${name}" matches several readers` : `no reader named "${name}"`}; readers: ${names}`);
  }
  const withCard = readers.filter((r) => r.cardPresent);
  if (withCard.length === 1) return withCard[0]!.name;
  throw new UsageError(`say which reader with --reader NAME; readers: ${names}`);
}
