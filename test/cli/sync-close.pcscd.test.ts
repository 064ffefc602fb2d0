import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Journal } from '../../src/sync/journal/journal';
import { verifyCompact } from '../../src/sync/jws';
import { certificateThumbprint, SoftwareSigner } from '../../src/sync/signer';
import { sampleDraft } from '../sync/helpers';
import { startFundProcess, stopProcess, type FundProcess } from '../support/fund-process';
import { describePcsc, READERS, ROOT, startEmulator, type Emulator } from '../support/pcscd';

/**
 * `chifa sync --close --pro-reader NAME`: the day's batch closed and sent from the command line
 * with the pharmacist's professional card in a PC/SC reader — here the emulated card
 * (fixtures/cards/pharmacist-1.json, TEST ONLY) in vpcd's first reader, seen through pcscd. No
 * software key is given: the manifest and every request token to the reference fund (`chifa
 * fund`) can only be signed by the card. The PIN comes on stdin; a wrong one closes nothing.
 */

const CHIFA = path.join(ROOT, 'bin/chifa.js');
const CARD_CERT = path.join(ROOT, 'fixtures', 'keys', 'pharmacy-1.cert.der');
const PIN = '0000'; // the TEST ONLY card image's PIN

function chifa(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CHIFA, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

describePcsc('chifa sync --close with the professional card in a PC/SC reader', () => {
  let emu: Emulator;
  let fund: FundProcess;
  let dir: string;
  let journalFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-sync-close-'));
    // Invoices the counter signed earlier in the day (here with the same TEST ONLY key the card image holds).
    journalFile = path.join(dir, 'journal.sqlite');
    const keys = path.join(ROOT, 'fixtures', 'keys');
    const j = Journal.open(journalFile, {
      signer: SoftwareSigner.fromFiles(path.join(keys, 'pharmacy-1.key.pem'), path.join(keys, 'pharmacy-1.cert.pem')),
    });
    await j.appendMany([0, 1, 2, 3].map((i) => sampleDraft(i)));
    await j.close();
    emu = await startEmulator({ card: 'fixtures/cards/pharmacist-1.json', port: READERS[0].port });
    fund = await startFundProcess(['--data', path.join(dir, 'fund'), '--threads', '0']);
  }, 60_000);

  afterAll(async () => {
    if (fund) await stopProcess(fund.child);
    await emu?.stop();
  });

  const args = () => [
    'sync',
    '--once',
    '--close',
    '--no-downlink',
    '--json',
    '--pro-reader',
    READERS[0].name,
    '--pin-stdin',
    '--fund',
    fund.url,
    '--data',
    dir,
  ];

  test('a wrong PIN: refused with the tries left, nothing closed', async () => {
    const r = await chifa(args(), '9999\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wrong PIN for the professional card in "Virtual PCD 00 00": 2 tries left/);
    const j = Journal.open(journalFile);
    try {
      expect(j.batches()).toEqual([expect.objectContaining({ state: 'open', count: 4 })]);
    } finally {
      await j.close();
    }
  }, 60_000);

  test('closed and signed by the card, sent with tokens signed by the card, acknowledged by the fund', async () => {
    const r = await chifa(args(), `${PIN}\n`);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const summary = JSON.parse(r.stdout) as { batches: number; invoices: number; accepted: number; rejected: number; error: unknown };
    expect(summary).toMatchObject({ batches: 1, invoices: 4, accepted: 4, rejected: 0, error: null });
    expect(r.stdout + r.stderr).not.toContain(PIN + '\n');

    const j = Journal.open(journalFile);
    try {
      const [batch] = j.batches();
      expect(batch).toMatchObject({ count: 4, closeReason: 'on-demand', accepted: 4, rejected: 0 });
      expect(['acknowledged', 'settled']).toContain(batch!.state); // the reference fund may settle at once
      const jws = j.db.prepare('SELECT manifest_jws FROM batches WHERE id = ?').pluck().get(batch!.id) as string;
      // The manifest verifies against the card's certificate, and names it.
      const cert = new X509Certificate(fs.readFileSync(CARD_CERT));
      const parsed = verifyCompact(jws, cert.publicKey, 'manifest', 'chifa-manifest+jws');
      expect(parsed.header['x5t#S256']).toBe(certificateThumbprint(cert.raw));
      expect(parsed.payload).toMatchObject({ kind: 'batch-manifest', batchId: batch!.id, count: 4, pharmacyId: 'DZ16-PH-00001' });
    } finally {
      await j.close();
    }
  }, 60_000);
});
