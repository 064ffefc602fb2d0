import * as path from 'node:path';
import fc from 'fast-check';
import { parseCsv } from '../../../src/billing/catalogue/csv';
import { verifyJournal } from '../../../src/sync/journal/verify';
import { journalPath } from '../../../src/pos/counter/journal';
import { NASTY_STRINGS } from '../../support/hostile';
import { apiError, rawRequest } from '../../support/raw-http';
import { line, openBackofficeBed, sellScenario, type BackofficeBed } from './harness';

/**
 * Property: the back office's routes, given what a client may really get wrong — each query field
 * (periods, from/to, N days, format and delimiter, tables, pagination) right, wrong, repeated or
 * unknown; the payment and correction bodies with wrong types and values; bank statements `,` or
 * `;` with hostile cells — answer a 4xx naming a field the request had (or lacked), never a 500.
 * Every CSV answer is UTF-8 with a byte-order mark, reads back as RFC 4180 with the separator
 * asked for (`,`, or `;` with `delimiter=semicolon`) into rows as wide as its header, and no cell
 * of it starts the way a spreadsheet formula does (= + - @, a tab, a carriage return) unless it
 * is a number.
 *
 * Over the real counter and reference fund (harness.ts: sales made, batch 1 sent, invoice 2
 * rejected), so that answers carry real rows. test/pos/http/hostile.property.test.ts drives every
 * route of the API with hostile framing; this one drives the back office's fields.
 * Fixed seed: CHIFA_HOSTILE_SEED changes it, CHIFA_HOSTILE_RUNS runs more (default 150).
 */

const RUNS = Number(process.env.CHIFA_HOSTILE_RUNS ?? 150);
const SEED = Number(process.env.CHIFA_HOSTILE_SEED ?? 20251126);
jest.setTimeout(Math.max(120_000, RUNS * 1_000));

// A formula in a cell: what the exports must defuse (OWASP, "CSV Injection").
const FORMULAS = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '=1;=2'];
const text = fc.constantFrom(...NASTY_STRINGS, ...FORMULAS, 'VIR CNAS', 'دواء', 'délivrance');

/** A query value: right (as the route expects it) or wrong in the ways people and scripts get it wrong. */
const value = (...right: string[]) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...right) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '0',
        '-1',
        '1.5',
        '1e3',
        '0x10',
        '00007',
        '99999999999999999999',
        '٣',
        'NaN',
        'null',
        '%ff',
        '%00',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('2025-02-30', '31/12/2025', '2025-6-1', '+002025-06-01', '0000-01-01', '9999-12-31') },
    { weight: 1, arbitrary: fc.constantFrom('CSV', 'xml', 'DAY', 'quarter', 'true', 'yes', ...FORMULAS) },
  );

const DATE = ['2025-06-01', '2025-06-02', '2025-06-30', '2024-01-01', '2025-12-31'];
const FIELDS = {
  before: value('1', '2', '5', '1000'),
  limit: value('1', '2', '100', '500', '1000', '1001'),
  format: value('json', 'csv'),
  delimiter: value('comma', 'semicolon'),
  table: value('invoices', 'gap', 'series', 'categories', 'funds', 'refusals', 'products', 'dcis'),
  pending: value('1', '0', 'true', 'false'),
  from: value(...DATE),
  to: value(...DATE),
  period: value('day', 'week', 'month', 'year'),
  days: value('1', '7', '30', '90', '91'),
} satisfies Record<string, fc.Arbitrary<string>>;
type Field = keyof typeof FIELDS;

interface Route {
  method: 'GET' | 'POST';
  path: fc.Arbitrary<string>;
  query: Field[];
  /** Fields the route needs: sent, but for now and then. */
  required?: Field[];
  body?: fc.Arbitrary<unknown>;
  /** The body's fields, sent or not: a 400 may name one left out. */
  fields?: string[];
}

/** A path segment: right or wrong, percent-encoded as a client would send it. */
const segment = (...right: string[]) => value(...right).map((v) => (/^%[0-9a-f]{2}$/.test(v) ? v : encodeURIComponent(v)));
const id = segment('1', '2', '3', '5');
const batchId = fc.constantFrom<unknown>(1, 2, 3, 999, 0, -1, 1.5, '1', null, 2 ** 53, [1], {});
const amount = fc.constantFrom<unknown>(100, -100, 123456, 0, 1.5, 1e308, -0, '12,50', '100', null, true, 2 ** 53);
const isoDate = fc.constantFrom<unknown>('2025-06-20', '2025-02-30', '20/06/2025', '', 20250620, null);
/** A bank statement's line: a value date, an amount, a label; cells right or hostile. */
const statementRow = fc.tuple(
  fc.constantFrom('2025-06-20', '20/06/2025', '2025-02-30', '', '=1'),
  fc.constantFrom('10', '"1 234,56"', '1234,56', '-5', '12,3.4', '', '=1+1', '"-2+3"', '1e5'),
  fc.oneof(text, fc.constantFrom('VIR CHIFA-DZ16-PH-00001-B1', '"a;b"', '"a,b"', '"never closed')),
);
const statement = fc
  .record({
    delimiter: fc.constantFrom(',', ';'),
    header: fc.constantFrom(['date', 'montant', 'libellé'], ['Date valeur', 'Crédit (DZD)', 'Libellé'], ['montant', 'libellé']),
    rows: fc.array(statementRow, { maxLength: 5 }),
    bom: fc.boolean(),
    eol: fc.constantFrom('\r\n', '\n'),
    given: fc.constantFrom<unknown>(undefined, undefined, ',', ';', '\t', 1, ''),
  })
  .map(({ delimiter, header, rows, bom, eol, given }) => ({
    csv: (bom ? '\ufeff' : '') + [header, ...rows].map((r) => r.join(delimiter)).join(eol) + eol,
    ...(given !== undefined ? { delimiter: given } : {}),
  }));
