import { parseCsv } from '../../../src/billing/catalogue/csv';
import { parseMoney } from '../../../src/common/format';
import { toCsv } from '../../../src/pos/backoffice/csv';
import { explain, type BatchSummary } from '../../../src/pos/backoffice/bordereaux';
import { matchStatement, parseStatement } from '../../../src/pos/backoffice/statement';
import { splitRange } from '../../../src/pos/backoffice/statistics';
import { thrown } from '../../support/thrown';

/** The back office's pure pieces: amounts typed or read from a statement, CSV, ranges, the gap. */

test.each([
  ['1 234,56', 123456],
  ['1234.56', 123456],
  ['1.234,56', 123456],
  ['1,234.56', 123456],
  ['1\u00a0234,56 د.ج', 123456],
  ['12 345,6 DA', 1234560],
  ['-12', -1200],
  ['0,05', 5],
  ['1.234', 123400],
])('parseMoney(%j) = %d centimes', (text, centimes) => {
  expect(parseMoney(text)).toBe(centimes);
});

test.each(['', 'abc', '1 234,', '12,3,4.', '1e5', '١٢', '99999999999999999999'])('parseMoney(%j) is refused', (text) => {
  expect(parseMoney(text)).toBeUndefined();
});

test('a bank statement: columns found by name, French dates and amounts; credits naming a batch matched', () => {
  const lines = parseStatement(
    [
      'Libellé,Date valeur,Crédit',
      'VIR CHIFA-DZ16-PH-00001-B12 CNAS,02/07/2025,"1 234,56"',
      'VIR CHIFA-DZ16-PH-00001-B1,03/07/2025,10',
      'FRAIS,03/07/2025,-5',
    ].join('\r\n'),
  );
  expect(lines.map((l) => [l.line, l.valueDate, l.amount])).toEqual([
    [2, '2025-07-02', 123456],
    [3, '2025-07-03', 1000],
    [4, '2025-07-03', -500],
  ]);
  const refs = new Map([
    ['CHIFA-DZ16-PH-00001-B1', 1],
    ['CHIFA-DZ16-PH-00001-B12', 12],
  ]);
  const m = matchStatement(lines, refs);
  // B1 is not mistaken for B12.
  expect(m.payments.map((p) => [p.batchId, p.amount])).toEqual([
    [12, 123456],
    [1, 1000],
  ]);
  expect(m.unmatched).toEqual([{ line: 4, reason: 'not-a-credit', text: 'FRAIS' }]);
});

test('a statement that cannot be read is refused whole, naming the line', () => {
  expect(thrown(() => parseStatement('date,montant\n2025-01-01,1'))).toMatchObject({ code: 'invalid-input', field: 'csv' });
  expect(thrown(() => parseStatement('date,montant,libellé\n2025-02-30,1,x'))).toMatchObject({
    message: expect.stringMatching(/line 2, column 1 \(date\): the value date/),
  });
  expect(thrown(() => parseStatement('date,montant,libellé\n2025-02-01,douze,x'))).toMatchObject({
    message: expect.stringMatching(/line 2, column 2 \(montant\): the amount/),
  });
});

// TEST data: statements laid out as French and Algerian banks export them (the names, accounts
// and amounts are made up).
const REFS = new Map([
  ['CHIFA-DZ16-PH-00001-B1', 1],
  ['CHIFA-DZ16-PH-00001-B12', 12],
]);

