import type Database from 'better-sqlite3';
import * as path from 'node:path';
import { openDatabase } from '../../common/db';
import { blacklistedOn, blacklistSchema, type BlacklistDocument } from './format';
import { SyncError } from '../errors';

/**
 * The terminal's copy of the fund's card blacklist (cards frozen for fraud), kept in
 * `DATA/downlink.sqlite` and replaced as a whole, atomically, each time the fund publishes a new
 * version. The counter asks `isBlacklisted(cardSerial)` at checkout and passes the answer to the
 * split engine as `blacklisted`, which then refuses third-party payment.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blacklist (
  card_serial TEXT PRIMARY KEY,
  since TEXT,
  until TEXT,
  reason TEXT
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS downlink_documents (
  name TEXT PRIMARY KEY,
  etag TEXT NOT NULL,
  body BLOB NOT NULL,
  applied_at TEXT NOT NULL
) STRICT;
`;

export function downlinkDatabasePath(dataDir: string): string {
  return path.join(dataDir, 'downlink.sqlite');
}

/** @internal Opens (creating) the downlink database with the journal's durability settings. */
export function openDownlinkDatabase(file: string): Database.Database {
  const db = openDatabase(file, { busyTimeoutMs: 10000 });
  db.exec(SCHEMA);
  return db;
}

/** The fund's card blacklist as last applied. */
export class BlacklistStore {
  /** @internal The SQLite connection. */
  readonly db: Database.Database;
  private readonly lookup;
  private readonly ownsDb: boolean;

  /** @internal A store on an open connection; use BlacklistStore.open. */
  constructor(db: Database.Database, ownsDb = false) {
    this.db = db;
    this.ownsDb = ownsDb;
    db.exec(SCHEMA);
    // A database made before temporary entries existed gets the column (its entries are permanent).
    const columns = db.prepare("SELECT name FROM pragma_table_info('blacklist')").pluck().all() as string[];
    if (!columns.includes('until')) db.exec('ALTER TABLE blacklist ADD COLUMN until TEXT');
    this.lookup = db.prepare('SELECT since, until FROM blacklist WHERE card_serial = ?');
  }

  /** The blacklist in `DATA/downlink.sqlite`. */
  static open(dataDir: string): BlacklistStore {
    return new BlacklistStore(openDownlinkDatabase(downlinkDatabasePath(dataDir)), true);
  }

  /**
   * True when the card is blacklisted on `onDate` (YYYY-MM-DD; default: any date, i.e. listed at
   * all). An entry refuses dispensing dates from its `since` (if any) through its `until` (if
   * any): a temporary freeze ends after `until`.
   */
  isBlacklisted(cardSerial: string, onDate?: string): boolean {
    const row = this.lookup.get(cardSerial) as { since: string | null; until: string | null } | undefined;
    if (!row) return false;
    return onDate === undefined || blacklistedOn(row, onDate);
  }

  /** How many cards are on the list. */
  count(): number {
    return this.db.prepare('SELECT COUNT(*) FROM blacklist').pluck().get() as number;
  }

  /** The ETag of the applied version, or null if none was ever applied. */
  etag(): string | null {
    return (this.db.prepare("SELECT etag FROM downlink_documents WHERE name = 'blacklist'").pluck().get() as string | undefined) ?? null;
  }

  /** Validates and applies a new version: all of it in one transaction, or nothing. */
  apply(body: Buffer | string, etag: string): { cards: number } {
    let json: unknown;
    try {
      json = JSON.parse(body.toString());
    } catch (err) {
      throw new SyncError('bad-downlink', `blacklist: not JSON: ${(err as Error).message}`, 'blacklist');
    }
    const r = blacklistSchema.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new SyncError('bad-downlink', `blacklist: ${i.path.join('.') || '(root)'}: ${i.message}`, `blacklist.${i.path.join('.')}`);
    }
    const doc: BlacklistDocument = r.data;
    const insert = this.db.prepare('INSERT OR REPLACE INTO blacklist (card_serial, since, until, reason) VALUES (?, ?, ?, ?)');
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM blacklist').run();
        for (const c of doc.cards) insert.run(c.cardSerial, c.since ?? null, c.until ?? null, c.reason ?? null);
        this.db
          .prepare(
            "INSERT INTO downlink_documents (name, etag, body, applied_at) VALUES ('blacklist', ?, ?, ?) ON CONFLICT(name) DO UPDATE SET etag = excluded.etag, body = excluded.body, applied_at = excluded.applied_at",
          )
          .run(etag, Buffer.from(body), new Date().toISOString());
      })
      .immediate();
    return { cards: doc.cards.length };
  }

  /** Closes the database (when the store opened it). */
  close(): void {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}
