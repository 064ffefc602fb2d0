import { normalizeName } from './names';
import type { Product } from './product';

/**
 * Generic substitution (docs/split.md, docs/field-notes.md#generic-substitution): a pharmacist
 * may dispense another product than the one prescribed when it has the same DCI, the same form
 * (pack included: quantities are counted in packs) and the same strength. Which reference tariff
 * the fund's base then uses is a rule (`substitution` in the rules files), not this module's.
 */

/** Why `dispensed` cannot replace `prescribed`, or null when it can. */
export function substitutionProblem(prescribed: Product, dispensed: Product): string | null {
  if (prescribed.code === dispensed.code) return 'the product dispensed is the one prescribed';
  const differs: string[] = [];
  if (normalizeName(prescribed.dci) !== normalizeName(dispensed.dci)) differs.push('DCI');
  if (normalizeName(prescribed.form) !== normalizeName(dispensed.form)) differs.push('form');
  if (normalizeName(prescribed.strength) !== normalizeName(dispensed.strength)) differs.push('strength');
  if (differs.length === 0) return null;
  return `${dispensed.code} cannot replace ${prescribed.code}: a different ${differs.join(', ')}`;
}
