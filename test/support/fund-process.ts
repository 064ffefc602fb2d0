import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const CHIFA = path.resolve(__dirname, '..', '..', 'bin', 'chifa.js');

/** `chifa fund` running as a child process (the built CLI), on a free loopback port. */
export interface FundProcess {
  child: ChildProcess;
  /** The base URL the fund printed once listening. */
  url: string;
  /** Everything it wrote to stderr so far (its JSON log lines). */
  log: () => string;
}

/**
 * Starts `chifa fund --port 0 ...args` and resolves once it says where it listens; rejects with
 * its stderr if it exits first or says nothing within 20 s. `env` is added to this process's.
 */
export function startFundProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<FundProcess> {
  const child = spawn(process.execPath, [CHIFA, 'fund', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`the fund did not start: ${err}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]!, log: () => err });
      }
    });
    child.once('exit', (code) => reject(new Error(`the fund exited (${code}): ${err}`)));
  });
}

/** Stops a child process with SIGTERM and resolves once it has exited (at once if it already has). */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
