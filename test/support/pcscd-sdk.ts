import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listReaders } from '../../src/card/pcsc';

/**
 * What the SDK's pcscd tests add to test/support/pcscd.ts (describePcsc, the emulator): waiting on
 * a reader through the SDK's own listReaders, and a pcscd restart that always leaves pcscd
 * running.
 */
export const READER_0 = 'Virtual PCD 00 00';
export const READER_1 = 'Virtual PCD 00 01';
export const PORT_0 = 35963;
export const PORT_1 = 35964;

const ROOT = path.join(__dirname, '../..');

/** Waits until `reader` shows a card (or no card). vpcd polls about every 400 ms. */
export async function waitForReader(reader: string, cardPresent: boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const r = (await listReaders({ timeoutMs: 2000 })).find((x) => x.name === reader);
      last = r ? (r.cardPresent ? 'card' : 'empty') : 'no such reader';
      if (r && r.cardPresent === cardPresent) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`"${reader}" did not become ${cardPresent ? 'card' : 'empty'} within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pcscdRunning(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'pcscd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Stops pcscd with scripts/pcscd.sh, runs `whileDown` (if given), and starts it again. Only a
 * pcscd that the script started can be restarted (it never kills a pcscd it does not own); pcscd
 * is running again when this returns or throws.
 */
export async function restartPcscd(whileDown?: () => Promise<void>): Promise<void> {
  const script = path.join(ROOT, 'scripts', 'pcscd.sh');
  if (!fs.existsSync(script)) throw new Error('scripts/pcscd.sh is missing: cannot restart pcscd');
  const run = (cmd: string): void => void execFileSync(script, [cmd], { stdio: 'ignore' });
  try {
    run('stop');
    if (!(await until(() => !pcscdRunning(), 5000))) {
      throw new Error('pcscd is still running: it was not started by scripts/pcscd.sh (stop it and run `scripts/pcscd.sh start`)');
    }
    if (whileDown) await whileDown();
  } finally {
    run('start');
    await until(() => fs.existsSync('/run/pcscd/pcscd.comm') && pcscdRunning(), 5000);
  }
}
