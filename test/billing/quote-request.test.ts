import { InvalidInputError, MalformedJsonError } from '../../src/common/errors';
import { parseQuoteRequest, parseQuoteRequestJson } from '../../src/billing/quote-request';

const ok = {
  date: '2024-03-01',
  category: 'ordinary',
  lines: [
    { code: 'A', quantity: 1 },
    { quantity: 2, unitPrice: 100 },
  ],
};

function issuesOf(value: unknown): { field: string; message: string }[] {
  try {
    parseQuoteRequest(value);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return [...(err as InvalidInputError).issues];
  }
  throw new Error('expected the request to be refused');
}

test('a valid request passes through unchanged', () => {
  expect(parseQuoteRequest(ok)).toEqual(ok);
  const full = {
    ...ok,
    cardExpiry: '2030-01-01',
    rightsEnd: '2025-01-01',
    blacklisted: false,
    beneficiary: { category: 'chronic', rightsEnd: '2026-01-01' },
    lines: [{ code: 'A', quantity: 1, unitPrice: 0, referencePrice: null, reimbursable: false, priorApproval: true, approval: 'AP-1' }],
  };
  expect(parseQuoteRequest(full)).toEqual(full);
});

const line = (l: Record<string, unknown>) => ({ ...ok, lines: [ok.lines[0], ok.lines[1], l] });

test.each([
  ['negative quantity', line({ code: 'A', quantity: -1 }), 'lines[2].quantity'],
  ['fractional quantity', line({ code: 'A', quantity: 1.5 }), 'lines[2].quantity'],
  ['zero quantity', line({ code: 'A', quantity: 0 }), 'lines[2].quantity'],
  ['quantity as a string', line({ code: 'A', quantity: '2' }), 'lines[2].quantity'],
  ['missing quantity', line({ code: 'A' }), 'lines[2].quantity'],
  ['fractional price (dinars, not centimes)', line({ quantity: 1, unitPrice: 250.5 }), 'lines[2].unitPrice'],
  ['negative price', line({ quantity: 1, unitPrice: -100 }), 'lines[2].unitPrice'],
  ['price beyond exact integers', line({ quantity: 1, unitPrice: 2 ** 53 }), 'lines[2].unitPrice'],
  ['fractional reference price', line({ code: 'A', quantity: 1, referencePrice: 0.5 }), 'lines[2].referencePrice'],
  ['no code and no price', line({ quantity: 1 }), 'lines[2].unitPrice'],
  ['empty code', line({ code: '', quantity: 1 }), 'lines[2].code'],
  ['empty approval', line({ code: 'A', quantity: 1, approval: '' }), 'lines[2].approval'],
  ['reimbursable as a string', line({ code: 'A', quantity: 1, reimbursable: 'yes' }), 'lines[2].reimbursable'],
  ['unknown line field', line({ code: 'A', quantity: 1, qty: 2 }), 'lines[2].qty'],
  ['impossible date', { ...ok, date: '2023-02-29' }, 'date'],
  ['missing date', { ...ok, date: undefined }, 'date'],
  ['a category that is not an id', { ...ok, category: 'V I P' }, 'category'],
  ['no lines', { ...ok, lines: [] }, 'lines'],
  ['lines not an array', { ...ok, lines: {} }, 'lines'],
  ['bad card expiry', { ...ok, cardExpiry: 'never' }, 'cardExpiry'],
  ['bad beneficiary category', { ...ok, beneficiary: { category: 'X' } }, 'beneficiary.category'],
  ['a fractional duration', line({ code: 'A', quantity: 1, durationDays: 1.5 }), 'lines[2].durationDays'],
  [
    'alreadyDispensed without the prescribed quantity',
    line({ code: 'A', quantity: 1, prescribed: { alreadyDispensed: 1 } }),
    'lines[2].prescribed.quantity',
  ],
  ['a replaced product with neither code nor tariff', line({ code: 'A', quantity: 1, replaces: {} }), 'lines[2].replaces'],
  ['a history entry without date', { ...ok, prescriptionHistory: [{ reference: 'R1' }] }, 'prescriptionHistory[0].date'],
  ['unknown top-level field', { ...ok, catgory: 'ordinary' }, 'catgory'],
  ['not an object', [], ''],
])('%s → error naming %s', (_label, value, field) => {
  const issues = issuesOf(value);
  expect(issues[0]!.field).toBe(field);
});

test('every bad field is listed, the first one names the error', () => {
  try {
    parseQuoteRequest({ date: 'x', category: 'ordinary', lines: [{ quantity: 1.5, unitPrice: -1 }] });
    throw new Error('expected an error');
  } catch (err) {
    const e = err as InvalidInputError;
    expect(e.code).toBe('invalid-input');
    expect(e.field).toBe('date');
    expect(e.issues.map((i) => i.field).sort()).toEqual(['date', 'lines[0].quantity', 'lines[0].unitPrice']);
    expect(e.message).toMatch(/^invalid quote request: date: .*\(and 2 more\)$/);
  }
});

test.each(['', '  ', '{"date": ', 'nope', '{"a":1}}'])('malformed JSON %p is a MalformedJsonError', (text) => {
  expect(() => parseQuoteRequestJson(text)).toThrow(MalformedJsonError);
});
