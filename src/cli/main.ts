import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clip } from '../common/display';
import { packageRoot } from '../common/paths';
import { registerCommands } from './commands';
import { MAX_LINE } from './report';

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Builds the `chifa` command line. Each sub-command lives in its own module under src/cli. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('chifa')
    .description('Chifa-style health card terminal: card SDK tools, emulator, counter service, sync')
    .version(packageVersion(), '-V, --version', 'print the version of chifa-terminal')
    .addHelpText(
      'after',
      `
Each command has --help. Errors: "chifa <command>: <code>: <message>" on stderr, exit status 2
for a usage mistake, 1 for a failure (a card, a reader or the fund refused).
Environment: CHIFA_DATA (data directory, default ./var), CHIFA_TOKEN (serve's API token),
CHIFA_FUND_URL, CHIFA_FUND_CA, CHIFA_FUND_SIGNER_CA, CHIFA_SIGNER_KEY, CHIFA_SIGNER_CERT (sync),
CHIFA_LOG_LEVEL (the JSON log's level: info by default).
All keys, certificates and card images in fixtures/ are TEST ONLY data.`,
    )
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/**
 * Files the CLI creates are for its user alone: the data directory holds insured identifiers,
 * the token and the demo cards' PINs. The umask covers every file, including those SQLite
 * creates later by itself (-wal, -shm); the stores also set 0600/0700 explicitly for library
 * callers. A stricter umask already set is kept.
 */
function privateUmask(): void {
  const previous = process.umask(0o077);
  process.umask(previous | 0o077);
}

/**
 * A reader that stops early (`chifa journal rejected | head`) closes the pipe: the next write
 * fails with EPIPE, which Node reports as an 'error' event on the stream, uncaught by default
 * (a stack trace and status 1). Nothing is wrong: stop quietly, with the status the command had
 * already settled on (0 unless it found a problem before the reader left). Once here, for every
 * command, rather than in each one.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      const code = process.exitCode;
      process.exit(typeof code === 'number' ? code : 0);
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  privateUmask();
  quietOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander throws on --help/--version (exit 0) and on usage mistakes (an unknown option or
    // command, a missing argument) after printing: those exit 2, as every other bad input.
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    // Not one of ours: the launcher prints its message, which may quote any input; bound it.
    if (err instanceof Error) err.message = clip(err.message, MAX_LINE);
    throw err;
  }
}
