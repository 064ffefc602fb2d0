import type Database from 'better-sqlite3';
import type { DispensationRecord } from './card-data';

/**
 * `card_writes`: the counter's own mutable table, beside the journal's invoices (same SQLite
 * file), one row per invoice whose dispensing records must go on the insured card.
 *
 *   pending   — the invoice is signed and in the journal; its records are not all confirmed on
 *               the card yet (the card was pulled, the write failed, or the counter stopped);
 *   done      — every record is on the card;
 *   cancelled — the pharmacist abandoned it: a credit note referencing the invoice cancels it.
 *
 * The journal's rows are immutable; this table is where the progress of the card write lives.
 * A row can always be rebuilt from the signed invoice (records.ts), which is how `reconcile`
 * repairs a crash between the journal commit and the insert of the row.
 */

export type CardWriteState = 'pending' | 'done' | 'cancelled';

export interface CardWrite {
  invoiceNumber: number;
  cardSerial: string;
  records: DispensationRecord[];
  state: CardWriteState;
  /** Records confirmed on the card by the last attempt (informative). */
  written: number;
  requestId: string | null;
  /** SHA-256 of the basket that came with `requestId` (null before the column existed). */
  requestHash: string | null;
  createdAt: string;
  updatedAt: string;
  attempts: number;
  lastError: string | null;
  /** The credit note that cancelled the invoice, when cancelled. */
  creditNote: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS card_writes (
  invoice_number INTEGER PRIMARY KEY CHECK (invoice_number >= 1),
  card_serial    TEXT    NOT NULL,
  records_json   TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),
  written        INTEGER NOT NULL DEFAULT 0 CHECK (written >= 0),
  request_id     TEXT    UNIQUE,
  created_at     TEXT    NOT NULL,
  updated_at     TEXT    NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,
  credit_note    INTEGER,
  request_hash   TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS card_writes_pending ON card_writes (card_serial) WHERE state = 'pending';
`;

interface Row {
  invoice_number: number;
  card_serial: string;
  records_json: string;
  state: CardWriteState;
  written: number;
  request_id: string | null;
  request_hash: string | null;
  created_at: string;
  updated_at: string;
  attempts: number;
  last_error: string | null;
  credit_note: number | null;
}

const toWrite = (r: Row): CardWrite => ({
  invoiceNumber: r.invoice_number,
  cardSerial: r.card_serial,
  records: JSON.parse(r.records_json) as DispensationRecord[],
  state: r.state,
  written: r.written,
  requestId: r.request_id,
  requestHash: r.request_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  attempts: r.attempts,
  lastError: r.last_error,
  creditNote: r.credit_note,
});

export class CardWriteStore {
  private readonly db: Database.Database;
  private readonly now: () => Date;

  constructor(db: Database.Database, now: () => Date = () => new Date()) {
    this.db = db;
    this.now = now;
    db.exec(SCHEMA);
    // Tables created before request_hash existed get the column (their rows keep null).
    const columns = db.prepare("SELECT name FROM pragma_table_info('card_writes')").pluck().all() as string[];
    if (!columns.includes('request_hash')) db.exec('ALTER TABLE card_writes ADD COLUMN request_hash TEXT');
  }

  /** Inserts a pending write (or, for an invoice that is already cancelled, a cancelled one). Idempotent per invoice. */
  /**
   * `db` lets the journal's own connection write the row inside the invoice's commit
   * transaction (Journal InCommitHook); it must be a connection to this same file.
   */
  insert(
    w: {
      invoiceNumber: number;
      cardSerial: string;
      records: readonly DispensationRecord[];
      requestId?: string | null;
      requestHash?: string | null;
      state?: CardWriteState;
      creditNote?: number | null;
    },
    db: Database.Database = this.db,
  ): CardWrite | undefined {
    const at = this.now().toISOString();
    db.prepare(
      `INSERT INTO card_writes (invoice_number, card_serial, records_json, state, request_id, request_hash, created_at, updated_at, credit_note)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (invoice_number) DO NOTHING`,
    ).run(
      w.invoiceNumber,
      w.cardSerial,
      JSON.stringify(w.records),
      w.state ?? 'pending',
      w.requestId ?? null,
      w.requestHash ?? null,
      at,
      at,
      w.creditNote ?? null,
    );
    // Inside another connection's open transaction this connection cannot see the row yet.
    return db === this.db ? this.get(w.invoiceNumber)! : undefined;
  }

  get(invoiceNumber: number): CardWrite | undefined {
    const r = this.db.prepare('SELECT * FROM card_writes WHERE invoice_number = ?').get(invoiceNumber) as Row | undefined;
    return r ? toWrite(r) : undefined;
  }

  byRequestId(requestId: string): CardWrite | undefined {
    const r = this.db.prepare('SELECT * FROM card_writes WHERE request_id = ?').get(requestId) as Row | undefined;
    return r ? toWrite(r) : undefined;
  }

  /** Pending writes, oldest first; for one card if `cardSerial` is given. */
  pending(cardSerial?: string): CardWrite[] {
    const rows = (
      cardSerial === undefined
        ? this.db.prepare("SELECT * FROM card_writes WHERE state = 'pending' ORDER BY invoice_number").all()
        : this.db.prepare("SELECT * FROM card_writes WHERE state = 'pending' AND card_serial = ? ORDER BY invoice_number").all(cardSerial)
    ) as Row[];
    return rows.map(toWrite);
  }

  /** Records the outcome of an attempt that did not finish. */
  attemptFailed(invoiceNumber: number, written: number, error: string): void {
    this.db
      .prepare(
        "UPDATE card_writes SET attempts = attempts + 1, written = ?, last_error = ?, updated_at = ? WHERE invoice_number = ? AND state = 'pending'",
      )
      .run(written, error.slice(0, 500), this.now().toISOString(), invoiceNumber);
  }

  markDone(invoiceNumber: number): void {
    this.db
      .prepare(
        "UPDATE card_writes SET state = 'done', attempts = attempts + 1, written = json_array_length(records_json), last_error = NULL, updated_at = ? WHERE invoice_number = ? AND state = 'pending'",
      )
      .run(this.now().toISOString(), invoiceNumber);
  }

  markCancelled(invoiceNumber: number, creditNote: number, db: Database.Database = this.db): void {
    db.prepare(
      "UPDATE card_writes SET state = 'cancelled', credit_note = ?, updated_at = ? WHERE invoice_number = ? AND state = 'pending'",
    ).run(creditNote, this.now().toISOString(), invoiceNumber);
  }

  /** Every row (tests, diagnostics). */
  all(): CardWrite[] {
    return (this.db.prepare('SELECT * FROM card_writes ORDER BY invoice_number').all() as Row[]).map(toWrite);
  }
}
