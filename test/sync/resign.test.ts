import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FundServer } from '../../src/fund/server';
import { Journal } from '../../src/sync/journal/journal';
import { verifyJournal } from '../../src/sync/journal/verify';
import { SCHEMA_VERSION } from '../../src/sync/journal/schema';
import { parseCompact } from '../../src/sync/jws';
import { TrustStore } from '../../src/sync/trust';
import { Uploader } from '../../src/sync/uploader';
import { credentials, key, onCleanup, rogueSigner, ROOT, sampleDraft, signer, tmpDir } from './helpers';

/**
 * A closed batch whose manifest the fund refused for its certificate is signed again — a new
 * manifest over the same, untouched invoices — by the next signer the fund accepts; the refused
 * manifest and the refusal stay in the journal as its history.
 */

const CLI = path.join(ROOT, 'bin', 'chifa.js');
const noSleep = { sleep: async () => undefined };
/** Requests authenticated by pharmacy 1's card, answers checked against the TEST fund CA. */
const asPharmacy1 = { ...credentials(1), ...noSleep };

/** The built CLI, asynchronously: the fund answering it runs in this process. */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

/** Trusts the rogue CA as well as the fund's: a terminal whose trust differs from the fund's. */
const misconfigured = (): TrustStore => new TrustStore([fs.readFileSync(key('fund-ca.pem')), fs.readFileSync(key('rogue-ca.pem'))]);

async function startFund(dir: string): Promise<{ fund: FundServer; url: string }> {
  const fund = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, downlinkRecheckMs: 0 }));
  return { fund, url: await fund.listen() };
}

const storedAtFund = (fund: FundServer): number => fund.store.db.prepare('SELECT COUNT(*) FROM invoices').pluck().get() as number;

