import type Database from 'better-sqlite3';
import { openSqliteFile } from '../../common/db';
import { JournalError } from '../errors';
import { GENESIS_HASH } from '../invoice';
import { BACKOFFICE_SQL, BACKOFFICE_TRIGGERS } from './backoffice-schema';
import { rebuildSummaries } from './summaries';

/**
 * The journal's tables. Immutability is enforced by SQLite itself, not only by our code:
 * - `invoices`: BEFORE UPDATE / BEFORE DELETE triggers abort; a BEFORE INSERT trigger accepts a
 *   row only as the next number, linked to the last row's hash (or the genesis value), with a hash
 *   not seen before. The insert check also defeats `INSERT OR REPLACE`, whose implicit delete
 *   does not fire delete triggers (recursive_triggers is off by default).
 * - `acks`: what the fund answered; never updated or deleted.
 * - `fund_acks`: the fund's signed answers as received (compact JWS and the fund's certificate),
 *   the pharmacy's proof of what the fund said; never updated or deleted.
 * - `batches`: a closed batch's range cannot change, its manifest and idempotency key are set
 *   once, its state only moves forward (open → closed → sent → acknowledged → settled).
 * - `manifest_refusals`: the fund refused a batch's current manifest for its certificate (it
 *   stored nothing); only the current manifest of a closed batch can be refused.
 * - `resigned_manifests`: a new manifest over the same invoices, signed with another certificate;
 *   accepted only for a closed batch, as the next in its history, replacing the current manifest
 *   and only once that one was refused. The newest manifest is the batch's current one (the one
 *   uploaded); earlier ones stay, with their refusals, as the audit trail.
 * - version 4 (backoffice-schema.ts): the back office's summaries, the psychotropics register
 *   (append-only, written only with its invoice), the fund's payment notices and the payments
 *   seen on the bank account (both append-only).
 * Anyone with the file can drop a trigger; `journal verify` rechecks every signature and link
 * and reports missing triggers, so tampering is detected rather than prevented.
 */
export const SCHEMA_VERSION = 4;

const STATE_RANK = (col: string) =>
  `(CASE ${col} WHEN 'open' THEN 0 WHEN 'closed' THEN 1 WHEN 'sent' THEN 2 WHEN 'acknowledged' THEN 3 WHEN 'settled' THEN 4 END)`;

/** BEFORE UPDATE and BEFORE DELETE triggers that abort: `table`'s rows never change. */
const immutable = (
  table: string,
  update: string,
  del: string,
): string => `CREATE TRIGGER IF NOT EXISTS ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'journal: ${update}'); END;

CREATE TRIGGER IF NOT EXISTS ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'journal: ${del}'); END;`;

export const TRIGGERS = [
  'invoices_no_update',
  'invoices_no_delete',
  'invoices_append_only',
  'acks_no_update',
  'acks_no_delete',
  'batches_no_delete',
  'batches_sealed',
  'batches_manifest_once',
  'batches_forward',
  'fund_acks_no_update',
  'fund_acks_no_delete',
  'manifest_refusals_no_update',
  'manifest_refusals_no_delete',
  'manifest_refusals_current',
  'resigned_manifests_no_update',
  'resigned_manifests_no_delete',
  'resigned_manifests_next',
  ...BACKOFFICE_TRIGGERS,
] as const;

/** The schema version that created each trigger (a journal of an older version lacks the newer ones). */
export const TRIGGER_SINCE: Readonly<Partial<Record<(typeof TRIGGERS)[number], number>>> = {
  fund_acks_no_update: 2,
  fund_acks_no_delete: 2,
  manifest_refusals_no_update: 3,
  manifest_refusals_no_delete: 3,
  manifest_refusals_current: 3,
  resigned_manifests_no_update: 3,
  resigned_manifests_no_delete: 3,
  resigned_manifests_next: 3,
  ...Object.fromEntries(BACKOFFICE_TRIGGERS.map((t) => [t, 4])),
};

/** Version 2: the fund's signed answers. */
const FUND_ACKS_SQL = `
CREATE TABLE IF NOT EXISTS fund_acks (
  seq INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  received_at TEXT NOT NULL,
  jws TEXT NOT NULL,
  certificate BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS fund_acks_batch ON fund_acks(batch_id);

${immutable('fund_acks', "the fund''s signed answers are immutable", "the fund''s signed answers are never deleted")}
`;

