/**
 * How two catalogue names (a DCI, a form, a strength, a recorded allergy) are compared: lower
 * case, accents removed, anything that is not a letter or a digit turned into one space, so
 * `Paracétamol`, ` paracetamol ` and `PARACETAMOL` are one name.
 */
export function normalizeName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}
