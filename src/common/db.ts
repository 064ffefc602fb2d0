import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the embedded SQLite database. WAL so readers (the counter page)
 * never wait on a writer; synchronous=FULL because invoices will live here too and a signed
 * invoice lost to a crash cannot be made again — batch writes in transactions instead.
 * `:memory:` opens a private in-memory database (tests).
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