/** A batch's current manifest key and its place in the history (1: the manifest signed when it closed). */
const CURRENT_KEY = (batch: string) =>
  `COALESCE((SELECT idempotency_key FROM resigned_manifests WHERE batch_id = ${batch} ORDER BY seq DESC LIMIT 1), (SELECT idempotency_key FROM batches WHERE id = ${batch}))`;
const CURRENT_SEQ = (batch: string) => `COALESCE((SELECT MAX(seq) FROM resigned_manifests WHERE batch_id = ${batch}), 1)`;

/** Version 3: the manifest history — refusals of a manifest's certificate, and manifests signed again. */
const MANIFEST_HISTORY_SQL = `
CREATE TABLE IF NOT EXISTS manifest_refusals (
  idempotency_key TEXT PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  refused_at TEXT NOT NULL
) STRICT;

${immutable('manifest_refusals', 'a recorded refusal is immutable', 'a recorded refusal is never deleted')}

CREATE TRIGGER IF NOT EXISTS manifest_refusals_current BEFORE INSERT ON manifest_refusals
BEGIN
  SELECT RAISE(ABORT, 'journal: only the current manifest of a closed batch can be refused')
   WHERE (SELECT state FROM batches WHERE id = NEW.batch_id) IS NOT 'closed'
      OR NEW.idempotency_key IS NOT ${CURRENT_KEY('NEW.batch_id')};
END;

CREATE TABLE IF NOT EXISTS resigned_manifests (
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  seq INTEGER NOT NULL CHECK (seq >= 2),
  manifest_jws TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  replaces TEXT NOT NULL REFERENCES manifest_refusals(idempotency_key),
  signed_at TEXT NOT NULL,
  PRIMARY KEY (batch_id, seq)
) STRICT;

${immutable('resigned_manifests', 'a batch manifest is signed once', 'manifests are never deleted')}

CREATE TRIGGER IF NOT EXISTS resigned_manifests_next BEFORE INSERT ON resigned_manifests
BEGIN
  SELECT RAISE(ABORT, 'journal: only a closed batch that the fund has not received can be re-signed')
   WHERE (SELECT state FROM batches WHERE id = NEW.batch_id) IS NOT 'closed';
  SELECT RAISE(ABORT, 'journal: a new manifest replaces the current one, and only once the fund refused it')
   WHERE NEW.replaces IS NOT ${CURRENT_KEY('NEW.batch_id')} OR NEW.seq IS NOT ${CURRENT_SEQ('NEW.batch_id')} + 1
      OR NOT EXISTS (SELECT 1 FROM manifest_refusals WHERE idempotency_key = NEW.replaces);
END;
`;

/** SQL that takes a journal from version N − 1 to N, by N. Run in one transaction with the version bump. */
export const MIGRATIONS: Readonly<Record<number, string>> = { 2: FUND_ACKS_SQL, 3: MANIFEST_HISTORY_SQL, 4: BACKOFFICE_SQL };

/** What a migration to version N does after its SQL: the summaries are computed from the signed invoices. */
const AFTER_MIGRATION: Readonly<Record<number, (db: Database.Database) => void>> = {
  4: (db) => {
    rebuildSummaries(db);
  },
};

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE IF NOT EXISTS certificates (
  key_id TEXT PRIMARY KEY,
  der BLOB NOT NULL,
  pharmacy_id TEXT NOT NULL,
  added_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS invoices (
  number INTEGER PRIMARY KEY CHECK (number >= 1),
  kind TEXT NOT NULL,
  fund TEXT NOT NULL,
  date TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  card_serial TEXT NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  patient_amount INTEGER NOT NULL,
  ref_number INTEGER,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  jws TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS invoices_ref ON invoices(ref_number) WHERE ref_number IS NOT NULL;

${immutable('invoices', 'signed invoices are immutable (issue a correction or a credit note)', 'signed invoices are never deleted')}

CREATE TRIGGER IF NOT EXISTS invoices_append_only BEFORE INSERT ON invoices
BEGIN
  SELECT RAISE(ABORT, 'journal: an invoice must take the next number')
   WHERE NEW.number IS NOT (SELECT COALESCE(MAX(number), 0) + 1 FROM invoices);
  SELECT RAISE(ABORT, 'journal: an invoice must link to the last invoice hash')
   WHERE NEW.prev_hash IS NOT COALESCE((SELECT hash FROM invoices ORDER BY number DESC LIMIT 1), '${GENESIS_HASH}');
  SELECT RAISE(ABORT, 'journal: this invoice hash is already in the journal')
   WHERE EXISTS (SELECT 1 FROM invoices WHERE hash = NEW.hash);
END;

CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY CHECK (id >= 1),
  state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'sent', 'acknowledged', 'settled')),
  opened_at TEXT NOT NULL,
  first_number INTEGER NOT NULL,
  last_number INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count = last_number - first_number + 1),
  closed_at TEXT,
  close_reason TEXT,
  manifest_jws TEXT,
  idempotency_key TEXT UNIQUE,
  sent_at TEXT,
  acknowledged_at TEXT,
  settled_at TEXT,
  accepted INTEGER,
  rejected INTEGER,
  paid INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS batches_one_open ON batches(state) WHERE state = 'open';

