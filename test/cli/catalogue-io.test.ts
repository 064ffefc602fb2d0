import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `chifa catalogue import` on hostile files, as a user runs it (the built CLI): what the command
 * prints about a bad file stays small however large the file.
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
