import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The data directory holds insured identifiers (the journal), a signing history, the demo cards'
 * PINs and the API token: none of it is for other local users. Directories this program creates
 * are 0700 and files 0600, whatever the process umask. Existing files keep their mode (an
 * administrator may have opened one to a backup group on purpose); `loosePermissions` lists the
 * ones other users can read so the service can warn about them at start-up.
 */

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` and any missing parent with mode 0700; an existing directory is left as it is. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** A file or directory whose mode lets other users in. */
export interface LooseEntry {
  path: string;
  /** The permission bits, octal: `0644`. */
  mode: string;
}

const SQLITE_FILE = /\.sqlite(-wal|-shm|-journal)?$/;
const PRIVATE_NAMES = new Set(['token', 'demo-cards']);

/**
 * The data directory itself and the private files in it (SQLite databases with their -wal/-shm,
 * the token, the demo cards' directory and state files) that group or others can read, write or
 * enter. Missing entries are simply not listed.
 */
export function loosePermissions(dataDir: string): LooseEntry[] {
  const loose: LooseEntry[] = [];
  const check = (p: string): fs.Stats | undefined => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return undefined;
    }
    if ((st.mode & 0o077) !== 0) loose.push({ path: p, mode: '0' + (st.mode & 0o777).toString(8) });
    return st;
  };
  if (!check(dataDir)?.isDirectory()) return loose;
  for (const name of fs.readdirSync(dataDir).sort()) {
    if (!SQLITE_FILE.test(name) && !PRIVATE_NAMES.has(name)) continue;
    const p = path.join(dataDir, name);
    if (check(p)?.isDirectory()) for (const inner of fs.readdirSync(p).sort()) check(path.join(p, inner));
  }
  return loose;
}

/** One log line's worth: what is loose, and the commands that would close it. */
export function looseWarning(loose: readonly LooseEntry[]): string {
  return (
    `readable by other users: ${loose.map((e) => `${e.path} (${e.mode})`).join(', ')}; ` +
    'chifa leaves the mode of existing files as it is: `chmod 700` the directories and `chmod 600` the files unless that access is intended'
  );
}
