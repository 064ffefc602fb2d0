import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ENTRIES, ROOT } from './entries';

/**
 * The public surface, checked name by name: every entry point in package.json's exports map
 * lists its names explicitly (no `export *`), every exported name (types included) carries a
 * TSDoc comment, and every runtime name is used by at least one consumer — an example project
 * or a test that imports the package through its entry points (test/package, test/testing).
 * `npm run docs` (TypeDoc, warnings as errors) checks the members of what is exported.
 */

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
};

function filesUnder(dir: string, ext: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'data' ? [] : filesUnder(p, ext);
    return ext.test(e.name) ? [p] : [];
  });
}

/** The text of every consumer: the examples and the tests that go through the entry points. */
const consumers = [
  ...filesUnder(path.join(ROOT, 'examples'), /\.(c|m)?(j|t)s$/),
  ...filesUnder(path.join(ROOT, 'test', 'testing'), /\.ts$/),
  ...filesUnder(path.join(ROOT, 'test', 'package'), /\.ts$/).filter((f) => !f.endsWith('exports.test.ts')),
];
const consumerText = consumers.map((f) => fs.readFileSync(f, 'utf8')).join('\n');

describe('the exports map', () => {
  it('has one entry per entry point, types first, pointing at the build of its source', () => {
    const expected: Record<string, unknown> = {};
    for (const e of ENTRIES) {
      const key = e.name === 'chifa-terminal' ? '.' : `./${e.name.slice('chifa-terminal/'.length)}`;
      const base = `./dist/${e.source.replace(/\.ts$/, '')}`;
      expected[key] = { types: `${base}.d.ts`, default: `${base}.js` };
    }
    const got = Object.fromEntries(Object.entries(pkg.exports).filter(([k]) => k !== './package.json' && k !== './fixtures/*'));
    expect(got).toEqual(expected);
    for (const v of Object.values(got)) expect(Object.keys(v as object)[0]).toBe('types');
  });

  it('entry modules name every export (no export *), and the root entry never imports PC/SC', () => {
    for (const e of ENTRIES) {
      const text = fs.readFileSync(path.join(ROOT, e.source), 'utf8');
      expect({ entry: e.name, star: /^export\s+\*/m.test(text) }).toEqual({ entry: e.name, star: false });
    }
    expect(fs.readFileSync(path.join(ROOT, 'src/card/index.ts'), 'utf8')).not.toMatch(/from '\.\/pcsc/);
  });
});

describe('every public name', () => {
  const program = ts.createProgram(
    ENTRIES.map((e) => path.join(ROOT, e.source)),
    { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, types: ['node'], noEmit: true },
  );
  const checker = program.getTypeChecker();

  it.each(ENTRIES.map((e) => [e.name, e.source]))('%s: has a TSDoc comment', (_name, source) => {
    const file = program.getSourceFile(path.join(ROOT, source))!;
    const moduleSymbol = checker.getSymbolAtLocation(file)!;
    const undocumented: string[] = [];
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const doc = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
      if (doc === '') undocumented.push(exported.getName());
    }
    expect(undocumented).toEqual([]);
  });

  it.each(ENTRIES.map((e) => [e.name, e.source]))('%s: every runtime name is used by a consumer', (_name, source) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(ROOT, source)) as Record<string, unknown>;
    const names = Object.keys(mod).filter((n) => n !== '__esModule');
    expect(names.length).toBeGreaterThan(0);
    const unused = names.filter((n) => !new RegExp(`\\b${n}\\b`).test(consumerText));
    expect(unused).toEqual([]);
  });
});
