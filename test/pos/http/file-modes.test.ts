import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { FundServer } from '../../../src/fund/server';
import { Journal } from '../../../src/sync/journal/journal';
import { captureLogger, NOW, tmpDir, THREE_LINES } from '../counter/harness';

/**
 * The data directory holds insured identifiers (journal.sqlite), the API token and the demo
 * cards' PINs: created 0700, every file in it 0600 — SQLite's -wal and -shm included — even
 * under the usual umask 022 (set here, as a library caller's process would have it; the CLI
 * also narrows its own umask). An existing file that others can read is reported at start-up
 * and left as it is.
 */

let umask: number;
beforeAll(() => {
  umask = process.umask(0o022);
});
afterAll(() => process.umask(umask));

/** Every directory and file under `root` (itself included) with its permission bits. */
function modes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (p: string): void => {
    const st = fs.statSync(p);
    out.set(path.relative(root, p) || '.', st.mode & 0o777);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
  return out;
}

function expectPrivate(root: string, mustHold: string[]): void {
  const m = modes(root);
  for (const f of mustHold) expect(m.has(f) ? f : `missing ${f}`).toBe(f);
  for (const [p, mode] of m) {
    const dir = fs.statSync(path.join(root, p)).isDirectory();
    expect([p, mode.toString(8)]).toEqual([p, dir ? '700' : '600']);
  }
}

test('a fresh data directory after a checkout and a sync: 0700, every file 0600', async () => {
  const base = tmpDir('chifa-modes-');
  const dataDir = path.join(base, 'var', 'counter'); // neither exists yet
  const fundDir = path.join(base, 'var', 'fund');
  const fund = new FundServer({ dataDir: fundDir, verifyThreads: 0, now: () => NOW });
  const url = await fund.listen();
  const { logger, lines } = captureLogger();
  let counter: RunningCounter | undefined;
  try {
    counter = await startCounter({
      dataDir,
      port: 0,
      logger,
      demo: true,
      now: () => NOW,
      fund: url,
      syncIntervalMs: 3_600_000,
      batch: { maxCount: 1 },
    });
    const service = counter.service;
    await service.openCard();
    await service.verifyPin('1234');
    expect((await service.checkout(THREE_LINES)).cardWrite.state).toBe('done');
    await counter.sync!.runNow();
    expect(counter.sync!.lastRun).toMatchObject({ error: null });
    expect(service.backlog()).toMatchObject({ invoices: 1, unsentBatches: 0 });

    // While running: the databases have their -wal and -shm.
    const sqlite = ['chifa.sqlite', 'journal.sqlite', 'downlink.sqlite'].flatMap((f) => [f, `${f}-wal`, `${f}-shm`]);
    expectPrivate(dataDir, ['.', 'token', 'demo-cards', 'demo-cards/insured.state.json', ...sqlite]);
    expectPrivate(fundDir, ['.', 'fund.sqlite', 'fund.sqlite-wal', 'fund.sqlite-shm']);
    expect(fs.statSync(path.join(base, 'var')).mode & 0o777).toBe(0o700);
    expect(lines.filter((l) => l.includes('readable by other users'))).toEqual([]);
  } finally {
    await counter?.close();
    await fund.close();
  }
  expectPrivate(dataDir, ['.', 'journal.sqlite']);
});

test('a journal already there with mode 0644: a warning at start-up, the mode left as it is', async () => {
  const dataDir = tmpDir('chifa-modes-');
  const file = path.join(dataDir, 'journal.sqlite');
  await Journal.open(file).close();
  fs.chmodSync(file, 0o644);
  const { logger, lines } = captureLogger();
  const counter = await startCounter({ dataDir, port: 0, logger, demo: true, now: () => NOW });
  await counter.close();
  const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string; loose?: { path: string; mode: string }[] });
  const w = warnings.find((l) => l.msg.startsWith('readable by other users'));
  expect(w).toMatchObject({ level: 40, loose: [{ path: file, mode: '0644' }] });
  expect(w!.msg).toContain(`${file} (0644)`);
  expect(w!.msg).toContain('chmod 600');
  expect(fs.statSync(file).mode & 0o777).toBe(0o644);
});

test('a stored token file others can read is made 0600, with a warning to replace it', async () => {
  const dataDir = tmpDir('chifa-modes-');
  fs.writeFileSync(path.join(dataDir, 'token'), 'a-token-of-at-least-16-chars\n', { mode: 0o644 });
  fs.chmodSync(path.join(dataDir, 'token'), 0o644);
  const { logger, lines } = captureLogger();
  const counter = await startCounter({ dataDir, port: 0, logger, demo: true, now: () => NOW });
  await counter.close();
  expect(counter.token).toBe('a-token-of-at-least-16-chars');
  expect(fs.statSync(path.join(dataDir, 'token')).mode & 0o777).toBe(0o600);
  expect(lines.some((l) => l.includes('"mode":"0644"') && l.includes('the API token file was readable by other users'))).toBe(true);
  expect(lines.filter((l) => l.includes('leaves the mode of existing files'))).toEqual([]);
});
