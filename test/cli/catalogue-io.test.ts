import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `chifa catalogue import` on hostile files, as a user runs it (the built CLI): the encoding is
 * never guessed (a Windows-1252 file is refused, naming where, and read right with --encoding),
 * and what the command prints about a bad file stays small however large the file.
 */
const root = path.resolve(__dirname, '..', '..');
const HEADER = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
let dir: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'catalogue.js')))
    throw new Error('dist/ has no built CLI: run `npm run build` first (npm test does it)');
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-cat-io-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function chifa(args: string[]) {
  // A large maxBuffer so that unbounded output shows as a failed size check, not a killed child.
  const r = spawnSync(process.execPath, ['bin/chifa.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CHIFA_DATA: '' },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const file = (name: string, content: string | Buffer) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content);
  return f;
};

describe('encoding', () => {
  const win1252 = Buffer.concat([
    Buffer.from(`${HEADER}\nP-1,Parac`),
    Buffer.from([0xe9]),
    Buffer.from('tamol,Caf'),
    Buffer.from([0xe9]),
    Buffer.from(',comprim'),
    Buffer.from([0xe9]),
    Buffer.from(',500 mg,5400,4600,1,0\n'),
  ]);

  test('a Windows-1252 file is refused by default, naming line and column; nothing is imported', () => {
    const r = chifa(['catalogue', 'import', file('w.csv', win1252), '--data', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^chifa catalogue import: invalid-encoding: \S*w\.csv: line 2, column 10: byte 0xE9 is not valid UTF-8/);
    expect(r.stderr).toContain('--encoding windows-1252');
    expect(chifa(['catalogue', 'show', 'P-1', '--data', dir]).status).toBe(2);
  });

  test('with --encoding windows-1252 it imports "Café"', () => {
    const r = chifa(['catalogue', 'import', file('w.csv', win1252), '--encoding', 'windows-1252', '--data', dir]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const show = chifa(['catalogue', 'show', 'P-1', '--json', '--data', dir]);
    expect(JSON.parse(show.stdout)).toMatchObject({ brand: 'Café', dci: 'Paracétamol', form: 'comprimé' });
  });

  test('an unknown encoding is a usage error naming the option', () => {
    const r = chifa(['catalogue', 'import', file('w.csv', win1252), '--encoding', 'ebcdic', '--data', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('chifa catalogue import: invalid-input: --encoding: expected one of utf-8, windows-1252, latin1');
  });

  test('a UTF-8 file with a byte-order mark imports', () => {
    const r = chifa([
      'catalogue',
      'import',
      file('bom.csv', `\uFEFF${HEADER}\nP-1,Paracétamol,Café,comprimé,500 mg,5400,4600,1,0\n`),
      '--data',
      dir,
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(chifa(['catalogue', 'show', 'P-1', '--json', '--data', dir]).stdout)).toMatchObject({ brand: 'Café' });
  });
});

describe('bounded error output', () => {
  test('a 30 MB header cell: a few KB on stderr, the cell cut', () => {
    const f = file('huge.csv', `${HEADER},${'x'.repeat(30 * 1024 * 1024)}\nP-1,d,b,f,s,1,,1,0\n`);
    const r = chifa(['catalogue', 'import', f, '--data', dir]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(Buffer.byteLength(r.stderr)).toBeLessThan(4096);
    expect(r.stderr).toContain(`line 1, column 10: unknown column "${'x'.repeat(40)}…"`);
  });

  test('a 30 MB data cell and thousands of bad rows: the first 20 problems, then how many more', () => {
    const rows = [`P-0,d,b,f,s,${'9'.repeat(30 * 1024 * 1024)}x,,1,0`];
    for (let i = 1; i < 5000; i++) rows.push(`P-${i},d,b,f,s,1.5,,1,0`);
    const f = file('bad.csv', [HEADER, ...rows].join('\n') + '\n');
    for (const extra of [[], ['--skip-bad']]) {
      const r = chifa(['catalogue', 'import', f, '--data', dir, ...extra]);
      expect(Buffer.byteLength(r.stderr)).toBeLessThan(8192);
      expect(r.stderr).toContain(`line 2, column 6 (unitPrice): "${'9'.repeat(40)}…": expected an integer number of centimes`);
      expect(r.stderr).toContain('line 21, column 6 (unitPrice)');
      expect(r.stderr).not.toContain('line 22, column 6');
      expect(r.stderr).toContain('… and 4980 more');
    }
  });
});