CREATE TRIGGER IF NOT EXISTS batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'journal: batches are never deleted'); END;

CREATE TRIGGER IF NOT EXISTS batches_sealed BEFORE UPDATE OF first_number, last_number, count, opened_at, closed_at, close_reason ON batches
WHEN OLD.state <> 'open' AND (NEW.first_number IS NOT OLD.first_number OR NEW.last_number IS NOT OLD.last_number
  OR NEW.count IS NOT OLD.count OR NEW.opened_at IS NOT OLD.opened_at OR NEW.closed_at IS NOT OLD.closed_at
  OR NEW.close_reason IS NOT OLD.close_reason)
BEGIN SELECT RAISE(ABORT, 'journal: a closed batch cannot change'); END;

CREATE TRIGGER IF NOT EXISTS batches_manifest_once BEFORE UPDATE OF manifest_jws, idempotency_key ON batches
WHEN (OLD.manifest_jws IS NOT NULL AND NEW.manifest_jws IS NOT OLD.manifest_jws)
  OR (OLD.idempotency_key IS NOT NULL AND NEW.idempotency_key IS NOT OLD.idempotency_key)
BEGIN SELECT RAISE(ABORT, 'journal: a batch manifest is signed once'); END;

CREATE TRIGGER IF NOT EXISTS batches_forward BEFORE UPDATE OF state ON batches
WHEN ${STATE_RANK('NEW.state')} < ${STATE_RANK('OLD.state')}
BEGIN SELECT RAISE(ABORT, 'journal: a batch state only moves forward'); END;

CREATE TABLE IF NOT EXISTS acks (
  invoice_number INTEGER PRIMARY KEY REFERENCES invoices(number),
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
  code TEXT,
  reason TEXT,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS acks_rejected ON acks(status) WHERE status = 'rejected';

${immutable('acks', 'acknowledgements are immutable', 'acknowledgements are never deleted')}
${FUND_ACKS_SQL}${MANIFEST_HISTORY_SQL}${BACKOFFICE_SQL}`;

/** Opens pragmas for durability: WAL, synchronous=FULL (never weaken it: a lost invoice cannot be re-signed). */
export function applyPragmas(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
}

/** Names of the immutability triggers a journal of schema `version` must have but does not. */
export function missingTriggers(db: Database.Database, version: number = SCHEMA_VERSION): string[] {
  const have = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]);
  return TRIGGERS.filter((t) => (TRIGGER_SINCE[t] ?? 1) <= version && !have.has(t));
}

/**
 * Opens (creating if needed) the journal database at `file`: durable pragmas, the schema on a
 * fresh file; on an existing one, the schema version and every immutability trigger checked.
 */
export function openJournalDatabase(file: string): Database.Database {
  const db = openSqliteFile(file);
  try {
    applyPragmas(db);
    const fresh = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'").pluck().get() === 0;
    if (fresh) {
      db.transaction(() => {
        db.exec(SCHEMA_SQL);
        db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
      }).immediate();
    } else {
      const v = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
      const version = Number(v);
      if (!(Number.isInteger(version) && version >= 1 && version <= SCHEMA_VERSION))
        throw new JournalError('journal-version', `${file}: journal schema ${v ?? '(none)'}, this program knows ${SCHEMA_VERSION}`);
      // Never re-create a missing trigger: that would hide the evidence. Refuse instead.
      const missing = missingTriggers(db, version);
      if (missing.length > 0) {
        throw new JournalError(
          'journal-tampered',
          `${file}: immutability trigger(s) missing: ${missing.join(', ')}; run \`chifa journal verify\``,
        );
      }
      if (version < SCHEMA_VERSION)
        db.transaction(() => {
          for (let to = version + 1; to <= SCHEMA_VERSION; to++) {
            db.exec(MIGRATIONS[to]!);
            AFTER_MIGRATION[to]?.(db);
          }
          db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
        }).immediate();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
