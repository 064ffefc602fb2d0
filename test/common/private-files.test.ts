import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase, openSqliteFile } from '../../src/common/db';
import { ensurePrivateDir, loosePermissions } from '../../src/common/private-files';

/**
 * Files the stores create are private whatever the process umask: run under 022 (the usual
 * default, under which a plain open makes 0644 files), as a library caller would.
 */

let umask: number;
beforeAll(() => {
  umask = process.umask(0o022);
});
afterAll(() => process.umask(umask));

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-modes-'));
const mode = (p: string) => fs.statSync(p).mode & 0o777;

test('a new database: missing directories 0700, the file and its -wal/-shm 0600', () => {
  const dir = path.join(tmp(), 'var', 'data');
  const file = path.join(dir, 'chifa.sqlite');
  const db = openDatabase(file);
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  expect(mode(path.dirname(dir))).toBe(0o700);
  expect(mode(dir)).toBe(0o700);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, mode(f)]).toEqual([f, 0o600]);
  db.close();
});

test('an existing file keeps its mode, and is listed as loose', () => {
  const dir = tmp();
  const file = path.join(dir, 'journal.sqlite');
  openSqliteFile(file).close();
  fs.chmodSync(file, 0o644);
  const db = openSqliteFile(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x)');
  expect(mode(file)).toBe(0o644);
  expect(loosePermissions(dir)).toEqual([
    { path: file, mode: '0644' },
    // SQLite gives the -wal and -shm the database's own mode.
    { path: `${file}-shm`, mode: '0644' },
    { path: `${file}-wal`, mode: '0644' },
  ]);
  db.close();
});

test('loosePermissions: the directory, the private files in it, not other files', () => {
  const dir = tmp();
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'token'), 'x', { mode: 0o640 });
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'x', { mode: 0o644 });
  ensurePrivateDir(path.join(dir, 'demo-cards'));
  fs.writeFileSync(path.join(dir, 'demo-cards', 'insured.state.json'), 'x', { mode: 0o604 });
  expect(loosePermissions(dir)).toEqual([
    { path: dir, mode: '0755' },
    { path: path.join(dir, 'demo-cards', 'insured.state.json'), mode: '0604' },
    { path: path.join(dir, 'token'), mode: '0640' },
  ]);
  expect(loosePermissions(path.join(dir, 'missing'))).toEqual([]);
});
