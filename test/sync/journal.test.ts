import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GENESIS_HASH } from '../../src/sync/invoice';
import { Journal } from '../../src/sync/journal/journal';
import { verifyJournal } from '../../src/sync/journal/verify';
import { jwsHash, parseCompact } from '../../src/sync/jws';
import { checkManifest } from '../../src/sync/manifest';
import { sampleDraft, signer, tmpDir } from './helpers';

function openJournal(dir: string, maxCount = 5, now?: () => Date): Journal {
  return Journal.open(path.join(dir, 'journal.sqlite'), {
    signer: signer(1),
    batch: { maxCount, maxAgeMs: 60_000 },
    ...(now ? { now } : {}),
  });
}

describe('journal: appending', () => {
  test('gapless numbers, chain from the genesis value, durable WAL + synchronous=FULL', async () => {
    const dir = tmpDir();
    const j = openJournal(dir);
    expect(j.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(j.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    const a = await j.append(sampleDraft(1));
    const b = await j.append(sampleDraft(2));
    expect(a.number).toBe(1);
    expect(a.document.prev).toBe(GENESIS_HASH);
    expect(b.number).toBe(2);
    expect(b.document.prev).toBe(a.hash);
    expect(a.hash).toBe(jwsHash(a.jws));
    expect(a.document.pharmacyId).toBe('DZ16-PH-00001');
    await j.close();
  });

  test('appendMany group-commits and keeps order; a bad draft is rejected alone, naming the field', async () => {
    const dir = tmpDir();
    const j = openJournal(dir, 1000);
    const good = Array.from({ length: 50 }, (_, i) => sampleDraft(i));
    const bad = { ...sampleDraft(99), totals: { ...sampleDraft(99).totals, fund: 1 } };
    const results = await Promise.allSettled([
      ...good.slice(0, 10).map((d) => j.append(d)),
      j.append(bad),
      ...good.slice(10).map((d) => j.append(d)),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ number: number }>).value.number);
    expect(ok).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const rej = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rej.reason).toMatchObject({ code: 'invalid-invoice', field: 'totals.fund' });
    expect(verifyJournal(j.file).ok).toBe(true);
    await j.close();
  });

  test('inCommit: a caller row commits with the invoice, and a hook that throws leaves neither', async () => {
    const dir = tmpDir();
    const j = openJournal(dir);
    j.db.exec('CREATE TABLE side (invoice_number INTEGER PRIMARY KEY)');
    const a = await j.append(sampleDraft(1), { inCommit: (inv, db) => void db.prepare('INSERT INTO side VALUES (?)').run(inv.number) });
    expect(j.db.prepare('SELECT invoice_number FROM side').pluck().all()).toEqual([a.number]);
    await expect(
      j.append(sampleDraft(2), {
        inCommit: (inv, db) => {
          db.prepare('INSERT INTO side VALUES (?)').run(inv.number);
          throw new Error('side table refused');
        },
      }),
    ).rejects.toThrow(/side table refused/);
    expect(j.db.prepare('SELECT COUNT(*) FROM invoices').pluck().get()).toBe(1);
    expect(j.db.prepare('SELECT invoice_number FROM side').pluck().all()).toEqual([a.number]);
    // The chain goes on from the last committed invoice: no gap, no orphan.
    const c = await j.append(sampleDraft(3));
    expect(c.number).toBe(2);
    expect(c.document.prev).toBe(a.hash);
    expect(verifyJournal(j.file).ok).toBe(true);
    await j.close();
  });

  test('signed rows cannot be updated or deleted — enforced by SQLite, also for INSERT OR REPLACE', async () => {
    const dir = tmpDir();
    const j = openJournal(dir);
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    const db = j.db;
    expect(() => db.prepare('UPDATE invoices SET total = 0 WHERE number = 1').run()).toThrow(/immutable/);
    expect(() => db.prepare('DELETE FROM invoices WHERE number = 2').run()).toThrow(/never deleted/);
    const row = db.prepare('SELECT * FROM invoices WHERE number = 1').get() as Record<string, unknown>;
    expect(() => db.prepare('INSERT OR REPLACE INTO invoices SELECT * FROM invoices WHERE number = 1').run()).toThrow(/next number/);
    expect(() =>
      db
        .prepare(
          'INSERT INTO invoices (number, kind, fund, date, issued_at, card_serial, total, fund_amount, patient_amount, ref_number, prev_hash, hash, jws) VALUES (3,?,?,?,?,?,?,?,?,NULL,?,?,?)',
        )
        .run(
          row.kind,
          row.fund,
          row.date,
          row.issued_at,
          row.card_serial,
          row.total,
          row.fund_amount,
          row.patient_amount,
          GENESIS_HASH,
          'x'.repeat(64),
          row.jws,
        ),
    ).toThrow(/link to the last invoice/);
    expect(() => db.prepare('DELETE FROM batches').run()).toThrow(/never deleted/);
    await j.close();
  });

  test('batches close by count, on demand and by age; manifests are signed and match', async () => {
    const dir = tmpDir();
    let t = Date.parse('2024-03-15T08:00:00Z');
    const j = openJournal(dir, 4, () => new Date(t));
    await j.appendMany(Array.from({ length: 10 }, (_, i) => sampleDraft(i)));
    await j.whenIdle(); // appends resolve when durable; manifests are signed just after
    const bs = j.batches();
    expect(bs.map((b) => [b.id, b.state, b.from, b.to, b.closeReason, b.signed])).toEqual([
      [1, 'closed', 1, 4, 'count', true],
      [2, 'closed', 5, 8, 'count', true],
      [3, 'open', 9, 10, null, false],
    ]);
    expect(await j.closeDueBatches()).toBeNull(); // not old enough
    t += 61_000;
    const aged = await j.closeDueBatches();
    expect(aged).toMatchObject({ id: 3, state: 'closed', closeReason: 'age', signed: true });
    await j.append(sampleDraft(11));
    const od = await j.closeOpenBatch();
    expect(od).toMatchObject({ id: 4, from: 11, to: 11, closeReason: 'on-demand' });
    expect(await j.closeOpenBatch()).toBeNull();
    const req = j.uploadRequest(1);
    const m = checkManifest(parseCompact(req.body.manifest).payload);
    expect(m).toMatchObject({ pharmacyId: 'DZ16-PH-00001', batchId: 1, from: 1, to: 4, count: 4 });
    expect(m.invoices).toEqual(req.body.invoices.map(jwsHash));
    expect(req.body.certificates).toHaveLength(1);
    expect(() => j.db.prepare('UPDATE batches SET last_number = 5, count = 5 WHERE id = 1').run()).toThrow(/closed batch cannot change/);
    expect(() => j.db.prepare("UPDATE batches SET state = 'open' WHERE id = 1").run()).toThrow(/only moves forward/);
    expect(() => j.db.prepare("UPDATE batches SET manifest_jws = 'x' WHERE id = 1").run()).toThrow(/signed once/);
    expect(verifyJournal(j.file)).toMatchObject({ ok: true, invoices: 11, batches: 4 });
    await j.close();
  });

  test('a crash between sealing and signing leaves a sealed batch that is signed later', async () => {
    const dir = tmpDir();
    const j = openJournal(dir, 100);
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    // Simulate: the batch was sealed but the process died before the manifest was signed.
    j.db
      .prepare("UPDATE batches SET state = 'closed', closed_at = '2024-03-15T09:00:00.000Z', close_reason = 'on-demand' WHERE id = 1")
      .run();
    expect(j.backlog().unsignedBatches).toBe(1);
    expect(j.uploadQueue()).toHaveLength(0);
    await j.close();
    const again = openJournal(dir, 100);
    expect(await again.signPendingManifests()).toBe(1);
    expect(again.uploadQueue().map((b) => b.id)).toEqual([1]);
    expect(verifyJournal(again.file).ok).toBe(true);
    await again.close();
  });

  test('the journal belongs to one pharmacy', async () => {
    const dir = tmpDir();
    const j = openJournal(dir);
    await j.append(sampleDraft(1));
    await j.close();
    expect(() => Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(2) })).toThrow(/belongs to pharmacy DZ16-PH-00001/);
  });
});