/** A body with now and then a field of the wrong type, one left out, or one unknown. */
const body = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.constantFrom<unknown>(undefined, undefined, null, 'x', 7, [], { nested: { deep: 1 } }),
      fc.constantFrom(undefined, undefined, undefined, 'extra', '__proto__'),
    )
    .map(([b, odd, extra]) => (extra === undefined ? b : { ...b, [extra]: odd }));

const ROUTES: Record<string, Route> = {
  batches: { method: 'GET', path: fc.constant('/backoffice/batches'), query: ['before', 'limit', 'format', 'delimiter'] },
  batch: { method: 'GET', path: id.map((i) => `/backoffice/batches/${i}`), query: ['format', 'delimiter', 'table'] },
  audit: { method: 'GET', path: fc.constant('/backoffice/audit'), query: ['format', 'delimiter'] },
  rejects: { method: 'GET', path: fc.constant('/backoffice/rejects'), query: ['pending', 'before', 'limit', 'format', 'delimiter'] },
  stats: {
    method: 'GET',
    path: fc.constant('/backoffice/stats'),
    query: ['period', 'table', 'format', 'delimiter'],
    required: ['from', 'to'],
  },
  register: { method: 'GET', path: fc.constant('/backoffice/register'), query: ['format', 'delimiter'], required: ['from', 'to'] },
  refills: { method: 'GET', path: fc.constant('/backoffice/refills'), query: ['days', 'format', 'delimiter'] },
  history: {
    method: 'GET',
    path: fc
      .tuple(fc.constantFrom('CH2-2023-004711', 'NOPE', '%ff', 'x'.repeat(40)), segment('1', '2', '3'))
      .map(([c, r]) => `/backoffice/patients/${encodeURIComponent(c)}/${r}/history`),
    query: ['format', 'delimiter'],
  },
  payment: {
    method: 'POST',
    path: fc.constant('/backoffice/payments'),
    query: [],
    body: body({ batchId, amount, valueDate: isoDate, reference: text }),
    fields: ['batchId', 'amount', 'valueDate', 'reference'],
  },
  statement: {
    method: 'POST',
    path: fc.constant('/backoffice/payments/statement'),
    query: [],
    body: statement,
    fields: ['csv', 'delimiter'],
  },
  correct: {
    method: 'POST',
    path: id.map((n) => `/backoffice/invoices/${n}/correct`),
    query: [],
    body: body({ reason: text, counterfoil: text, prescriber: text }),
    fields: ['reason', 'counterfoil', 'prescriber'],
  },
};

const request = fc.constantFrom(...Object.keys(ROUTES)).chain((name) => {
  const r = ROUTES[name]!;
  const query = fc
    .tuple(
      fc
        .tuple(fc.subarray(r.query), fc.oneof({ weight: 9, arbitrary: fc.constant(r.required ?? []) }, fc.subarray(r.required ?? [])))
        .chain(([keys, needed]) => fc.tuple(...[...needed, ...keys].map((k) => FIELDS[k].map((v) => [k, v] as const)))),
      // Now and then a field twice, or one the route does not know.
      fc.oneof(
        { weight: 12, arbitrary: fc.constant<[string, string][]>([]) },
        fc.constantFrom<[string, string][]>(
          [['format', 'csv']],
          [['delimiter', 'semicolon']],
          [['limit', '2']],
          [['from', '2025-06-01']],
          [['unknown', '1']],
        ),
      ),
    )
    .map(([fields, odd]) => [...fields, ...odd]);
  return fc.record({ name: fc.constant(name), path: r.path, query, body: r.body ?? fc.constant(undefined) });
});

let bed: BackofficeBed;

beforeAll(async () => {
  bed = await openBackofficeBed();
  await sellScenario(bed);
  // A counterfoil serial typed as a formula (the register's export must defuse it), a prescriber in Arabic.
  bed.setDay('2025-06-11');
  await bed.checkout({
    beneficiary: 1,
    counterfoil: '=HYPERLINK("http://x.example")',
    prescriber: 'د. كمال مزيان',
    lines: [line('N02AX02-01', 1, 10)],
  });
  // Batch 1 sent (the fund rejects invoice 2 and pays short): bordereaux, rejects, a notice.
  expect((await bed.closeAndSend()).state).toBe('done');
  // A payment whose reference is a formula, and a correction whose reason is one: both end up in exports.
  expect(
    (await bed.api('POST', '/backoffice/payments', { batchId: 1, amount: 100, valueDate: '2025-06-20', reference: '=HYPERLINK("x")' }))
      .status,
  ).toBe(201);
});