describe('re-signing a manifest the fund refused for its certificate', () => {
  test('through chifa sync and the reference fund: CERT_UNTRUSTED, then re-signed with the right key and accepted; both verifies pass', async () => {
    const dir = tmpDir();
    const data = path.join(dir, 'pharmacy');
    const file = path.join(data, 'journal.sqlite');
    const { fund, url } = await startFund(dir);
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } });
    await j.appendMany(Array.from({ length: 6 }, (_, i) => sampleDraft(i)));
    await j.close();
    const sync = (...args: string[]) =>
      cli('sync', '--once', '--fund', url, '--data', data, '--no-downlink', '--retry-base-ms', '10', '--max-attempts', '3', ...args);
    // A terminal told to trust the rogue CA as well closes and signs the batch with the rogue key
    // (the fund does not even take its requests: they are signed by that key too).
    const bundle = path.join(dir, 'fund-and-rogue-ca.pem');
    fs.writeFileSync(bundle, Buffer.concat([fs.readFileSync(key('fund-ca.pem')), fs.readFileSync(key('rogue-ca.pem'))]));
    const rogue = await sync(
      '--close',
      '--key',
      key('rogue-pharmacy.key.pem'),
      '--cert',
      key('rogue-pharmacy.cert.pem'),
      '--fund-signer-ca',
      bundle,
    );
    expect(rogue.status).toBe(1);
    const seen = (): ReturnType<Journal['batch']> => {
      const r = Journal.open(file);
      try {
        return r.batch(1);
      } finally {
        void r.close();
      }
    };
    expect(seen()).toMatchObject({ state: 'closed', signed: true, manifests: 1, manifestRefused: null });

    // The pharmacy's own card: the fund refuses the manifest's certificate; the refusal is
    // recorded, a new manifest signed with this card and sent in the same pass, and accepted.
    const right = await sync('--key', key('pharmacy-1.key.pem'), '--cert', key('pharmacy-1.cert.pem'));
    expect(right.stdout).toMatch(/sync: 1 batches, 6 invoices sent \(6 accepted, 0 rejected\)/);
    expect(right.status).toBe(0);
    expect(seen()).toMatchObject({ state: 'settled', manifests: 2, manifestRefused: null, accepted: 6 });
    expect(storedAtFund(fund)).toBe(6);

    const jv = await cli('journal', 'verify', '--data', data);
    expect(jv.stdout).toMatch(/journal OK/);
    expect(jv.status).toBe(0);
    const fv = await cli('fund', 'verify', '--data', path.join(dir, 'fund'));
    expect(fv.status).toBe(0);

    // The history: the refused manifest, its refusal, the new one (the one the fund holds).
    const r = onCleanup(Journal.open(file));
    const history = r.db.prepare('SELECT seq, replaces FROM resigned_manifests').all();
    const refusals = r.db.prepare('SELECT batch_id, code FROM manifest_refusals').all();
    expect(history).toEqual([{ seq: 2, replaces: r.db.prepare('SELECT idempotency_key FROM batches WHERE id = 1').pluck().get() }]);
    expect(refusals).toEqual([{ batch_id: 1, code: 'CERT_UNTRUSTED' }]);
    const held = fund.store.db.prepare('SELECT manifest_jws FROM batches').pluck().get() as string;
    expect(parseCompact(held).header['x5t#S256']).toBe(signer(1).keyId);
  });

  test('chifa journal status names a batch whose manifest the fund refused', async () => {
    const dir = tmpDir();
    const { url } = await startFund(dir);
    const data = path.join(dir, 'pharmacy');
    const file = path.join(data, 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } });
    await j.append(sampleDraft(1));
    await j.close();
    const rogue = Journal.open(file, { signer: rogueSigner(), trust: misconfigured() });
    await rogue.closeOpenBatch();
    expect((await new Uploader(rogue, { fund: url, ...asPharmacy1 }).runOnce()).error).toMatchObject({ code: 'CERT_UNTRUSTED' });
    await rogue.close();
    expect((await cli('journal', 'status', '--data', data)).stdout).toMatch(
      /batch 1: the fund refused its manifest's certificate \(CERT_UNTRUSTED\)/,
    );
  });

  test('a certificate refusal that names an invoice is not the manifest’s: nothing is re-signed', async () => {
    const dir = tmpDir();
    const { fund, url } = await startFund(dir);
    const file = path.join(dir, 'journal.sqlite');
    // Invoices signed with the rogue certificate (the terminal trusted the rogue CA), the manifest with the right one.
    const rogue = Journal.open(file, { signer: rogueSigner(), trust: misconfigured(), batch: { maxCount: 100 } });
    await rogue.appendMany([sampleDraft(1), sampleDraft(2)]);
    await rogue.close();
    const j = onCleanup(Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } }));
    await j.closeOpenBatch();
    const s = await new Uploader(j, { fund: url, ...asPharmacy1 }).runOnce();
    expect(s.error).toMatchObject({ code: 'CERT_UNTRUSTED', batchId: 1 });
    expect(j.batch(1)).toMatchObject({ state: 'closed', attempts: 1, manifests: 1, manifestRefused: null });
    const other = onCleanup(Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1) }));
    expect(await other.signPendingManifests()).toBe(0);
    expect(storedAtFund(fund)).toBe(0);
  });

  test('in process: refused, re-signed by the next signer-holding call, accepted; exactly once at the fund', async () => {
    const dir = tmpDir();
    const { fund, url } = await startFund(dir);
    const file = path.join(dir, 'journal.sqlite');
    const j = onCleanup(Journal.open(file, { signer: signer(1), batch: { maxCount: 3 } }));
    await j.appendMany(Array.from({ length: 3 }, (_, i) => sampleDraft(i)));
    await j.whenIdle();
    expect(await new Uploader(j, { fund: url, ...asPharmacy1 }).runOnce()).toMatchObject({ batches: 1, accepted: 3, error: null });
    await j.append(sampleDraft(10));
    await j.close();
    const rogue = Journal.open(file, { signer: rogueSigner(), trust: misconfigured() });
    await rogue.closeOpenBatch();
    const refused = await new Uploader(rogue, { fund: url, ...asPharmacy1 }).runOnce();
    expect(refused.error).toMatchObject({ code: 'CERT_UNTRUSTED', batchId: 2 });
    expect(rogue.batch(2)?.manifestRefused).toMatchObject({
      code: 'CERT_UNTRUSTED',
      reason: expect.stringMatching(/not issued by the fund's CA/),
    });
    // The refused certificate does not sign again: it would be refused again.
    expect(await rogue.signPendingManifests()).toBe(0);
    expect(rogue.batch(2)).toMatchObject({ manifests: 1, manifestRefused: { code: 'CERT_UNTRUSTED' } });
    await rogue.close();

    const ok = onCleanup(Journal.open(file, { signer: signer(1) }));
    const before = ok.batch(2)!;
    expect(await ok.closeDueBatches()).toBeNull();
    const after = ok.batch(2)!;
    expect(after).toMatchObject({ state: 'closed', manifests: 2, manifestRefused: null });
    expect(after.idempotencyKey).not.toBe(before.idempotencyKey);
    expect(ok.uploadRequest(2).idempotencyKey).toBe(after.idempotencyKey);
    expect(await new Uploader(ok, { fund: url, ...asPharmacy1 }).runOnce()).toMatchObject({ batches: 1, accepted: 1, error: null });
    expect(storedAtFund(fund)).toBe(4);
    expect(verifyJournal(file)).toMatchObject({ ok: true, batches: 2 });
  });
});

