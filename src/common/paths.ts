import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The repository root (where `package.json` and `fixtures/` live), found by walking up from this
 * module. The same code runs from `src/` under ts-jest and from `dist/src/` once built, at
 * different depths, so a fixed `../../..` would be wrong in one of them.
 */
export function packageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'fixtures'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the chifa-terminal package root above ${start}`);
    dir = up;
  }
}

/** The shipped rules: `fixtures/rules/`. */
export function defaultRulesDir(): string {
  return path.join(packageRoot(), 'fixtures', 'rules');
}

/** The shipped TEST ONLY blacklist: `fixtures/blacklist.json` (downlink format). */
export function defaultBlacklistJson(): string {
  return path.join(packageRoot(), 'fixtures', 'blacklist.json');
}

/** The shipped TEST ONLY rights registry of the reference fund: `fixtures/rights.json`. */
export function defaultRightsJson(): string {
  return path.join(packageRoot(), 'fixtures', 'rights.json');
}

/** The shipped sample catalogue: `fixtures/catalogue/catalogue.csv`. */
export function defaultCatalogueCsv(): string {
  return path.join(packageRoot(), 'fixtures', 'catalogue', 'catalogue.csv');
}

/**
 * A file of the TEST ONLY PKI in `fixtures/keys/` (see its README): the keys there are public and
 * protect nothing; they are defaults only for the local reference fund and the demo.
 */
export function testKeyFile(name: string): string {
  return path.join(packageRoot(), 'fixtures', 'keys', name);
}

/**
 * The data directory: `--data DIR` if given, else `$CHIFA_DATA`, else `./var` under the current
 * directory. The embedded database is `DIR/chifa.sqlite`.
 */
export function resolveDataDir(option?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const dir = option ?? (env.CHIFA_DATA !== undefined && env.CHIFA_DATA !== '' ? env.CHIFA_DATA : 'var');
  return path.resolve(cwd, dir);
}

export function databasePath(dataDir: string): string {
  return path.join(dataDir, 'chifa.sqlite');
}
