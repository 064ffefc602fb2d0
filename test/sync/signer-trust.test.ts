import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FundServer } from '../../src/fund/server';
import { Journal } from '../../src/sync/journal/journal';
import { verifyJournal } from '../../src/sync/journal/verify';
import { TrustStore } from '../../src/sync/trust';
import { key, onCleanup, rogueSigner, ROOT, sampleDraft, signer, tmpDir } from './helpers';

/**
 * The journal signs only with a certificate the fund will accept: issued by a trusted fund CA,
 * valid on the signing date, for the journal's pharmacy. A refusal signs nothing and writes
 * nothing.
 */

const counts = (j: Journal): Record<string, unknown> =>
  j.db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM invoices) AS invoices, (SELECT COUNT(*) FROM certificates) AS certificates,
              (SELECT COUNT(*) FROM batches) AS batches, (SELECT COUNT(*) FROM meta WHERE key = 'pharmacy_id') AS owner`,
    )
    .get() as Record<string, unknown>;

describe('the signer certificate is checked before anything is signed', () => {
  test('append with a certificate expired on the signing date: cert-expired, nothing written', async () => {
    const j = onCleanup(
      Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), now: () => new Date('2046-01-02T10:00:00Z') }),
    );
    await expect(j.append(sampleDraft(1))).rejects.toMatchObject({ code: 'cert-expired', field: 'certificate' });
    await expect(j.appendMany([sampleDraft(2), sampleDraft(3)])).rejects.toMatchObject({ code: 'cert-expired' });
    expect(counts(j)).toEqual({ invoices: 0, certificates: 0, batches: 0, owner: 0 });
    const early = onCleanup(
      Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), now: () => new Date('2019-06-01T10:00:00Z') }),
    );
    await expect(early.append(sampleDraft(1))).rejects.toMatchObject({ code: 'cert-expired', field: 'certificate' });
    expect(counts(early)).toEqual({ invoices: 0, certificates: 0, batches: 0, owner: 0 });
  });

  test('append with a certificate from a CA the fund does not trust: cert-untrusted, nothing written', async () => {
    const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: rogueSigner() }));
    await expect(j.append(sampleDraft(1))).rejects.toMatchObject({ code: 'cert-untrusted', field: 'certificate' });
    expect(counts(j)).toEqual({ invoices: 0, certificates: 0, batches: 0, owner: 0 });
  });

  test('closing a batch with an untrusted certificate (rogue CA, same CN): refused, the batch stays open and unsigned', async () => {
    const file = path.join(tmpDir(), 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    await j.close();
    const rogue = onCleanup(Journal.open(file, { signer: rogueSigner() }));
    const before = counts(rogue);
    await expect(rogue.closeOpenBatch()).rejects.toMatchObject({ code: 'cert-untrusted', field: 'certificate' });
    expect(rogue.batches().map((b) => [b.state, b.signed])).toEqual([['open', false]]);
    expect(counts(rogue)).toEqual(before);
    expect(verifyJournal(file).ok).toBe(true);
  });

  test('a sealed batch is not signed with an expired certificate; a valid one signs it', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    // A crash between sealing and signing leaves a sealed, unsigned batch.
    j.db
      .prepare("UPDATE batches SET state = 'closed', closed_at = '2024-03-15T09:00:00.000Z', close_reason = 'on-demand' WHERE id = 1")
      .run();
    await j.close();
    const late = Journal.open(file, { signer: signer(1), now: () => new Date('2046-02-01T00:00:00Z') });
    await expect(late.signPendingManifests()).rejects.toMatchObject({ code: 'cert-expired' });
    await expect(late.closeDueBatches()).rejects.toMatchObject({ code: 'cert-expired' });
    expect(late.backlog().unsignedBatches).toBe(1);
    await late.close();
    const ok = onCleanup(Journal.open(file, { signer: signer(1) }));
    expect(await ok.signPendingManifests()).toBe(1);
    expect(verifyJournal(file).ok).toBe(true);
  });

  test('a certificate of another pharmacy: cert-wrong-pharmacy, naming the certificate', async () => {
    const file = path.join(tmpDir(), 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1) });
    await j.append(sampleDraft(1));
    await j.close();
    expect(() => Journal.open(file, { signer: signer(2) })).toThrow(
      expect.objectContaining({
        code: 'cert-wrong-pharmacy',
        field: 'certificate',
        message: expect.stringMatching(/belongs to pharmacy DZ16-PH-00001/),
      }),
    );
  });

  test('the trusted CAs are configurable: a journal trusting another CA refuses the fund-issued card', async () => {
    const trust = new TrustStore([fs.readFileSync(key('rogue-ca.pem'))]);
    const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), trust }));
    await expect(j.append(sampleDraft(1))).rejects.toMatchObject({ code: 'cert-untrusted' });
    const r = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: rogueSigner(), trust }));
    expect((await r.append(sampleDraft(1))).number).toBe(1);
  });
});

describe('chifa sync (the built CLI) with a signer the fund would refuse', () => {
  const CLI = path.join(ROOT, 'bin', 'chifa.js');
  const sync = (data: string, ...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'sync', '--once', '--fund', 'http://127.0.0.1:9', '--data', data, '--no-downlink', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('--close with the rogue certificate (same CN, untrusted CA): exit 2, cert-untrusted, the batch stays open', async () => {
    const data = tmpDir();
    const j = Journal.open(path.join(data, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 100 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    await j.close();
    const rogue = sync(data, '--close', '--key', key('rogue-pharmacy.key.pem'), '--cert', key('rogue-pharmacy.cert.pem'));
    expect(rogue.status).toBe(2);
    expect(rogue.stderr).toMatch(/TEST ONLY fund CA/);
    expect(rogue.stderr).toMatch(/chifa sync: cert-untrusted: .*not issued by the fund's CA/);
    // --fund-signer-ca decides: the fund-issued card is refused when only the rogue CA is trusted.
    const other = sync(
      data,
      '--close',
      '--key',
      key('pharmacy-1.key.pem'),
      '--cert',
      key('pharmacy-1.cert.pem'),
      '--fund-signer-ca',
      key('rogue-ca.pem'),
    );
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/cert-untrusted/);
    const after = onCleanup(Journal.open(path.join(data, 'journal.sqlite')));
    expect(after.batches().map((b) => [b.state, b.signed])).toEqual([['open', false]]);
    expect(verifyJournal(after.file).ok).toBe(true);
  });

  test('a manifest the certificate cannot sign is reported, and what is signed is still sent (exit 1)', async () => {
    const dir = tmpDir();
    const data = path.join(dir, 'pharmacy');
    const fund = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, downlinkRecheckMs: 0 }));
    const url = await fund.listen();
    const j = Journal.open(path.join(data, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 100 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    await j.closeOpenBatch();
    await j.append(sampleDraft(3));
    // Batch 2 sealed (a crash before its manifest was signed) on a date the certificate does not cover.
    j.db
      .prepare("UPDATE batches SET state = 'closed', closed_at = '2019-06-01T00:00:00.000Z', close_reason = 'on-demand' WHERE id = 2")
      .run();
    await j.close();
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          CLI,
          'sync',
          '--once',
          '--fund',
          url,
          '--data',
          data,
          '--no-downlink',
          '--key',
          key('pharmacy-1.key.pem'),
          '--cert',
          key('pharmacy-1.cert.pem'),
        ],
        { encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      ),
    );
    expect(r.stderr).toMatch(/chifa sync: nothing signed: cert-expired: the certificate is not valid at 2019-06-01/);
    expect(r.stdout).toMatch(/sync: 1 batches, 2 invoices sent/);
    expect(r.code).toBe(1);
    const after = onCleanup(Journal.open(path.join(data, 'journal.sqlite')));
    expect(after.batches().map((b) => [b.state, b.signed])).toEqual([
      ['settled', true],
      ['closed', false],
    ]);
  });
});
