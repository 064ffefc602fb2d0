import type Database from 'better-sqlite3';
import * as path from 'node:path';
import { openDatabase } from '../common/db';
import { GENESIS_HASH } from '../sync/invoice';
import type { BatchAck, InvoiceResult, PaymentAdjustment, PaymentNotice } from '../sync/protocol';

/**
 * The reference fund's store (SQLite, WAL, synchronous=FULL): per pharmacy the chain tip, every
 * batch received with the acknowledgement sent for it, every invoice with its outcome, and the
 * request tokens seen and not yet expired (the replay guard survives a restart). A batch
 * and its invoices are written in one transaction after every check has passed, so a refused
 * request leaves nothing behind. Rows are never updated except a batch's settlement.
 * Digests are stored as 32-byte BLOBs (half the size of hex, so the indexes stay small); the
 * chain itself makes invoice hashes unique, and `chifa fund verify` checks that they are.
 */

/**
 * Idempotency keys are the pharmacy's own: unique per pharmacy, so that no pharmacy can take a
 * key another one will use (a key derived from a manifest is no secret from the fund's other
 * clients). Stores made before held them unique across pharmacies: see `migrate`.
 */
const batchesTable = (name: string): string => `CREATE TABLE IF NOT EXISTS ${name} (
  pharmacy_id TEXT NOT NULL,
  batch_id INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
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
  PRIMARY KEY (pharmacy_id, batch_id),
  UNIQUE (pharmacy_id, idempotency_key)
) STRICT;`;

const BATCH_COLUMNS =
  'pharmacy_id, batch_id, idempotency_key, manifest_hash, manifest_jws, from_number, to_number, count, received_at, accepted, rejected, paid, settled_at';

/**
 * A store whose `batches` table holds idempotency keys unique across pharmacies gets the table
 * rebuilt, in one transaction, with keys unique per pharmacy (SQLite cannot drop a constraint).
 * Dropping the table drops its trigger first (so no row counts as deleted); SCHEMA creates it
 * again.
 */