describe('journal verify', () => {
  async function journalWith(n: number): Promise<string> {
    const dir = tmpDir();
    const j = openJournal(dir, 4);
    await j.appendMany(Array.from({ length: n }, (_, i) => sampleDraft(i)));
    await j.close();
    return path.join(dir, 'journal.sqlite');
  }

  /** Edits behind the journal's back, the way an attacker with the file would. */
  function tamper(file: string, sql: string, ...args: unknown[]): void {
    const db = new Database(file);
    db.exec('DROP TRIGGER invoices_no_update; DROP TRIGGER invoices_no_delete; DROP TRIGGER invoices_append_only;');
    db.prepare(sql).run(...args);
    db.close();
  }

  test('a clean journal verifies', async () => {
    const file = await journalWith(9);
    expect(verifyJournal(file)).toMatchObject({ ok: true, invoices: 9, lastNumber: 9, problems: [], firstBreak: null });
  });

  test('an edited amount (signature no longer matches) is the first break, by number', async () => {
    const file = await journalWith(9);
    const db = new Database(file);
    const jws = db.prepare('SELECT jws FROM invoices WHERE number = 6').pluck().get() as string;
    db.close();
    const [h, p, s] = jws.split('.') as [string, string, string];
    const payload = Buffer.from(p, 'base64url')
      .toString()
      .replace(/"fund":(\d+)/, (_m, x: string) => `"fund":${Number(x) + 100}`);
    const forged = `${h}.${Buffer.from(payload).toString('base64url')}.${s}`;
    tamper(file, 'UPDATE invoices SET jws = ?, hash = ? WHERE number = 6', forged, jwsHash(forged));
    const r = verifyJournal(file);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ code: 'trigger-missing' });
    expect(r.firstBreak).toMatchObject({ number: 6 });
    expect(r.problems.map((p) => p.code)).toContain('bad-signature');
    expect(r.problems.map((p) => p.code)).toContain('chain-broken'); // invoice 7 links to the old hash
    // Opening it for writing is refused, rather than silently re-creating the triggers.
    expect(() => Journal.open(file, { signer: signer(1) })).toThrow(/trigger\(s\) missing/);
  });

  test('a deleted invoice is a gap named by number', async () => {
    const file = await journalWith(9);
    tamper(file, 'DELETE FROM invoices WHERE number = 4');
    const r = verifyJournal(file);
    expect(r.firstBreak).toMatchObject({ code: 'chain-gap', number: 5 });
    expect(r.firstBreak!.message).toMatch(/missing 4–4/);
  });

  test('a column edited without touching the JWS is caught', async () => {
    const file = await journalWith(3);
    tamper(file, 'UPDATE invoices SET fund_amount = fund_amount + 1 WHERE number = 2');
    expect(verifyJournal(file).firstBreak).toMatchObject({ code: 'column-mismatch', number: 2 });
  });

  test('a corrupted file is reported, not repaired', async () => {
    const file = await journalWith(30);
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    const junk = Buffer.alloc(2048, 0xa5);
    fs.writeSync(fd, junk, 0, junk.length, Math.min(4096 * 2, size - junk.length));
    fs.closeSync(fd);
    const before = fs.readFileSync(file);
    const r = verifyJournal(file);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ code: 'sqlite-corrupt' });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});