afterAll(async () => {
  await bed?.close();
});

test('the register exported as CSV: the formulas typed at the counter come back as text, the Arabic as UTF-8', async () => {
  const r = await bed.api('GET', '/backoffice/register?from=2025-06-01&to=2025-06-30&format=csv');
  expect(r.type).toBe('text/csv; charset=utf-8');
  expect(r.text.startsWith('\ufeff')).toBe(true);
  const rows = parseCsv(r.text).records.map((x) => x.fields);
  expect(rows.flat()).toEqual(expect.arrayContaining([`'=HYPERLINK("http://x.example")`, 'د. كمال مزيان']));
  expect(rows.flat().some((f) => /^[=@]/.test(f))).toBe(false);
});

const FORMULA = /^[=+\-@\t\r]/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

test('property: hostile queries and bodies on the back office are a 4xx naming the field, never a 500; CSV answers are safe to open', async () => {
  const codes = new Map<string, number>();
  let csvAnswers = 0;
  let semicolonAnswers = 0;
  await fc.assert(
    fc.asyncProperty(request, async (q) => {
      const route = ROUTES[q.name]!;
      // Values go as typed: percent-encoded, except those that are already escapes (%ff, %00).
      const qs = q.query.map(([k, v]) => `${k}=${/^%[0-9a-f]{2}$/.test(v) ? v : encodeURIComponent(v)}`).join('&');
      const path = `/api${q.path}${qs ? `?${qs}` : ''}`;
      const res = await rawRequest(bed.counter.url, {
        method: route.method,
        path,
        headers: {
          Authorization: `Bearer ${bed.counter.token}`,
          ...(q.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(q.body !== undefined ? { body: JSON.stringify(q.body) } : {}),
      });
      if (typeof res === 'string') throw new Error(`${path}: ${res}`);
      const shown = `${route.method} ${path} ${JSON.stringify(q.body)?.slice(0, 200) ?? ''}`;
      expect({ shown, status: res.status, server: res.status >= 500, text: res.text.slice(0, 300) }).toEqual({
        shown,
        status: res.status,
        server: false,
        text: res.text.slice(0, 300),
      });
      if (res.status >= 400) {
        const e = apiError(res);
        codes.set(`${res.status} ${e?.code}`, (codes.get(`${res.status} ${e?.code}`) ?? 0) + 1);
        // A field the request had, or one it needed: a query key, a body key, a path parameter, the body itself.
        const named = new Set<string>([
          ...q.query.map(([k]) => k),
          ...route.query,
          ...(route.required ?? []),
          ...(route.fields ?? []),
          ...Object.keys((q.body as object | null) ?? {}),
          'body',
          'id',
          'number',
          'card',
          'rank',
        ]);
        expect({ shown, code: e?.code, field: e?.field, named: e?.field === undefined || named.has(e.field) }).toEqual({
          shown,
          code: e?.code,
          field: e?.code === 'invalid-input' ? expect.any(String) : e?.field,
          named: true,
        });
      } else if ((res.headers['content-type'] ?? '').startsWith('text/csv')) {
        csvAnswers++;
        expect({ shown, bom: res.text.startsWith('\ufeff') }).toEqual({ shown, bom: true });
        // A 200 had one delimiter at most, and a valid one.
        const separator = q.query.some(([k, v]) => k === 'delimiter' && v === 'semicolon') ? ';' : ',';
        if (separator === ';') semicolonAnswers++;
        const { records, errors } = parseCsv(res.text, { delimiter: separator });
        expect({ shown, errors }).toEqual({ shown, errors: [] });
        // Every export has several columns: read with the wrong separator, the header would be one cell.
        const widths = records.map((r) => r.fields.length);
        expect({ shown, header: widths[0]! > 1, widths: new Set(widths).size }).toEqual({ shown, header: true, widths: 1 });
        const unsafe = records.slice(1).flatMap((r) => r.fields.filter((f) => FORMULA.test(f) && !NUMBER.test(f)));
        expect({ shown, unsafe }).toEqual({ shown, unsafe: [] });
      } else if (res.status === 200 || res.status === 201) {
        expect(() => JSON.parse(res.text)).not.toThrow();
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  if (process.env.CHIFA_HOSTILE_STATS) console.log(JSON.stringify({ codes: [...codes], csvAnswers, semicolonAnswers }));
  // The run reached the answers, not only the refusals.
  expect(csvAnswers).toBeGreaterThan(RUNS / 40);
  expect(verifyJournal(journalPath(path.join(bed.dir, 'counter')))).toMatchObject({ ok: true });
});