test('a ";" statement with decimal commas, a byte-order mark, CRLF, quoted cells, lines above the header, debit and credit columns', () => {
  const csv =
    '\ufeffRelevé de compte TEST;;;;\r\n' +
    'Compte n° 00799999 0000000000 00 (TEST);;;;\r\n' +
    'Date opération;Date valeur;Libellé;Débit (DZD);Crédit (DZD)\r\n' +
    '01/07/2025;02/07/2025;"VIR RECU CNAS; CHIFA-DZ16-PH-00001-B12";;"1 234,56"\r\n' +
    '03/07/2025;03/07/2025;FRAIS TENUE DE COMPTE;150,00;\r\n' +
    '04/07/2025;04/07/2025;VIR CHIFA-DZ16-PH-00001-B1;;10 000,00\r\n';
  const lines = parseStatement(csv);
  expect(lines.map((l) => [l.line, l.valueDate, l.amount, l.text])).toEqual([
    [4, '2025-07-02', 123456, 'VIR RECU CNAS; CHIFA-DZ16-PH-00001-B12'],
    [5, '2025-07-03', -15000, 'FRAIS TENUE DE COMPTE'],
    [6, '2025-07-04', 1000000, 'VIR CHIFA-DZ16-PH-00001-B1'],
  ]);
  const m = matchStatement(lines, REFS);
  expect(m.payments.map((p) => [p.batchId, p.amount])).toEqual([
    [12, 123456],
    [1, 1000000],
  ]);
  expect(m.unmatched).toEqual([{ line: 5, reason: 'not-a-credit', text: 'FRAIS TENUE DE COMPTE' }]);
});

test('a ";" statement with one signed amount column and LF line ends; the delimiter given explicitly', () => {
  const csv = 'DATE;LIBELLE;MONTANT\n2025-07-02;VIR CHIFA-DZ16-PH-00001-B1;1234,5\n2025-07-03;AGIOS;-12,30\n';
  for (const delimiter of [undefined, ';'] as const)
    expect(parseStatement(csv, { delimiter }).map((l) => l.amount)).toEqual([123450, -1230]);
  // The wrong one given explicitly: no header is found, and the message says which separator was tried.
  expect(thrown(() => parseStatement(csv, { delimiter: ',' }))).toMatchObject({
    field: 'csv',
    message: expect.stringMatching(/line 1: no header .* separated by ","/),
  });
});

