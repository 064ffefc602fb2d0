import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The `chifa quote` and `chifa catalogue` commands, run as a user would: the built CLI
 * (`npm test` builds first; after `npx jest` alone, run `npm run build`) in a child process,
 * with a private data directory.
 */
const root = path.resolve(__dirname, '..', '..');
let data: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'quote.js'))) {
    throw new Error('dist/ has no built CLI: run `npm run build` first (npm test does it)');
  }
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-cli-'));
});
afterAll(() => fs.rmSync(data, { recursive: true, force: true }));

function chifa(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['bin/chifa.js', ...args], {
    cwd: root,
    input: input ?? '',
    encoding: 'utf8',
    env: { ...process.env, CHIFA_DATA: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const quoteJson = (request: unknown, extra: string[] = []) =>
  chifa(['quote', '--json', '--data', data, ...extra], typeof request === 'string' ? request : JSON.stringify(request));

describe('chifa quote --json', () => {
  test('catalogue codes and priced lines, out of the box (the catalogue seeds itself)', () => {
    const r = quoteJson({
      date: '2024-03-01',
      category: 'ordinary',
      lines: [
        { code: 'N02BE01-01', quantity: 2 }, // Doliprane 52,00 DA, reference 45,00 DA
        { code: 'A11GA01-01', quantity: 1 }, // vitamin C, not reimbursable, 290,00 DA
        { code: 'L04AB04-01', quantity: 1, unitPrice: 150000, approval: 'AP-2024-7' }, // prior approval given
        { quantity: 3, unitPrice: 1237, referencePrice: 1200 },
      ],
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      total: 10400 + 29000 + 150000 + 3711,
      base: 9000 + 0 + 150000 + 3600,
      fund: 7200 + 0 + 120000 + 2880,
      patient: 3200 + 29000 + 30000 + 831,
      thirdPartyPayment: true,
      reason: null,
      ruleVersion: 'tp-2023-12-19',
    });
    expect(out.lines.map((l: Record<string, unknown>) => [l.code, l.total, l.base, l.fund, l.patient, l.reason])).toEqual([
      ['N02BE01-01', 10400, 9000, 7200, 3200, null],
      ['A11GA01-01', 29000, 0, 0, 29000, 'not-reimbursable'],
      ['L04AB04-01', 150000, 150000, 120000, 30000, null],
      [null, 3711, 3600, 2880, 831, null],
    ]);
    expect(fs.existsSync(path.join(data, 'chifa.sqlite'))).toBe(true);
  });

  test.each([
    ['2023-12-18', 300000, true],
    ['2023-12-18', 300001, false],
    ['2023-12-19', 500000, true],
    ['2023-12-19', 500001, false],
  ])('threshold on %s at %d centimes → third-party payment %s', (date, total, covered) => {
    const r = quoteJson({ date, category: 'ordinary', lines: [{ quantity: 1, unitPrice: total }] });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.thirdPartyPayment).toBe(covered);
    expect(out.reason).toBe(covered ? null : 'over-threshold');
    expect(out.fund + out.patient).toBe(total);
  });

  test('the readable table', () => {
    const r = chifa(
      ['quote', '--data', data],
      JSON.stringify({ date: '2024-03-01', category: 'chronic', lines: [{ code: 'N02BE01-01', quantity: 2 }] }),
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('category chronic — Malade chronique (100 %), rules tp-2023-12-19, no threshold for this category');
    expect(r.stdout).toMatch(/Doliprane 500 mg.*104,00 DA\s+90,00 DA\s+90,00 DA\s+14,00 DA/);
    expect(r.stdout).toContain('Third-party payment: yes. The fund pays 90,00 DA; the patient pays 14,00 DA.');
  });

  test.each([
    ['malformed JSON', '{"date": "2024-03-01",', 'malformed-json'],
    ['empty input', '', 'malformed-json'],
    [
      'a fractional quantity',
      {
        date: '2024-03-01',
        category: 'ordinary',
        lines: [
          { code: 'N02BE01-01', quantity: 1 },
          { code: 'N02BE01-01', quantity: 1 },
          { code: 'N02BE01-01', quantity: 1.5 },
        ],
      },
      'invalid-input: invalid quote request: lines[2].quantity',
    ],
    [
      'a negative amount',
      { date: '2024-03-01', category: 'ordinary', lines: [{ quantity: 1, unitPrice: -5 }] },
      'invalid-input: invalid quote request: lines[0].unitPrice',
    ],
    ['a non-integer amount', { date: '2024-03-01', category: 'ordinary', lines: [{ quantity: 1, unitPrice: 52.5 }] }, 'lines[0].unitPrice'],
    [
      'an unknown code',
      { date: '2024-03-01', category: 'ordinary', lines: [{ code: 'NOPE-01', quantity: 1 }] },
      'unknown-product: lines[0].code: unknown product code "NOPE-01"',
    ],
    [
      'a date with no rules in force',
      { date: '2020-01-01', category: 'ordinary', lines: [{ quantity: 1, unitPrice: 5 }] },
      'no-rules-in-force: date:',
    ],
  ])('%s → exit 2 and a typed error on stderr', (_label, request, expected) => {
    const r = quoteJson(request);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^chifa quote: [a-z-]+: /);
    expect(r.stderr).toContain(expected);
  });

  test('the new fields: a substituted generic, prescription quantities, a treatment duration; refusals explained', () => {
    const request = {
      date: '2024-03-01',
      category: 'chronic',
      prescription: 'RX1',
      lines: [
        { code: 'N02BE01-03', quantity: 2, replaces: { code: 'N02BE01-01' }, prescribed: { quantity: 3, alreadyDispensed: 2 } },
        { code: 'N02BE01-01', quantity: 1, durationDays: 120 },
      ],
    };
    const json = quoteJson(request);
    expect(json.status).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.categoryLabel).toEqual({ fr: 'Malade chronique', ar: 'مريض مزمن' });
    expect(out.lines.map((l: Record<string, unknown>) => [l.code, l.prescribedCode, l.reason])).toEqual([
      ['N02BE01-03', 'N02BE01-01', 'over-prescribed-quantity'],
      ['N02BE01-01', null, 'treatment-too-long'],
    ]);
    const table = chifa(['quote', '--data', data], JSON.stringify(request));
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('(for N02BE01-01)');
    expect(table.stdout).toContain('line 1: prescribed-quantity: 2 asked, 3 prescribed, 2 already dispensed: at most 1');
    expect(table.stdout).toContain('line 2: chronic-treatment-duration: 120 days of treatment, at most 90');
    expect(table.stdout).toContain('Third-party payment: no (nothing-covered: no line of the prescription is covered)');
    // A product that is not an equivalent, and a category the rules do not define.
    const bad = quoteJson({ ...request, lines: [{ code: 'M01AE01-01', quantity: 1, replaces: { code: 'N02BE01-01' } }] });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('not-substitutable: lines[0].replaces.code: M01AE01-01 cannot replace N02BE01-01');
    const student = quoteJson({ ...request, category: 'student' });
    expect(student.status).toBe(2);
    expect(student.stderr).toContain('context.category: the rules tp-2023-12-19 have no category "student"');
  });

  test('a rules directory with overlapping versions → exit 2 naming both files', () => {
    const rules = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-rules-'));
    try {
      for (const f of ['2023-01-01.json', '2023-12-19.json']) fs.copyFileSync(path.join(root, 'fixtures', 'rules', f), path.join(rules, f));
      const dup = JSON.parse(fs.readFileSync(path.join(rules, '2023-12-19.json'), 'utf8'));
      fs.writeFileSync(path.join(rules, 'copy.json'), JSON.stringify({ ...dup, version: 'tp-copy' }));
      const r = quoteJson({ date: '2024-03-01', category: 'ordinary', lines: [{ quantity: 1, unitPrice: 5 }] }, ['--rules', rules]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('chifa quote: overlapping-rules: 2023-12-19.json and copy.json: both take effect on 2023-12-19');
    } finally {
      fs.rmSync(rules, { recursive: true, force: true });
    }
  });
});

describe('chifa catalogue import', () => {
  const header = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-import-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (rows: string[]) => {
    const file = path.join(dir, 'in.csv');
    fs.writeFileSync(file, [header, ...rows].join('\n') + '\n');
    return file;
  };
  const rows = ['T-1,Paracétamol,Test,"comprimé, boîte de 8",1 g,6500,6500,1,0', 'T-2,d,b,f,,52.00,,1,0', 'T-3,d,b,f,,100,,1,maybe'];

  test('a bad row → every problem listed by line and column, exit 2, nothing imported', () => {
    const r = chifa(['catalogue', 'import', write(rows), '--data', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('chifa catalogue import: invalid-catalogue: ');
    expect(r.stderr).toContain('2 bad rows, nothing imported');
    expect(r.stderr).toContain('  line 3, column 6 (unitPrice): "52.00": amounts are whole centimes');
    expect(r.stderr).toContain('  line 4, column 9 (priorApproval): "maybe"');
    const show = chifa(['catalogue', 'show', 'T-1', '--data', dir]);
    expect(show.status).toBe(2);
  });

  test('--skip-bad imports the good rows and lists the rest', () => {
    const r = chifa(['catalogue', 'import', write(rows), '--skip-bad', '--data', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('imported 1 product (1 new, 0 updated)');
    expect(r.stderr).toContain('skipped 2 bad rows:');
    expect(r.stderr).toContain('line 3, column 6 (unitPrice)');
    const show = chifa(['catalogue', 'show', 'T-1', '--json', '--data', dir]);
    expect(show.status).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ code: 'T-1', unitPrice: 6500, referencePrice: 6500, reimbursable: true });
    // The imported catalogue is used by quote, and the sample was not mixed in.
    const q = chifa(
      ['quote', '--json', '--data', dir],
      JSON.stringify({ date: '2024-03-01', category: 'ordinary', lines: [{ code: 'T-1', quantity: 1 }] }),
    );
    expect(JSON.parse(q.stdout)).toMatchObject({ total: 6500, fund: 5200 });
    expect(chifa(['catalogue', 'show', 'N02BE01-01', '--data', dir]).status).toBe(2);
  });

  test('the shipped sample imports cleanly', () => {
    const r = chifa(['catalogue', 'import', path.join(root, 'fixtures', 'catalogue', 'catalogue.csv'), '--data', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^imported 2\d\d products \(2\d\d new, 0 updated\)/);
  });
});