function migrate(db: Database.Database): void {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'batches'").pluck().get() as string | undefined;
  if (sql === undefined || !/idempotency_key TEXT NOT NULL UNIQUE/.test(sql)) return;
  db.transaction(() => {
    db.exec(batchesTable('batches_keyed'));
    db.exec(`INSERT INTO batches_keyed (${BATCH_COLUMNS}) SELECT ${BATCH_COLUMNS} FROM batches`);
    db.exec('DROP TABLE batches');
    db.exec('ALTER TABLE batches_keyed RENAME TO batches');
  }).immediate();
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pharmacies (
  id TEXT PRIMARY KEY,
  last_number INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  last_batch INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS certificates (
  key_id TEXT PRIMARY KEY,
  der BLOB NOT NULL,
  pharmacy_id TEXT NOT NULL
) STRICT;

${batchesTable('batches')}

CREATE TABLE IF NOT EXISTS invoices (
  pharmacy_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
  batch_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  fund TEXT NOT NULL,
  date TEXT NOT NULL,
  card_serial TEXT NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  ref_number INTEGER,
  fingerprint BLOB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
  code TEXT,
  reason TEXT,
  jws TEXT NOT NULL,
  PRIMARY KEY (pharmacy_id, number)
) STRICT;
CREATE INDEX IF NOT EXISTS invoices_fingerprint ON invoices(fingerprint) WHERE status = 'accepted';
CREATE INDEX IF NOT EXISTS invoices_ref ON invoices(pharmacy_id, ref_number) WHERE ref_number IS NOT NULL;

-- Request tokens seen, until they expire: a token is good for one request (src/fund/auth.ts).
CREATE TABLE IF NOT EXISTS request_tokens (
  pharmacy_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (pharmacy_id, jti)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS request_tokens_expires ON request_tokens(expires);

-- Amounts kept back when a batch was paid (its settlement), per accepted invoice.
CREATE TABLE IF NOT EXISTS settlement_adjustments (
  pharmacy_id TEXT NOT NULL,
  batch_id INTEGER NOT NULL,
  number INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0),
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (pharmacy_id, batch_id, number)
) STRICT;

CREATE TRIGGER IF NOT EXISTS fund_invoices_no_update BEFORE UPDATE ON invoices
BEGIN SELECT RAISE(ABORT, 'fund: stored invoices are immutable'); END;
CREATE TRIGGER IF NOT EXISTS fund_invoices_no_delete BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'fund: stored invoices are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS fund_batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'fund: batches are never deleted'); END;
`;

export interface ChainTip {
  lastNumber: number;
  lastHash: string;
  lastBatch: number;
}

export interface StoredInvoice {
  number: number;
  hash: string;
  kind: string;
  status: 'accepted' | 'rejected';
  total: number;
  fund_amount: number;
  batch_id: number;
}

export interface BatchSummary {
  batchId: number;
  from: number;
  to: number;
  count: number;
  accepted: number;
  rejected: number;
  paid: number;
  state: 'acknowledged' | 'settled';
  settledAt?: string;
}

export interface NewInvoiceRow {
  number: number;
  hash: string;
  prev: string;
  kind: string;
  fund: string;
  date: string;
  cardSerial: string;
  total: number;
  fundAmount: number;
  refNumber: number | null;
  fingerprint: string;
  result: InvoiceResult;
  jws: string;
}

export interface NewBatch {
  pharmacyId: string;
  batchId: number;
  idempotencyKey: string;
  manifestHash: string;
  manifestJws: string;
  from: number;
  to: number;
  receivedAt: string;
  paid: number;
  certificates: { keyId: string; der: Buffer }[];
  invoices: NewInvoiceRow[];
}

/** Why the reference fund pays an accepted invoice short (its `short-pay` fault). */
export const SHORT_PAYMENT = {
  code: 'PAYMENT_ADJUSTED',
  reason: 'the fund paid less than it accepted for this invoice (reference fund: fault injected, short-pay)',
} as const;

export interface FundStoreOptions {
  /** Centimes to pay batch `batchId` of `pharmacyId` short when it is settled (fault injection). */
  shortPayment?: (pharmacyId: string, batchId: number) => number;
}

export interface BatchRowDb {
  pharmacy_id: string;
  batch_id: number;
  idempotency_key: string;
  manifest_hash: string;
  from_number: number;
  to_number: number;
  count: number;
  received_at: string;
  accepted: number;
  rejected: number;
  paid: number;
  settled_at: string | null;
}

export class FundStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly st;

  private readonly shortPayment: (pharmacyId: string, batchId: number) => number;

  private constructor(file: string, db: Database.Database, options: FundStoreOptions) {
    this.file = file;
    this.db = db;
    this.shortPayment = options.shortPayment ?? (() => 0);
    this.st = {
      tip: db.prepare('SELECT last_number AS lastNumber, last_hash AS lastHash, last_batch AS lastBatch FROM pharmacies WHERE id = ?'),
      byKey: db.prepare('SELECT * FROM batches WHERE pharmacy_id = ? AND idempotency_key = ?'),
      byManifest: db.prepare('SELECT * FROM batches WHERE manifest_hash = ?'),
      byId: db.prepare('SELECT * FROM batches WHERE pharmacy_id = ? AND batch_id = ?'),
      invoice: db.prepare(
        'SELECT number, lower(hex(hash)) AS hash, kind, status, total, fund_amount, batch_id FROM invoices WHERE pharmacy_id = ? AND number = ?',
      ),
      results: db.prepare(
        'SELECT number, lower(hex(hash)) AS hash, status, code, reason FROM invoices WHERE pharmacy_id = ? AND number BETWEEN ? AND ? ORDER BY number',
      ),
      fingerprint: db.prepare("SELECT 1 FROM invoices WHERE fingerprint = ? AND status = 'accepted' LIMIT 1").pluck(),
      credited: db.prepare(
        "SELECT COALESCE(SUM(total), 0) AS total, COALESCE(SUM(fund_amount), 0) AS fund FROM invoices WHERE pharmacy_id = ? AND ref_number = ? AND kind = 'credit-note' AND status = 'accepted'",
      ),
      correctedBy: db
        .prepare(
          "SELECT number FROM invoices WHERE pharmacy_id = ? AND ref_number = ? AND kind = 'corrected-invoice' AND status = 'accepted' LIMIT 1",
        )
        .pluck(),
      insertInvoice: db.prepare(
        `INSERT INTO invoices (pharmacy_id, number, hash, prev_hash, batch_id, kind, fund, date, card_serial, total, fund_amount, ref_number, fingerprint, status, code, reason, jws)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertBatch: db.prepare(
        `INSERT INTO batches (pharmacy_id, batch_id, idempotency_key, manifest_hash, manifest_jws, from_number, to_number, count, received_at, accepted, rejected, paid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertTip: db.prepare(
        `INSERT INTO pharmacies (id, last_number, last_hash, last_batch) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET last_number = excluded.last_number, last_hash = excluded.last_hash, last_batch = excluded.last_batch`,
      ),
      cert: db.prepare('INSERT OR IGNORE INTO certificates (key_id, der, pharmacy_id) VALUES (?, ?, ?)'),
      settle: db.prepare('UPDATE batches SET settled_at = ? WHERE pharmacy_id = ? AND batch_id = ? AND settled_at IS NULL'),
      largestAccepted: db.prepare(
        `SELECT number, fund_amount FROM invoices WHERE pharmacy_id = ? AND batch_id = ? AND status = 'accepted'
            AND kind <> 'credit-note' AND fund_amount > 0 ORDER BY fund_amount DESC, number`,
      ),
      adjust: db.prepare(
        'INSERT INTO settlement_adjustments (pharmacy_id, batch_id, number, amount, code, reason) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      adjustments: db.prepare(
        `SELECT a.number, lower(hex(i.hash)) AS hash, a.amount, a.code, a.reason FROM settlement_adjustments a
           JOIN invoices i ON i.pharmacy_id = a.pharmacy_id AND i.number = a.number
          WHERE a.pharmacy_id = ? AND a.batch_id = ? ORDER BY a.number`,
      ),
      token: db.prepare('INSERT INTO request_tokens (pharmacy_id, jti, expires) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      pruneTokens: db.prepare('DELETE FROM request_tokens WHERE expires < ?'),
    };
  }

  private tokensSincePrune = 0;

  /**
   * Remembers request token `jti` of `pharmacyId` until `expires` (seconds since the epoch);
   * false if it was already seen. Expired entries are dropped now and then (`nowSeconds`).
   */
  rememberToken(pharmacyId: string, jti: string, expires: number, nowSeconds: number): boolean {
    if (++this.tokensSincePrune >= 1000) {
      this.tokensSincePrune = 0;
      this.st.pruneTokens.run(nowSeconds);
    }
    return this.st.token.run(pharmacyId, jti, expires).changes === 1;
  }

  static open(dir: string, options: FundStoreOptions = {}): FundStore {
    const file = path.join(dir, 'fund.sqlite');
    const db = openDatabase(file, { busyTimeoutMs: 10000 });
    migrate(db);
    db.exec(SCHEMA);
    return new FundStore(file, db, options);
  }

  tip(pharmacyId: string): ChainTip {
    return (this.st.tip.get(pharmacyId) as ChainTip | undefined) ?? { lastNumber: 0, lastHash: GENESIS_HASH, lastBatch: 0 };
  }

  /** Pharmacy `pharmacyId`'s batch stored under idempotency key `key`. */
  batchByKey(pharmacyId: string, key: string): BatchRowDb | undefined {
    return this.st.byKey.get(pharmacyId, key) as BatchRowDb | undefined;
  }

  batchByManifest(hash: string): BatchRowDb | undefined {
    return this.st.byManifest.get(hash) as BatchRowDb | undefined;
  }

  batchById(pharmacyId: string, batchId: number): BatchRowDb | undefined {
    return this.st.byId.get(pharmacyId, batchId) as BatchRowDb | undefined;
  }

  invoice(pharmacyId: string, number: number): StoredInvoice | undefined {
    return this.st.invoice.get(pharmacyId, number) as StoredInvoice | undefined;
  }

  hasAcceptedFingerprint(fp: string): boolean {
    return this.st.fingerprint.get(Buffer.from(fp, 'hex')) !== undefined;
  }

  credited(pharmacyId: string, number: number): { total: number; fund: number } {
    return this.st.credited.get(pharmacyId, number) as { total: number; fund: number };
  }

  correctedBy(pharmacyId: string, number: number): number | undefined {
    return this.st.correctedBy.get(pharmacyId, number) as number | undefined;
  }

  /**
   * Stores a verified batch. Re-checks, inside the write transaction, that the chain tip is
   * still the one the batch was checked against (`expectTip`); returns false if not.
   */
  commit(b: NewBatch, expectTip: ChainTip): boolean {
    return this.db
      .transaction(() => {
        const tip = this.tip(b.pharmacyId);
        if (tip.lastNumber !== expectTip.lastNumber || tip.lastHash !== expectTip.lastHash || tip.lastBatch !== expectTip.lastBatch)
          return false;
        for (const c of b.certificates) this.st.cert.run(c.keyId, c.der, b.pharmacyId);
        let accepted = 0;
        for (const i of b.invoices) {
          if (i.result.status === 'accepted') accepted++;
          this.st.insertInvoice.run(
            b.pharmacyId,
            i.number,
            Buffer.from(i.hash, 'hex'),
            Buffer.from(i.prev, 'hex'),
            b.batchId,
            i.kind,
            i.fund,
            i.date,
            i.cardSerial,
            i.total,
            i.fundAmount,
            i.refNumber,
            Buffer.from(i.fingerprint, 'hex'),
            i.result.status,
            i.result.code ?? null,
            i.result.reason ?? null,
            i.jws,
          );
        }
        const count = b.invoices.length;
        this.st.insertBatch.run(
          b.pharmacyId,
          b.batchId,
          b.idempotencyKey,
          b.manifestHash,
          b.manifestJws,
          b.from,
          b.to,
          count,
          b.receivedAt,
          accepted,
          count - accepted,
          b.paid,
        );
        const last = b.invoices[count - 1]!;
        this.st.upsertTip.run(b.pharmacyId, last.number, last.hash, b.batchId);
        return true;
      })
      .immediate();
  }

  /**
   * Summaries of a pharmacy's batches from `fromBatch` (at most `limit`), settling those due:
   * how the uploader learns settlements in one request.
   */
  listBatches(pharmacyId: string, fromBatch: number, limit: number, now: Date, settleAfterMs: number | null): BatchSummary[] {
    const rows = this.db
      .prepare('SELECT * FROM batches WHERE pharmacy_id = ? AND batch_id >= ? ORDER BY batch_id LIMIT ?')
      .all(pharmacyId, fromBatch, limit) as BatchRowDb[];
    return rows.map((r) => {
      const settledAt = this.settleIfDue(r, now, settleAfterMs);
      return {
        batchId: r.batch_id,
        from: r.from_number,
        to: r.to_number,
        count: r.count,
        accepted: r.accepted,
        rejected: r.rejected,
        paid: settledAt !== null ? this.paidOf(r) : r.paid,
        state: settledAt !== null ? 'settled' : 'acknowledged',
        ...(settledAt !== null ? { settledAt } : {}),
      };
    });
  }

  /**
   * Settles `row` if `settleAfterMs` has passed since it was received: in one transaction, the
   * settlement date and, with a short payment configured for it, the amounts kept back on its
   * accepted invoices (the largest fund shares first).
   */
  private settleIfDue(row: BatchRowDb, now: Date, settleAfterMs: number | null): string | null {
    if (row.settled_at === null && settleAfterMs !== null && now.getTime() - Date.parse(row.received_at) >= settleAfterMs) {
      const at = now.toISOString();
      this.db
        .transaction(() => {
          if (this.st.settle.run(at, row.pharmacy_id, row.batch_id).changes === 0) return;
          let left = Math.min(this.shortPayment(row.pharmacy_id, row.batch_id), row.paid);
          const invoices = this.st.largestAccepted.all(row.pharmacy_id, row.batch_id) as { number: number; fund_amount: number }[];
          for (const i of invoices) {
            if (left <= 0) break;
            const amount = Math.min(left, i.fund_amount);
            this.st.adjust.run(row.pharmacy_id, row.batch_id, i.number, amount, SHORT_PAYMENT.code, SHORT_PAYMENT.reason);
            left -= amount;
          }
        })
        .immediate();
      return at;
    }
    return row.settled_at;
  }

  /** Amounts kept back from a settled batch, per invoice. */
  private adjustmentsOf(row: BatchRowDb): PaymentAdjustment[] {
    // Plain objects, as signed answers are built of (canonical.ts refuses SQLite's row objects).
    return (this.st.adjustments.all(row.pharmacy_id, row.batch_id) as PaymentAdjustment[]).map((a) => ({
      number: a.number,
      hash: a.hash,
      amount: a.amount,
      code: a.code,
      reason: a.reason,
    }));
  }

  /** What the fund transferred for a settled batch: what it accepted less what it kept back. */
  private paidOf(row: BatchRowDb): number {
    return row.paid - this.adjustmentsOf(row).reduce((n, a) => n + a.amount, 0);
  }

  /** The reference under which a settled batch's transfer reaches the pharmacy's bank account. */
  static transferReference(pharmacyId: string, batchId: number): string {
    return `CHIFA-${pharmacyId}-B${batchId}`;
  }

  /** The payment notice of a batch, settling it first if due; null while it is not settled. */
  paymentNotice(row: BatchRowDb, now: Date, settleAfterMs: number | null): PaymentNotice | null {
    const settledAt = this.settleIfDue(row, now, settleAfterMs);
    if (settledAt === null) return null;
    const adjustments = this.adjustmentsOf(row);
    return {
      pharmacyId: row.pharmacy_id,
      batchId: row.batch_id,
      idempotencyKey: row.idempotency_key,
      settledAt,
      accepted: row.paid,
      paid: row.paid - adjustments.reduce((n, a) => n + a.amount, 0),
      transferReference: FundStore.transferReference(row.pharmacy_id, row.batch_id),
      adjustments,
    };
  }

  /** The acknowledgement of a stored batch; settles it first if `settleAfterMs` has passed. */
  ack(row: BatchRowDb, now: Date, settleAfterMs: number | null): BatchAck {
    row = { ...row, settled_at: this.settleIfDue(row, now, settleAfterMs) };
    const results = (
      this.st.results.all(row.pharmacy_id, row.from_number, row.to_number) as {
        number: number;
        hash: string;
        status: 'accepted' | 'rejected';
        code: string | null;
        reason: string | null;
      }[]
    ).map((r): InvoiceResult => ({
      number: r.number,
      hash: r.hash,
      status: r.status,
      ...(r.code !== null ? { code: r.code } : {}),
      ...(r.reason !== null ? { reason: r.reason } : {}),
    }));
    return {
      pharmacyId: row.pharmacy_id,
      batchId: row.batch_id,
      idempotencyKey: row.idempotency_key,
      receivedAt: row.received_at,
      complete: true,
      state: row.settled_at !== null ? 'settled' : 'acknowledged',
      count: row.count,
      accepted: row.accepted,
      rejected: row.rejected,
      paid: row.settled_at !== null ? this.paidOf(row) : row.paid,
      ...(row.settled_at !== null ? { settledAt: row.settled_at } : {}),
      results,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
