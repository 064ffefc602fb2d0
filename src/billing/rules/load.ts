import * as fs from 'node:fs';
import * as path from 'node:path';
import { CALENDAR_DATE_MESSAGE, isIsoDate } from '../../common/calendar-date';
import { InvalidRulesError, NoRulesInForceError, OverlappingRulesError } from '../errors';
import { InvalidInputError } from '../../common/errors';
import { firstZodIssue } from '../../common/zod-issues';
import { defaultRulesDir } from '../../common/paths';
import { ruleFileSchema, type CategoryRule, type RuleFile, type RuleVersion } from './schema';

/**
 * All rule versions, ordered by `effectiveFrom`, with no two in force on the same day.
 * `rulesFor(date)` picks the version in force on a dispensing date.
 */
export class RuleBook {
  readonly versions: readonly RuleVersion[];

  constructor(versions: readonly RuleVersion[]) {
    this.versions = Object.freeze(checkVersions(versions));
  }

  /** The version in force on `date` (YYYY-MM-DD); throws NoRulesInForceError if there is none. */
  rulesFor(date: string, field = 'date'): RuleVersion {
    if (!isIsoDate(date)) throw new InvalidInputError([{ field, message: CALENDAR_DATE_MESSAGE }]);
    const v = this.find(date);
    if (v) return v;
    const first = this.versions[0];
    const detail = first && date < first.effectiveFrom ? ` (the earliest rules start on ${first.effectiveFrom})` : '';
    throw new NoRulesInForceError(date, field, detail);
  }

  /** Like rulesFor, but undefined instead of an error. `date` must already be a valid ISO date. */
  find(date: string): RuleVersion | undefined {
    const vs = this.versions;
    for (let i = vs.length - 1; i >= 0; i--) {
      const v = vs[i]!;
      if (v.effectiveFrom <= date) return v.effectiveUntil === undefined || date <= v.effectiveUntil ? v : undefined;
    }
    return undefined;
  }
}

/** Parses and validates one rules file's text. `source` names it in errors (usually the file name). */
export function parseRuleFile(text: string, source: string): RuleVersion {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidRulesError(source, '', `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ruleFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = firstZodIssue(parsed.error);
    throw new InvalidRulesError(source, first.field, first.message);
  }
  return freezeVersion(parsed.data, source);
}

function freezeVersion(r: RuleFile, source: string): RuleVersion {
  const limitsById = new Map(r.limits.map((l) => [l.id, Object.freeze({ ...l })]));
  const categories = r.categories.map((c): CategoryRule =>
    Object.freeze({
      id: c.id,
      cardCode: c.cardCode,
      label: Object.freeze({ ...c.label }),
      rateBp: c.rateBp,
      thresholdExempt: c.thresholdExempt,
      limits: Object.freeze(c.limits.map((id) => limitsById.get(id)!).filter((l) => l.enabled)),
      source: c.source,
      certainty: c.certainty,
      note: c.note,
    }),
  );
  return Object.freeze({
    version: r.version,
    effectiveFrom: r.effectiveFrom,
    effectiveUntil: r.effectiveUntil,
    description: r.description,
    thresholdCentimes: r.thresholdCentimes,
    categories: Object.freeze(categories),
    categoriesById: new Map(categories.map((c) => [c.id, c])),
    categoriesByCardCode: new Map(categories.map((c) => [c.cardCode, c])),
    limits: Object.freeze([...limitsById.values()]),
    amountItems: Object.freeze(r.amountItems.map((i) => Object.freeze({ ...i, label: Object.freeze({ ...i.label }) }))),
    substitution: Object.freeze({ tariff: r.substitution.tariff, source: r.substitution.source, certainty: r.substitution.certainty }),
    source,
  });
}

/**
 * Loads every `*.json` file in `dir` (default: the shipped `fixtures/rules/`), validates each, and
 * rejects the set if two versions share a name or an effective-from date, or if one version's
 * `effectiveUntil` reaches into the next.
 */
export function loadRules(dir: string = defaultRulesDir()): RuleBook {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new InvalidRulesError(dir, '', `cannot read the rules directory: ${(err as Error).message}`);
  }
  if (names.length === 0) throw new InvalidRulesError(dir, '', 'no rules files (*.json) in the directory');
  const versions = names.map((name) => {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidRulesError(name, '', `cannot read: ${(err as Error).message}`);
    }
    return parseRuleFile(text, name);
  });
  return new RuleBook(versions);
}

function checkVersions(input: readonly RuleVersion[]): RuleVersion[] {
  if (input.length === 0) throw new InvalidRulesError('(rules)', '', 'no rule versions');
  const byName = new Map<string, RuleVersion>();
  for (const v of input) {
    const other = byName.get(v.version);
    if (other) throw new OverlappingRulesError([other.source, v.source], 'version', `both declare version ${JSON.stringify(v.version)}`);
    byName.set(v.version, v);
  }
  const sorted = [...input].sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.effectiveFrom === cur.effectiveFrom) {
      throw new OverlappingRulesError([prev.source, cur.source], 'effectiveFrom', `both take effect on ${cur.effectiveFrom}`);
    }
    if (prev.effectiveUntil !== undefined && prev.effectiveUntil >= cur.effectiveFrom) {
      throw new OverlappingRulesError(
        [prev.source, cur.source],
        'effectiveUntil',
        `${prev.version} runs until ${prev.effectiveUntil} but ${cur.version} takes effect on ${cur.effectiveFrom}`,
      );
    }
  }
  return sorted;
}
