import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './private-files';

export type Db = Database.Database;

/**
 * Opens (creating if needed) a SQLite file, private to its owner when this call creates it: the
 * missing directories 0700, the file 0600. SQLite creates the file as soon as it is opened, empty,
 * with the process umask, so the mode is set before a single page is written; it then gives the
 * -wal, -shm and rollback journal the same permissions as the database file (unix VFS,
 * `findCreateFileMode`), so those are private too. An existing file keeps its mode.
 */
export function openSqliteFile(file: string, options: Database.Options = {}): Db {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  const existed = fs.existsSync(file);
  const db = new Database(file, options);
  if (!existed) {
    try {
      fs.chmodSync(file, PRIVATE_FILE_MODE);
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return db;
}

/**
 * Opens (creating if needed) the embedded SQLite database. WAL so readers (the counter page)
 * never wait on a writer; synchronous=FULL because invoices will live here too and a signed
 * invoice lost to a crash cannot be made again — batch writes in transactions instead.
 * `:memory:` opens a private in-memory database (tests). `busyTimeoutMs` is how long a statement
 * waits for another connection's lock before failing with SQLITE_BUSY.
 */
export function openDatabase(file: string, options: { busyTimeoutMs?: number } = {}): Db {
  const db = file === ':memory:' ? new Database(file) : openSqliteFile(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  return db;
}
