import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidRulesError, NoRulesInForceError, OverlappingRulesError } from '../../src/billing/errors';
import { InvalidInputError } from '../../src/common/errors';
import { loadRules, parseRuleFile, RuleBook } from '../../src/billing/rules/load';
import { thrown } from '../support/thrown';

const base = {
  version: 'v1',
  effectiveFrom: '2020-01-01',
  rates: { ordinary: 8000, chronic: 10000, retiree: 10000 },
  thresholdCentimes: 300000,
  thresholdExemptCategories: ['chronic'],
};

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
    expect(r.rates).toEqual({ ordinary: 8000, chronic: 10000, retiree: 10000 });
    expect(r.thresholdExemptCategories).toEqual(['chronic']);
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
    ['a fractional rate', { ...base, rates: { ...base.rates, ordinary: 80.5 } }, 'rates.ordinary'],
    ['a rate above 100 %', { ...base, rates: { ...base.rates, retiree: 10001 } }, 'rates.retiree'],
    ['a missing rate', { ...base, rates: { ordinary: 8000, chronic: 10000 } }, 'rates.retiree'],
    ['an unknown category', { ...base, rates: { ...base.rates, student: 5000 } }, 'rates.student'],
    ['a negative threshold', { ...base, thresholdCentimes: -1 }, 'thresholdCentimes'],
    ['a threshold in dinars', { ...base, thresholdCentimes: 3000.5 }, 'thresholdCentimes'],
    ['an impossible date', { ...base, effectiveFrom: '2023-02-29' }, 'effectiveFrom'],
    ['an unknown exempt category', { ...base, thresholdExemptCategories: ['vip'] }, 'thresholdExemptCategories[0]'],
    ['a duplicated exempt category', { ...base, thresholdExemptCategories: ['chronic', 'chronic'] }, 'thresholdExemptCategories'],
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
    expect(Object.isFrozen(v.rates)).toBe(true);
  });

  test('an invalid date asked of a book is an InvalidInputError', () => {
    const book = new RuleBook([parseRuleFile(JSON.stringify(base), 'x.json')]);
    expect(thrown(() => book.rulesFor('nope', 'when'))).toBeInstanceOf(InvalidInputError);
  });
});