describe('the manifest history is append-only, in SQLite', () => {
  /** A closed batch signed with the pharmacy's card, opened again with another signer (the rogue one, trusted here). */
  async function closedBatch(): Promise<{ j: Journal; file: string }> {
    const file = path.join(tmpDir(), 'journal.sqlite');
    const first = Journal.open(file, { signer: signer(1), batch: { maxCount: 100 } });
    await first.appendMany([sampleDraft(1), sampleDraft(2)]);
    await first.closeOpenBatch();
    await first.close();
    return { j: onCleanup(Journal.open(file, { signer: rogueSigner(), trust: misconfigured() })), file };
  }

  test('no new manifest without a refusal; a refusal only for the current manifest of a closed batch; neither changes', async () => {
    const { j } = await closedBatch();
    const b = j.batch(1)!;
    const insert = j.db.prepare(
      'INSERT INTO resigned_manifests (batch_id, seq, manifest_jws, idempotency_key, replaces, signed_at) VALUES (1, ?, ?, ?, ?, ?)',
    );
    const jws = j.uploadRequest(1).body.manifest;
    expect(() => insert.run(2, jws, 'k2', b.idempotencyKey, 'now')).toThrow(/FOREIGN KEY|only once the fund refused it/);
    const refuse = j.db.prepare(
      "INSERT INTO manifest_refusals (idempotency_key, batch_id, code, reason, refused_at) VALUES (?, 1, 'CERT_UNTRUSTED', 'x', 'now')",
    );
    expect(() => refuse.run('not-the-current-key')).toThrow(/only the current manifest/);
    refuse.run(b.idempotencyKey);
    expect(() => insert.run(3, jws, 'k3', b.idempotencyKey, 'now')).toThrow(/only once the fund refused it/);
    expect(() => j.db.prepare("UPDATE manifest_refusals SET code = 'X'").run()).toThrow(/immutable/);
    expect(() => j.db.prepare('DELETE FROM manifest_refusals').run()).toThrow(/never deleted/);
    // Recorded by hand, the refusal lets a signer other than the refused one sign again.
    expect(await j.signPendingManifests()).toBe(1);
    expect(() => j.db.prepare("UPDATE resigned_manifests SET signed_at = 'x'").run()).toThrow(/signed once/);
    expect(() => j.db.prepare('DELETE FROM resigned_manifests').run()).toThrow(/never deleted/);
    expect(() => refuse.run(b.idempotencyKey)).toThrow(/only the current manifest|UNIQUE/);
    expect(verifyJournal(j.file).ok).toBe(true);
  });

  test('journal verify finds a re-signed manifest slipped in without a refusal (triggers dropped)', async () => {
    const { j, file } = await closedBatch();
    const jws = j.uploadRequest(1).body.manifest;
    j.db.exec('DROP TRIGGER resigned_manifests_next');
    j.db.pragma('foreign_keys = OFF');
    j.db
      .prepare(
        'INSERT INTO resigned_manifests (batch_id, seq, manifest_jws, idempotency_key, replaces, signed_at) VALUES (1, 2, ?, ?, ?, ?)',
      )
      .run(jws, 'not-derived', 'nothing-refused', 'now');
    const r = verifyJournal(file);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['trigger-missing', 'manifest-history', 'manifest-mismatch']));
  });

  test('a schema 2 journal gains the manifest history on open, nothing else changes', async () => {
    const file = path.join(tmpDir(), 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 2 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2), sampleDraft(3)]);
    await j.whenIdle();
    // What a journal written by schema 2 holds: no history tables, version 2.
    j.db.exec(`DROP TRIGGER manifest_refusals_no_update; DROP TRIGGER manifest_refusals_no_delete; DROP TRIGGER manifest_refusals_current;
               DROP TRIGGER resigned_manifests_no_update; DROP TRIGGER resigned_manifests_no_delete; DROP TRIGGER resigned_manifests_next;
               DROP TABLE resigned_manifests; DROP TABLE manifest_refusals; UPDATE meta SET value = '2' WHERE key = 'schema_version';`);
    await j.close();
    expect(verifyJournal(file)).toMatchObject({ ok: true, invoices: 3, batches: 2 });
    const v3 = onCleanup(Journal.open(file));
    expect(v3.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(SCHEMA_VERSION));
    expect(v3.batches().map((b) => [b.state, b.manifests])).toEqual([
      ['closed', 1],
      ['open', 0],
    ]);
    expect(verifyJournal(file)).toMatchObject({ ok: true, invoices: 3, batches: 2 });
  });

  test('a schema 2 journal with a trigger missing is refused, not upgraded', async () => {
    const file = path.join(tmpDir(), 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1) });
    await j.append(sampleDraft(1));
    j.db.exec(`DROP TRIGGER manifest_refusals_no_update; DROP TRIGGER manifest_refusals_no_delete; DROP TRIGGER manifest_refusals_current;
               DROP TRIGGER resigned_manifests_no_update; DROP TRIGGER resigned_manifests_no_delete; DROP TRIGGER resigned_manifests_next;
               DROP TABLE resigned_manifests; DROP TABLE manifest_refusals; DROP TRIGGER acks_no_delete;
               UPDATE meta SET value = '2' WHERE key = 'schema_version';`);
    await j.close();
    expect(() => Journal.open(file)).toThrow(expect.objectContaining({ code: 'journal-tampered' }));
  });
});
