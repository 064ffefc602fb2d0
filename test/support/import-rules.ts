import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The parts of `src/` and the only directions their imports may run (docs/contributing.md).
 * A part may always import its own files. `card/chifa` and `card/pcsc` are the SDK's reader side:
 * the emulator must not see them (nor the `card` index that re-exports them), because if the
 * emulator shared the reader's record codecs a bug in them would pass every test.
 */
export const PARTS = ['common', 'card', 'emulator', 'billing', 'sync', 'fund', 'pos', 'testing', 'cli'] as const;
export type Part = (typeof PARTS)[number];

const MAY_IMPORT: Record<Part, readonly Part[] | 'anything'> = {
  common: [],
  card: ['common'],
  emulator: ['common', 'card'],
  billing: ['common'],
  sync: ['common', 'billing'],
  fund: ['common', 'billing', 'sync'],
  pos: ['common', 'card', 'billing', 'sync', 'emulator'],
  testing: ['common', 'card', 'emulator', 'billing', 'sync', 'fund'],
  cli: 'anything',
};

/** Modules of `card` the emulator may not import (paths relative to src/, without extension). */
const READER_SIDE = [/^card\/chifa(\/|$)/, /^card\/pcsc(\/|$)/, /^card\/index$/, /^card$/];

export interface SourceFile {
  /** Path relative to `src/`, e.g. `sync/invoice.ts`. */
  readonly path: string;
  readonly text: string;
}

export interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly reason: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

function partOf(rel: string): Part | undefined {
  const first = rel.split('/')[0]!;
  return (PARTS as readonly string[]).includes(first) ? (first as Part) : undefined;
}

/** Every import, `export … from`, `import()` and `require()` of a file that leaves its part against the table. */
export function checkImports(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const f of files) {
    const from = partOf(f.path);
    if (from === undefined) {
      out.push({ file: f.path, specifier: '', reason: `${f.path} is outside every part (${PARTS.join(', ')})` });
      continue;
    }
    for (const m of f.text.matchAll(SPECIFIER)) {
      const spec = m[2]!;
      if (!spec.startsWith('.')) continue; // node: built-ins and packages
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f.path), spec)).replace(/\.(js|ts)$/, '');
      if (target.startsWith('..')) {
        out.push({ file: f.path, specifier: spec, reason: 'imports from outside src/' });
        continue;
      }
      const to = partOf(target);
      if (to === from) continue;
      if (to === undefined) {
        out.push({ file: f.path, specifier: spec, reason: `${target} is outside every part` });
        continue;
      }
      const allowed = MAY_IMPORT[from];
      if (allowed !== 'anything' && !allowed.includes(to)) {
        out.push({ file: f.path, specifier: spec, reason: `${from} may not import ${to}` });
        continue;
      }
      if (from === 'emulator' && READER_SIDE.some((r) => r.test(target))) {
        out.push({ file: f.path, specifier: spec, reason: `the emulator may not import the reader side (${target})` });
      }
    }
  }
  return out;
}

/** All `.ts` files under `dir`, as paths relative to it. */
export function readSources(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.js'))
        out.push({ path: path.relative(dir, p).split(path.sep).join('/'), text: fs.readFileSync(p, 'utf8') });
    }
  };
  walk(dir);
  return out;
}
