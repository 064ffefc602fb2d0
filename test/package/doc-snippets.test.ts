import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ENTRIES, ROOT } from './entries';

/**
 * The TypeScript snippets of the guides a vendor or an integrator copies from compile against
 * the public entry points. Each guide's ```ts blocks become one module: their imports merged at
 * the top (so a later block may use what an earlier one imported, as a reader would), each block
 * the body of its own async function (top-level await and `return` read naturally), and the
 * names the prose leaves to the reader (a PIN from the keypad, a reader's name…) declared below.
 * `…` placeholders in an arrow body stand for "your code". Imports resolve through the entry
 * points' sources only: a snippet reaching into `dist/` or `src/` fails.
 */

const GUIDES = ['README.md', 'docs/sdk.md', 'docs/emulator.md', 'docs/split.md'];

/** What the guides leave to the reader, declared with the type the SDK expects. */
const READER_PROVIDES = `
import type { ChifaCard as __ChifaCard, NewDispensation as __NewDispensation } from 'chifa-terminal';
declare const pinFromKeypad: string;
declare const pharmacistPin: string;
declare const insuredReader: string;
declare const proReader: string;
declare const dispensation: __NewDispensation;
declare const sha256: Buffer;
declare const image: string;
declare const csvText: string;
declare const text: string;
declare const card: __ChifaCard;
declare function show(message: string): void;
declare function isDuplicate(d: unknown): boolean;
declare function test(name: string, fn: () => Promise<void>): void;
declare function afterEach(fn: () => Promise<void>): void;
`;

interface Snippet {
  line: number;
  code: string;
}

function snippetsOf(file: string): Snippet[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out: Snippet[] = [];
  for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
    out.push({ line: text.slice(0, m.index).split('\n').length + 1, code: m[1] ?? '' });
  }
  return out;
}

const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';?[ \t]*$/gm;

/** One module per guide: merged imports, then each snippet in its own async function. */
function moduleOf(file: string): { text: string; imports: string[] } {
  const names = new Map<string, Set<string>>();
  const bodies: string[] = [];
  const imports: string[] = [];
  snippetsOf(file).forEach((s, i) => {
    const body = s.code
      .replace(IMPORT, (_all, _type: string | undefined, list: string, from: string) => {
        imports.push(from);
        const set = names.get(from) ?? new Set<string>();
        for (const n of list.split(',').map((x) => x.trim())) if (n) set.add(n.replace(/^type\s+/, ''));
        names.set(from, set);
        return '';
      })
      .replace(/=> …/g, '=> {}');
    bodies.push(`// ${file}:${s.line}\nexport async function snippet${i + 1}(): Promise<void> {\n${body}\n}`);
  });
  const head = [...names].map(([from, set]) => `import { ${[...set].join(', ')} } from '${from}';`);
  return { text: [...head, READER_PROVIDES, ...bodies].join('\n'), imports };
}

describe('the TypeScript snippets of the guides', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-snippets-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const modules = GUIDES.map((g) => ({ guide: g, ...moduleOf(g), file: path.join(dir, `${g.replace(/[/.]/g, '_')}.ts`) }));

  it('import from the public entry points only', () => {
    const entryNames: string[] = ENTRIES.map((e) => e.name);
    for (const m of modules) {
      expect({ guide: m.guide, bad: m.imports.filter((i) => !entryNames.includes(i)) }).toEqual({ guide: m.guide, bad: [] });
      expect(m.imports.length).toBeGreaterThan(0);
    }
  });

  it('type-check against them', () => {
    for (const m of modules) fs.writeFileSync(m.file, m.text);
    const paths: Record<string, string[]> = {};
    for (const e of ENTRIES) paths[e.name] = [path.join(ROOT, e.source)];
    const program = ts.createProgram(
      modules.map((m) => m.file),
      {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        lib: ['lib.es2022.d.ts'],
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        esModuleInterop: true,
        resolveJsonModule: true,
        allowJs: true,
        skipLibCheck: true,
        baseUrl: ROOT,
        paths,
      },
    );
    const wanted = new Set(modules.map((m) => m.file));
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || wanted.has(d.file.fileName))
      .map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        const line = where ? (d.file?.text.split('\n')[where.line] ?? '').trim() : '';
        return `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}  [${line}]`;
      });
    expect(problems).toEqual([]);
  });
});