test('a statement that cannot be read names the line and the column', () => {
  const header = 'Date;Libellé;Débit;Crédit\r\n';
  expect(thrown(() => parseStatement(header + '02/07/2025;VIR;;12.34.56\r\n'))).toMatchObject({
    field: 'csv',
    message: expect.stringMatching(/line 2, column 4 \(Crédit\): the amount "12.34.56"/),
  });
  expect(thrown(() => parseStatement(header + '02/07/2025;VIR;;\r\n'))).toMatchObject({
    message: expect.stringMatching(/line 2, column 4 \(Crédit\): neither a credit nor a debit/),
  });
  expect(thrown(() => parseStatement(header + '02/07/2025;VIR;5;7\r\n'))).toMatchObject({
    message: expect.stringMatching(/line 2: both a debit and a credit/),
  });
  expect(thrown(() => parseStatement(header + '2/7/2025;VIR;;7\r\n'))).toMatchObject({
    message: expect.stringMatching(/line 2, column 1 \(Date\): the value date "2\/7\/2025"/),
  });
  expect(thrown(() => parseStatement(header + '02/07/2025;"VIR;;7\r\n'))).toMatchObject({
    message: expect.stringMatching(/line 2, column 2: quoted field is never closed/),
  });
  // A decimal comma unquoted in a "," file is two cells: refused, never read as 12 dinars.
  expect(thrown(() => parseStatement('date,montant,libellé\n2025-07-02,12,50,VIR\n'))).toMatchObject({
    message: expect.stringMatching(/line 2: 4 cells where the header has 3 \(an amount with a decimal comma must be quoted/),
  });
  // A trailing separator on every line is not an extra cell.
  expect(parseStatement('date;montant;libellé;\n2025-07-02;12,50;VIR;\n').map((l) => l.amount)).toEqual([1250]);
});

test('CSV: quoted when needed, formulas defused, numbers as numbers, a byte-order mark', () => {
  expect(
    toCsv(
      ['a', 'b'],
      [
        ['=SUM(A1)', -12],
        ['x,y', null],
        ['"q"', true],
      ],
    ),
  ).toBe('\ufeffa,b\r\n\'=SUM(A1),-12\r\n"x,y",\r\n"""q""",true\r\n');
});

test('CSV with `;` between fields: `;` quoted, `,` left bare; any cell reads back whole with either separator', () => {
  expect(
    toCsv(
      ['a', 'b'],
      [
        ['x;y', 'x,y'],
        ['=1;2', 1.5],
      ],
      'semicolon',
    ),
  ).toBe('\ufeffa;b\r\n"x;y";x,y\r\n"\'=1;2";1.5\r\n');
  // A line break cannot be typed at the counter (free text refuses it) but can come in the fund's
  // words (a reject reason, an adjustment): the writer is what keeps it in its cell.
  const hostile = 'دواء "غير مغطى"; voir, ligne\r\n2\nfin';
  for (const [delimiter, separator] of [
    ['comma', ','],
    ['semicolon', ';'],
  ] as const) {
    const { records, errors } = parseCsv(
      toCsv(
        ['reason', 'n'],
        [
          [hostile, 7],
          ['=' + hostile, null],
        ],
        delimiter,
      ),
      { delimiter: separator },
    );
    expect(errors).toEqual([]);
    expect(records.map((r) => r.fields)).toEqual([
      ['reason', 'n'],
      [hostile, '7'],
      [`'=${hostile}`, ''],
    ]);
  }
});

test('a date range: whole months from the monthly table, the ends from the daily one', () => {
  expect(splitRange('2025-01-01', '2025-12-31')).toEqual({ months: ['2025-01', '2025-12'], days: [] });
  expect(splitRange('2025-01-15', '2025-03-10')).toEqual({
    months: ['2025-02', '2025-02'],
    days: [
      ['2025-01-15', '2025-01-31'],
      ['2025-03-01', '2025-03-10'],
    ],
  });
  expect(splitRange('2024-02-03', '2024-02-27')).toEqual({ months: null, days: [['2024-02-03', '2024-02-27']] });
  expect(splitRange('2024-02-01', '2024-02-29')).toEqual({ months: ['2024-02', '2024-02'], days: [] });
});

test('the gap explained adds up to claimed − received, whatever the figures', () => {
  const batch = (over: Partial<BatchSummary>): BatchSummary => ({
    id: 1,
    state: 'settled',
    openedAt: '',
    closedAt: '',
    closeReason: null,
    from: 1,
    to: 3,
    count: 3,
    claim: { invoices: 3, total: 0, fund: 10_000, patient: 0, credits: 0, creditFund: 0, claimed: 10_000 },
    acknowledgedAt: null,
    accepted: 2,
    rejected: 1,
    settledAt: null,
    due: 6_000,
    transferReference: 'T',
    received: 5_000,
    payments: 1,
    gap: 5_000,
    ...over,
  });
  const inv = (number: number, fund: number, status: 'accepted' | 'rejected') => ({
    number,
    kind: 'invoice',
    date: '',
    cardSerial: '',
    total: fund,
    fund,
    patient: 0,
    refNumber: null,
    status,
    code: status === 'rejected' ? 'X' : null,
    reason: null,
    adjustment: 0,
    correctedBy: null,
  });
  const notice = {
    batchId: 1,
    receivedAt: '',
    settledAt: '',
    accepted: 7_000,
    paid: 6_000,
    transferReference: 'T',
    adjustments: [{ number: 1, hash: '', amount: 1_000, code: 'A', reason: 'r' }],
  };
  const e = explain(batch({}), [inv(1, 4_000, 'accepted'), inv(2, 3_000, 'rejected'), inv(3, 3_000, 'accepted')], notice);
  expect(e.lines.map((l) => [l.kind, l.amount])).toEqual([
    ['rejected', 3_000],
    ['adjustment', 1_000],
    ['bank-difference', 1_000],
  ]);
  expect(e.lines.reduce((n, l) => n + l.amount, 0)).toBe(e.gap);
  // A fund whose figures do not add up: the difference is shown, not hidden.
  const odd = explain(batch({ due: 5_500 }), [inv(1, 4_000, 'accepted'), inv(2, 3_000, 'rejected'), inv(3, 3_000, 'accepted')], notice);
  expect(odd.lines.find((l) => l.kind === 'unexplained')?.amount).toBe(500);
  expect(odd.lines.reduce((n, l) => n + l.amount, 0)).toBe(odd.gap);
  // Before the acknowledgement: the whole claim is awaited.
  expect(explain(batch({ due: null, received: 0, gap: 10_000 }), [], null).lines).toEqual([{ kind: 'awaiting-ack', amount: 10_000 }]);
});
