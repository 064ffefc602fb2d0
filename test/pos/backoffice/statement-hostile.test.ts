import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { apiError, rawRequest } from '../../support/raw-http';
import { captureLogger, NOW, tmpDir } from '../counter/harness';

/**
 * A bank statement is a file from outside (a bank's export, edited in a spreadsheet): whatever it
 * holds, `POST /api/backoffice/payments/statement` answers a 4xx naming `csv` (and the line, when
 * one line is at fault) or `body`, never a 500, and records nothing from a file it refuses. The
 * real counter over loopback HTTP, bytes sent as they are (test/support/raw-http.ts).
 */

let counter: RunningCounter;
let logs: string[];

beforeAll(async () => {
  const captured = captureLogger();
  logs = captured.lines;
  counter = await startCounter({
    dataDir: tmpDir('chifa-statement-'),
    port: 0,
    logger: captured.logger,
    station: EmulatedStation.openDemo(tmpDir('chifa-statement-')),
    now: () => NOW,
  });
});

afterAll(async () => {
  await counter?.close();
});

async function post(
  body: Buffer | string,
  contentType = 'application/json',
): Promise<{ status: number; error: ReturnType<typeof apiError> }> {
  const r = await rawRequest(counter.url, {
    method: 'POST',
    path: '/api/backoffice/payments/statement',
    headers: { Authorization: `Bearer ${counter.token}`, 'Content-Type': contentType },
    body,
  });
  if (typeof r === 'string') throw new Error(`no answer: ${r}`);
  return { status: r.status, error: r.status >= 400 ? apiError(r) : undefined };
}

const statement = (csv: string) => post(JSON.stringify({ csv }));
const HEADER = 'date,montant,libellé\r\n';
/** Nothing recorded: the journal's bank payments table is still empty. */
const recorded = () => (counter.service.journal.db.prepare('SELECT COUNT(*) AS n FROM bank_payments').get() as { n: number }).n;

test.each([
  ['an exponent', '1e5'],
  ['not a number', 'NaN'],
  ['beyond what centimes can hold exactly', '99999999999999999999'],
  ['two signs', '--5'],
  ['Arabic-Indic digits', '١٢٣'],
  ['nothing', ''],
  ['a formula', '=1+1'],
  ['a comma and a point as decimals', '12,3.4'],
  ['a separator before the decimals only', '1 .50'],
  ['more than a bank entry can be', '1 000 000 000,01'],
])('a bad amount (%s) is 400 on csv naming line 3', async (_what, amount) => {
  const r = await statement(`${HEADER}2025-06-20,10,VIR A\r\n2025-06-20,"${amount}",VIR B\r\n`);
  expect({ status: r.status, field: r.error?.field, message: r.error?.message }).toEqual({
    status: 400,
    field: 'csv',
    message: expect.stringMatching(/line 3, column 2 \(montant\): the amount/),
  });
  expect(recorded()).toBe(0);
});

test.each([
  ['a day that does not exist', '31/02/2025'],
  ['a month that does not exist', '2025-13-01'],
  ['a timestamp', '2025-06-20T10:00:00Z'],
  ['nothing', ''],
])('a bad value date (%s) is 400 on csv naming the line', async (_what, date) => {
  const r = await statement(`${HEADER}"${date}",10,VIR\r\n`);
  expect(r).toMatchObject({
    status: 400,
    error: { field: 'csv', message: expect.stringMatching(/line 2, column 1 \(date\): the value date/) },
  });
});

test('a file that is not CSV, or has no usable header, is 400 on csv', async () => {
  for (const csv of [
    'date,montant,libellé\r\n2025-06-20,"10,VIR\r\n', // a quote never closed
    'date,montant,libellé\r\n2025-06-20,1"0",VIR\r\n', // a quote inside a bare field
    'montant,libellé\r\n10,VIR\r\n', // no date column
    '\u0000\u0001\u0002',
    '{"csv": "nested JSON"}',
  ]) {
    const r = await statement(csv);
    expect({ csv, status: r.status, field: r.error?.field }).toEqual({ csv, status: 400, field: 'csv' });
  }
  for (const body of [{ csv: '' }, { csv: 12 }, { csv: null }, { csv: ['a'] }, {}, { csv: 'a', extra: 1 }]) {
    const r = await post(JSON.stringify(body));
    expect({ body, status: r.status, field: r.error?.field }).toEqual({ body, status: 400, field: Object.keys(body)[1] ?? 'csv' });
  }
  expect(recorded()).toBe(0);
});

