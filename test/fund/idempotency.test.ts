import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FundStore } from '../../src/fund/store';
import { Uploader } from '../../src/sync/uploader';
import { credentials, signer, tmpDir } from '../sync/helpers';
import { errorOf, journalWithBatches, P1, P2, startFund, upload } from './helpers';

/**
 * Idempotency keys are each pharmacy's own. Before, they were unique across pharmacies: a
 * pharmacy that sent its batch under a key another pharmacy would use (keys derived from a
 * manifest are no secret from the fund's other clients) made the other's upload 403 FORBIDDEN
 * for ever.
 */

test("another pharmacy using a pharmacy's key first does not keep it from uploading", async () => {
  const { dir, url } = await startFund();
  const p1 = await journalWithBatches(dir, 1, 4, 2);
  const p2 = await journalWithBatches(dir, 2, 2, 2);
  // Pharmacy 2 sends its own batch under the key of pharmacy 1's first batch: it is stored.
  const squat = await upload(url, signer(2), JSON.stringify(p2.uploads[0]!.body), p1.uploads[0]!.key);
  expect(squat.status).toBe(200);
  // Pharmacy 1's uploader sends its batches under their own keys: both accepted.
  const s = await new Uploader(p1.journal, { fund: url, ...credentials(1), sleep: async () => undefined }).runOnce();
  expect({ error: s.error, batches: s.batches, accepted: s.accepted }).toEqual({ error: null, batches: 2, accepted: 4 });
  // The key still means pharmacy 2's batch to pharmacy 2: replayed, or refused for another one.
  const again = await upload(url, signer(2), JSON.stringify(p2.uploads[0]!.body), p1.uploads[0]!.key);
  expect([again.status, again.headers['idempotent-replayed']]).toEqual([200, 'true']);
  const reused = await upload(url, signer(1), JSON.stringify(p1.uploads[1]!.body), p1.uploads[0]!.key);
  expect([reused.status, errorOf(reused).code, errorOf(reused).field]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key']);
});

/** The `batches` table as stores made before keys were per pharmacy created it. */
const OLD_BATCHES = `CREATE TABLE batches (
  pharmacy_id TEXT NOT NULL,
  batch_id INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  manifest_hash TEXT NOT NULL UNIQUE,
  manifest_jws TEXT NOT NULL,
  from_number INTEGER NOT NULL,
  to_number INTEGER NOT NULL,
  count INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  accepted INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  paid INTEGER NOT NULL,
  settled_at TEXT,
  PRIMARY KEY (pharmacy_id, batch_id)
) STRICT;
CREATE TRIGGER fund_batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'fund: batches are never deleted'); END;`;

test('a store whose keys were unique across pharmacies is migrated: rows kept, keys per pharmacy, batches still never deleted', () => {
  const dir = tmpDir('chifa-fund-migrate-');
  fs.mkdirSync(dir, { recursive: true });
  const old = new Database(path.join(dir, 'fund.sqlite'));
  old.exec(OLD_BATCHES);
  old
    .prepare(
      `INSERT INTO batches VALUES ('${P1}', 1, 'key-0000000000000001', 'h1', 'jws', 1, 3, 3, '2024-03-15T00:00:00.000Z', 3, 0, 100, NULL)`,
    )
    .run();
  old.close();

  const store = FundStore.open(dir);
  try {
    expect(store.batchByKey(P1, 'key-0000000000000001')).toMatchObject({ batch_id: 1, paid: 100, manifest_hash: 'h1' });
    expect(store.batchByKey(P2, 'key-0000000000000001')).toBeUndefined();
    // The same key for another pharmacy is now stored; for the same pharmacy, still not.
    const insert = store.db.prepare(
      "INSERT INTO batches VALUES (?, ?, 'key-0000000000000001', ?, 'jws', 1, 1, 1, '2024-03-15T00:00:00.000Z', 1, 0, 0, NULL)",
    );
    expect(() => insert.run(P2, 1, 'h2')).not.toThrow();
    expect(() => insert.run(P1, 2, 'h3')).toThrow(/UNIQUE/);
    expect(() => store.db.prepare('DELETE FROM batches').run()).toThrow(/never deleted/);
  } finally {
    store.close();
  }
  // Opened again: nothing left to migrate.
  FundStore.open(dir).close();
});
