import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FundStore } from '../../src/fund/store';
import { GENESIS_HASH } from '../../src/sync/invoice';
import { Journal } from '../../src/sync/journal/journal';
import { sampleDraft, signer, tmpDir } from '../sync/helpers';

/**
 * `chifa journal rejected | head -1` and `chifa fund verify | head -1`: the reader leaves after
 * one line and closes the pipe. The built CLI must then stop quietly with status 0 — no EPIPE
 * stack trace. Each list is far larger than a pipe's buffer (64 KB), so the CLI is still writing
 * when the reader closes.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'chifa.js');

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('the CLI is not built: run `npm run build` first');
});

/** Runs the CLI with stdout piped into a reader that closes after the first line. */
function firstLineThenClose(args: string[]): Promise<{ code: number | null; signal: string | null; line: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
    if (out.includes('\n')) child.stdout.destroy();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, line: out.slice(0, out.indexOf('\n')), stderr })),
  );
}

test('journal rejected | head -1', async () => {
  const dir = tmpDir('chifa-epipe-');
  const j = Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 1000 } });
  const n = 600;
  const appended = await Promise.all(Array.from({ length: n }, (_, i) => j.append(sampleDraft(i))));
  const batch = (await j.closeOpenBatch())!;
  j.recordAck(batch.id, {
    pharmacyId: appended[0]!.document.pharmacyId,
    batchId: batch.id,
    idempotencyKey: 'k',
    receivedAt: new Date().toISOString(),
    complete: true,
    state: 'acknowledged',
    count: n,
    accepted: 0,
    rejected: n,
    paid: 0,
    results: appended.map((a) => ({
      number: a.number,
      hash: a.hash,
      status: 'rejected' as const,
      code: 'rights-expired',
      reason: 'the rights of the insured person had ended on the dispensing date',
    })),
  });
  await j.close();

  const r = await firstLineThenClose(['journal', 'rejected', '--data', dir]);
  expect(r.line).toMatch(/^invoice 1 \(/);
  expect(r.stderr).toBe('');
  expect(r).toMatchObject({ code: 0, signal: null });
});

test('fund verify | head -1', async () => {
  const dir = tmpDir('chifa-epipe-');
  const store = FundStore.open(dir);
  const add = store.db.prepare('INSERT INTO pharmacies (id, last_number, last_hash, last_batch) VALUES (?, 0, ?, 0)');
  store.db.transaction(() => {
    for (let i = 0; i < 2000; i++) add.run(`DZ16-PH-${String(i).padStart(5, '0')}`, GENESIS_HASH);
  })();
  store.close();

  const r = await firstLineThenClose(['fund', 'verify', '--data', dir]);
  expect(r.line).toBe(`fund store OK: ${path.join(dir, 'fund.sqlite')}`);
  expect(r.stderr).toBe('');
  expect(r).toMatchObject({ code: 0, signal: null });
});