test('bad encodings: bytes that are not UTF-8, a lone surrogate, a UTF-16 file, a compressed body', async () => {
  // A Windows-1252 statement pasted as is: é is the single byte E9.
  const latin1 = Buffer.concat([Buffer.from('{"csv":"date,montant,libell'), Buffer.from([0xe9]), Buffer.from('\\n2025-06-20,10,VIR\\n"}')]);
  const r1 = await post(latin1);
  expect(r1.status).toBe(400);
  expect(r1.error?.field).toBeDefined();
  // UTF-16 (what some spreadsheets save as "Unicode text"), declared as such.
  const r2 = await post(
    Buffer.from(JSON.stringify({ csv: `${HEADER}2025-06-20,10,VIR\r\n` }), 'utf16le'),
    'application/json; charset=utf-16',
  );
  expect(r2.status).toBe(415);
  // A lone surrogate in the label: read as text, never recorded as a payment's reference.
  const r3 = await statement(`${HEADER}2025-06-20,10,VIR \ud800\r\n`);
  expect(r3.status).toBeLessThan(500);
  const r4 = await post(JSON.stringify({ csv: '\ufeff' + HEADER + '2025-06-20,10,VIR\r\n' }));
  expect(r4.status).toBe(200); // a spreadsheet's byte-order mark is not an error
  expect(recorded()).toBe(0);
});

test('hostile cells come back as text, not recorded; a credit naming no batch is only reported', async () => {
  const r = await rawRequest(counter.url, {
    method: 'POST',
    path: '/api/backoffice/payments/statement',
    headers: { Authorization: `Bearer ${counter.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      csv:
        HEADER +
        [
          '2025-06-20,10,"=HYPERLINK(""http://x.example"",""VIR"")"',
          '2025-06-20,10,"\u202eRIV\u202c CHIFA-DZ16-PH-00001-B1"',
          `2025-06-20,10,"${'x'.repeat(5000)}"`,
          '2025-06-20,"0,00",ZERO',
          '2025-06-20,-10,FRAIS',
          '2025-06-20,10,"multi\r\nline"',
        ].join('\r\n'),
    }),
  });
  if (typeof r === 'string') throw new Error(r);
  expect(r.status).toBe(200);
  const out = JSON.parse(r.text) as { recorded: unknown[]; unmatched: { line: number; reason: string; text: string }[] };
  expect(out.recorded).toEqual([]);
  expect(out.unmatched.map((u) => u.reason)).toEqual(['no-batch', 'no-batch', 'no-batch', 'not-a-credit', 'not-a-credit', 'no-batch']);
  expect(Math.max(...out.unmatched.map((u) => u.text.length))).toBeLessThanOrEqual(120);
  expect(recorded()).toBe(0);
});

test('a ";" statement as French and Algerian banks export it (TEST data): read; a bad cell names its line and column; a bad delimiter names delimiter', async () => {
  const csv =
    '\ufeffDate opération;Date valeur;Libellé;Débit;Crédit\r\n' +
    '01/07/2025;02/07/2025;"VIR RECU; CNAS";;"1 234,56"\r\n' +
    '03/07/2025;03/07/2025;FRAIS TENUE DE COMPTE;150,00;\r\n';
  const ok = await rawRequest(counter.url, {
    method: 'POST',
    path: '/api/backoffice/payments/statement',
    headers: { Authorization: `Bearer ${counter.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ csv, delimiter: ';' }),
  });
  if (typeof ok === 'string') throw new Error(ok);
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.text)).toMatchObject({
    recorded: [],
    unmatched: [
      { line: 2, reason: 'no-batch' },
      { line: 3, reason: 'not-a-credit' },
    ],
  });
  const badCell = await statement(csv.replace('150,00', '150,0,0'));
  expect(badCell).toMatchObject({
    status: 400,
    error: { field: 'csv', message: expect.stringMatching(/line 3, column 4 \(Débit\): the amount/) },
  });
  const wrong = await post(JSON.stringify({ csv, delimiter: '\t' }));
  expect(wrong).toMatchObject({ status: 400, error: { field: 'delimiter' } });
  const notSplit = await post(JSON.stringify({ csv, delimiter: ',' }));
  expect(notSplit).toMatchObject({ status: 400, error: { field: 'csv', message: expect.stringMatching(/line 1: no header/) } });
  expect(recorded()).toBe(0);
});

test('huge files: over the 64 KB body limit is 413 naming body; thousands of lines under it are read', async () => {
  const big = await statement(HEADER + '2025-06-20,10,VIR\r\n'.repeat(4000));
  expect({ status: big.status, field: big.error?.field }).toEqual({ status: 413, field: 'body' });
  const many = await statement(HEADER + '2025-06-20,10,V\r\n'.repeat(3000));
  expect(many.status).toBe(200);
  const lateBad = await statement(HEADER + '2025-06-20,10,V\r\n'.repeat(2999) + '2025-06-20,dix,V\r\n');
  expect(lateBad.error?.message).toMatch(/line 3001, column 2 \(montant\): the amount "dix"/);
  expect(recorded()).toBe(0);
});

test('nothing was logged as the counter failing', () => {
  expect(logs.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
});
