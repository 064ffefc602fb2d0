import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The built `chifa` as a process, for the tests of what it says on bad input: one line
 * `chifa <command>: <code>: …` on stderr, exit status 2, no stack trace, bounded output.
 */

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'chifa.js');

export interface Run {
  code: number | null;
  stdout: string;
  /** stderr without the JSON log lines (warnings such as the TEST ONLY CA). */
  errors: string[];
  stderr: string;
}

export function chifa(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const inherited = { ...process.env };
  for (const name of ['CHIFA_DATA', 'CHIFA_FUND_URL', 'CHIFA_FUND_CA', 'CHIFA_FUND_SIGNER_CA', 'CHIFA_SIGNER_KEY', 'CHIFA_SIGNER_CERT'])
    delete inherited[name];
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...inherited, CHIFA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        errors: stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{"level"')),
      }),
    ),
  );
}

/** One typed line on stderr for `command`, with `code`; exit 2; nothing else said. */
export function expectUsageError(r: Run, command: string, code: string, mentions: string[] = []): void {
  expect({
    exit: r.code,
    lines: r.errors.length,
    stack: /\n\s+at /.test(r.stderr),
    bounded: r.stderr.length + r.stdout.length < 3000,
  }).toEqual({
    exit: 2,
    lines: 1,
    stack: false,
    bounded: true,
  });
  expect(r.errors[0]).toMatch(new RegExp(`^chifa ${command}: ${code}: `));
  for (const m of mentions) expect(r.errors[0]).toContain(m);
}

/** Fails the suite at once when the CLI was not built (these tests run dist/). */
export function requireBuild(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('the CLI is not built: run `npm run build` first');
}
