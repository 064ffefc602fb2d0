import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidRulesError, NoRulesInForceError, OverlappingRulesError } from '../../src/billing/errors';
import { InvalidInputError } from '../../src/common/errors';
import { loadRules, parseRuleFile, RuleBook } from '../../src/billing/rules/load';
import { category, ruleFile } from '../support/rules';
import { thrown } from '../support/thrown';

const base = ruleFile();
const cats = base.categories as Record<string, unknown>[];

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-rules-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeRules(files: Record<string, unknown>): string {
  for (const [name, body] of Object.entries(files)) {
    fs.writeFileSync(path.join(tmp, name), typeof body === 'string' ? body : JSON.stringify(body));
  }
  return tmp;
}

describe('shipped rules', () => {
  const book = loadRules();

  test.each([
    ['2023-01-01', 'tp-2023-01-01', 300000],
    ['2023-12-18', 'tp-2023-01-01', 300000],
    ['2023-12-19', 'tp-2023-12-19', 500000],
    ['2030-06-30', 'tp-2023-12-19', 500000],
  ])('%s → %s, threshold %d', (date, version, threshold) => {
    const r = book.rulesFor(date);
    expect(r.version).toBe(version);
    expect(r.thresholdCentimes).toBe(threshold);
    expect(Object.fromEntries(r.categories.map((c) => [c.id, c.rateBp]))).toEqual({
      ordinary: 8000,
      chronic: 10000,
      retiree: 10000,
      mutualist: 10000,
      invalidity: 10000,
      'work-accident': 10000,
      veteran: 10000,
    });
    expect(r.categories.filter((c) => c.thresholdExempt).map((c) => c.id)).toEqual(['chronic', 'retiree']);
    expect(r.categories.map((c) => c.cardCode)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('every category has a French and an Arabic label, a source and a certainty', () => {
    for (const v of book.versions) {
      for (const c of v.categories) {
        expect(c.label.fr).not.toBe('');
        expect(c.label.ar).toMatch(/[\u0600-\u06ff]/);
        expect(c.source).toMatch(/^docs\/field-notes\.md#/);
      }
    }
  });

  test('the shipped limits: quantity and chronic duration on, prescriptions per quarter off; items at zero', () => {
    const r = book.rulesFor('2024-01-01');
    expect(r.limits.map((l) => [l.id, l.kind, l.enabled])).toEqual([
      ['prescribed-quantity', 'prescribed-quantity', true],
      ['chronic-treatment-duration', 'max-treatment-days', true],
      ['prescriptions-per-quarter', 'prescriptions-per-period', false],
    ]);
    const chronic = r.categoriesById.get('chronic')!;
    expect(chronic.limits.map((l) => l.id)).toEqual(['prescribed-quantity', 'chronic-treatment-duration']);
    // A disabled limit is listed by the category but not evaluated.
    expect(r.categoriesById.get('ordinary')!.limits.map((l) => l.id)).toEqual(['prescribed-quantity']);
    expect(r.amountItems.map((i) => [i.id, i.kind === 'markup' ? i.rateBp : i.amountCentimes])).toEqual([
      ['markup', 0],
      ['invoice-fee', 0],
    ]);
    expect(r.substitution.tariff).toBe('lower');
    expect(r.categoriesByCardCode.get(6)!.id).toBe('work-accident');
  });

  test('every source in the shipped rules names a heading of docs/field-notes.md', () => {
    const notes = fs.readFileSync(path.join(__dirname, '../../docs/field-notes.md'), 'utf8');
    const anchors = new Set(
      [...notes.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const v of book.versions) {
      const sources = [...v.categories, ...v.limits, ...v.amountItems, v.substitution].map((x) => x.source);
      for (const s of sources) expect([s, anchors.has(s.split('#')[1]!)]).toEqual([s, true]);
    }
  });

  test('a date before the first version has no rules in force', () => {
    const err = thrown(() => book.rulesFor('2022-12-31'));
    expect(err).toBeInstanceOf(NoRulesInForceError);
    expect(err).toMatchObject({ code: 'no-rules-in-force', field: 'date' });
  });

  test.each(['2023-02-30', '2023-1-01', '', '20231219'])('an invalid date %p is an input error', (d) => {
    expect(thrown(() => book.rulesFor(d))).toMatchObject({ code: 'invalid-input', field: 'date' });
  });
});

describe('loading', () => {
  test('versions are sorted by effective date whatever the file names', () => {
    const dir = writeRules({
      'b.json': { ...base, version: 'old', effectiveFrom: '2010-01-01' },
      'a.json': { ...base, version: 'new', effectiveFrom: '2020-01-01' },
    });
    const book = loadRules(dir);
    expect(book.versions.map((v) => v.version)).toEqual(['old', 'new']);
    expect(book.rulesFor('2019-12-31').version).toBe('old');
    expect(book.rulesFor('2020-01-01').version).toBe('new');
  });

  test('effectiveUntil leaves a gap with no rules in force', () => {
    const dir = writeRules({
      'a.json': { ...base, version: 'a', effectiveFrom: '2010-01-01', effectiveUntil: '2010-12-31' },
      'b.json': { ...base, version: 'b', effectiveFrom: '2012-01-01' },
    });
    const book = loadRules(dir);
    expect(book.rulesFor('2010-12-31').version).toBe('a');
    expect(thrown(() => book.rulesFor('2011-06-01'))).toBeInstanceOf(NoRulesInForceError);
    expect(book.rulesFor('2012-01-01').version).toBe('b');
  });

  test.each([
    ['same effectiveFrom', { ...base, version: 'x' }, { ...base, version: 'y' }, 'effectiveFrom'],
    ['same version', { ...base }, { ...base, effectiveFrom: '2021-01-01' }, 'version'],
    [
      'effectiveUntil reaching into the next version',
      { ...base, version: 'x', effectiveUntil: '2021-01-01' },
      { ...base, version: 'y', effectiveFrom: '2021-01-01' },
      'effectiveUntil',
    ],
  ])('overlapping versions are refused: %s', (_label, a, b, field) => {
    const dir = writeRules({ 'one.json': a, 'two.json': b });
    const err = thrown(() => loadRules(dir));
    expect(err).toBeInstanceOf(OverlappingRulesError);
    expect(err).toMatchObject({ code: 'overlapping-rules', field, files: ['one.json', 'two.json'] });
    expect((err as Error).message).toContain('one.json and two.json');
  });

  test.each([
    ['a fractional rate', { ...base, categories: [category('ordinary', 1, 80.5)] }, 'categories[0].rateBp'],
    ['a rate above 100 %', { ...base, categories: [category('retiree', 3, 10001)] }, 'categories[0].rateBp'],
    ['no category', { ...base, categories: [] }, 'categories'],
    ['a category id with capitals', { ...base, categories: [category('Ordinary', 1, 8000)] }, 'categories[0].id'],
    ['a category twice', { ...base, categories: [cats[0], cats[0]] }, 'categories[1]'],
    ['a card code twice', { ...base, categories: [cats[0], category('other', 1, 8000)] }, 'categories[1]'],
    ['a card code out of range', { ...base, categories: [category('x', 256, 8000)] }, 'categories[0].cardCode'],
    ['an Arabic label missing', { ...base, categories: [{ ...cats[0], label: { fr: 'x' } }] }, 'categories[0].label.ar'],
    ['a category without source', { ...base, categories: [{ ...cats[0], source: undefined }] }, 'categories[0].source'],
    ['an unknown certainty', { ...base, categories: [{ ...cats[0], certainty: 'sure' }] }, 'categories[0].certainty'],
    ['a category naming an unknown limit', { ...base, categories: [category('x', 1, 1, { limits: ['nope'] })] }, 'categories[0].limits[0]'],
    [
      'a limit of an unknown kind',
      { ...base, limits: [{ id: 'l', kind: 'per-month', enabled: true, source: 's', certainty: 'good' }] },
      'limits[0].kind',
    ],
    [
      'a duration limit of 0 days',
      { ...base, limits: [{ id: 'l', kind: 'max-treatment-days', days: 0, enabled: true, source: 's', certainty: 'good' }] },
      'limits[0].days',
    ],
    [
      'a window longer than a year',
      {
        ...base,
        limits: [{ id: 'l', kind: 'prescriptions-per-period', windowDays: 367, count: 2, enabled: false, source: 's', certainty: 'dated' }],
      },
      'limits[0].windowDays',
    ],
    [
      'a markup without base',
      {
        ...base,
        amountItems: [
          { id: 'm', kind: 'markup', label: { fr: 'm', ar: 'm' }, rateBp: 0, payer: 'fund', source: 's', certainty: 'unknown' },
        ],
      },
      'amountItems[0].base',
    ],
    [
      'a fee in dinars',
      {
        ...base,
        amountItems: [
          {
            id: 'f',
            kind: 'invoice-fee',
            label: { fr: 'f', ar: 'f' },
            amountCentimes: 5.5,
            payer: 'fund',
            source: 's',
            certainty: 'unknown',
          },
        ],
      },
      'amountItems[0].amountCentimes',
    ],
    [
      'an unknown substitution tariff',
      { ...base, substitution: { tariff: 'higher', source: 's', certainty: 'good' } },
      'substitution.tariff',
    ],
    ['no substitution rule', { ...base, substitution: undefined }, 'substitution'],
    ['a negative threshold', { ...base, thresholdCentimes: -1 }, 'thresholdCentimes'],
    ['a threshold in dinars', { ...base, thresholdCentimes: 3000.5 }, 'thresholdCentimes'],
    ['an impossible date', { ...base, effectiveFrom: '2023-02-29' }, 'effectiveFrom'],
    ['an unknown field', { ...base, treshold: 1 }, 'treshold'],
    ['until before from', { ...base, effectiveUntil: '2019-12-31' }, 'effectiveUntil'],
    ['no version', { ...base, version: undefined }, 'version'],
  ])('a file with %s is refused, naming the field', (_label, body, field) => {
    const err = thrown(() => parseRuleFile(JSON.stringify(body), 'bad.json'));
    expect(err).toBeInstanceOf(InvalidRulesError);
    expect(err).toMatchObject({ code: 'invalid-rules', field, file: 'bad.json' });
    expect((err as Error).message).toContain(`bad.json: ${field}: `);
  });

  test('malformed JSON is refused with the file name', () => {
    const dir = writeRules({ 'broken.json': '{"version": ' });
    expect(thrown(() => loadRules(dir))).toMatchObject({ code: 'invalid-rules', file: 'broken.json' });
  });

  test('an empty or missing directory is refused', () => {
    expect(thrown(() => loadRules(tmp))).toBeInstanceOf(InvalidRulesError);
    expect(thrown(() => loadRules(path.join(tmp, 'nope')))).toBeInstanceOf(InvalidRulesError);
  });

  test('a RuleBook needs at least one version', () => {
    expect(() => new RuleBook([])).toThrow(InvalidRulesError);
  });

  test('loaded versions are frozen', () => {
    const v = parseRuleFile(JSON.stringify(base), 'x.json');
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.categories)).toBe(true);
    expect(Object.isFrozen(v.categories[0]!.label)).toBe(true);
  });

  test('an invalid date asked of a book is an InvalidInputError', () => {
    const book = new RuleBook([parseRuleFile(JSON.stringify(base), 'x.json')]);
    expect(thrown(() => book.rulesFor('nope', 'when'))).toBeInstanceOf(InvalidInputError);
  });
});
