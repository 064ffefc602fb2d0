import { parseCsv } from '../../../src/billing/catalogue/csv';
import { verifyJournal } from '../../../src/sync/journal/verify';
import { journalPath } from '../../../src/pos/counter/journal';
import * as path from 'node:path';
import { CHRONIC_CARD, line, openBackofficeBed, REJECTED, sellScenario, SHORT_PAY, type BackofficeBed } from './harness';

/**
 * The back office's API over real checkouts and the reference fund (which rejects invoice 2 and
 * pays batch 1 short): the bordereau's gap explained to the centime and reconciled with a bank
 * statement, a reject corrected and recycled until the fund accepts it, the audit before closing
 * finding an invoice the fund would reject and its correction, the statistics, the psychotropics
 * register with its counterfoil serial, the refill forecast, the CSV exports and the errors.
 */

let bed: BackofficeBed;
let sold: number[];

beforeAll(async () => {
  bed = await openBackofficeBed();
  sold = await sellScenario(bed);
});

afterAll(async () => {
  await bed?.close();
});

test('a controlled product without the counterfoil serial is refused, naming the field; nothing is signed', async () => {
  const before = (await bed.api('GET', '/sync/backlog')).json.invoices;
  const r = await bed.api('POST', '/checkout', { beneficiary: 1, lines: [line('N05BA12-01', 1, 10)] });
  expect(r.status).toBe(400);
  expect(r.json.error).toMatchObject({ code: 'invalid-input', field: 'counterfoil' });
  expect(r.json.error.message).toMatch(/controlled table III/);
  // And a serial with no controlled product: the register's entries go with the invoices that carry one.
  const r2 = await bed.api('POST', '/checkout', { beneficiary: 1, lines: [line('A10BA02-01', 1, 30)], counterfoil: 'SOUCHE-1' });
  expect(r2.status).toBe(400);
  expect(r2.json.error).toMatchObject({
    code: 'invalid-input',
    field: 'counterfoil',
    message: expect.stringMatching(/no product of a controlled table/),
  });
  expect((await bed.api('GET', '/sync/backlog')).json.invoices).toBe(before);
});

test('the register lists the tramadol dispensing with its counterfoil serial, prescriber and patient', async () => {
  const r = await bed.api('GET', '/backoffice/register?from=2025-06-01&to=2025-06-30');
  expect(r.status).toBe(200);
  expect(r.json.entries).toEqual([
    expect.objectContaining({
      day: '2025-06-05',
      invoice: sold[2],
      counterfoil: 'SOUCHE-2025-000123',
      dci: 'Tramadol',
      brand: 'Topalgic',
      strength: '50 mg',
      table: 'II',
      quantity: 1,
      insuredName: 'HADDAD Fatima Zohra',
      beneficiaryName: 'HADDAD Fatima Zohra',
      prescriber: 'Dr K. Meziane, psychiatre',
      insuredId: '********5210',
      cancelledBy: null,
    }),
  ]);
  // The serial is on the signed invoice too.
  const receipt = await bed.api('GET', `/invoices/${sold[2]}/receipt`);
  expect(receipt.status).toBe(200);
  const doc = bed.counter.service.journal.invoice(sold[2]!)!.document;
  expect(doc.prescription).toMatchObject({ reference: 'SOUCHE-2025-000123', counterfoil: 'SOUCHE-2025-000123' });
  const csv = await bed.api('GET', '/backoffice/register?from=2025-06-01&to=2025-06-30&format=csv');
  expect(csv.type).toMatch(/^text\/csv/);
  expect(csv.text.startsWith('\ufeffseq,date,invoice,counterfoil')).toBe(true);
  expect(csv.text).toContain('SOUCHE-2025-000123');
});

test('statistics per day and month, per category and DCI, fund against patient, refusals by reason', async () => {
  const r = await bed.api('GET', '/backoffice/stats?from=2025-06-01&to=2025-06-30&period=day');
  expect(r.status).toBe(200);
  const s = r.json;
  expect(s.totals.invoices).toBe(5);
  expect(s.series.map((p: { period: string }) => p.period)).toEqual(['2025-06-02', '2025-06-03', '2025-06-05', '2025-06-09', '2025-06-10']);
  expect(s.totals.fund + s.totals.patient).toBe(s.totals.total);
  expect(s.categories.map((c: { category: string }) => c.category).sort()).toEqual(['chronic', 'ordinary', 'retiree']);
  expect(s.refusals).toEqual([expect.objectContaining({ reason: 'nothing-covered', invoices: 1 })]);
  expect(s.dcis.map((d: { dci: string }) => d.dci)).toEqual(expect.arrayContaining(['Metformine', 'Tramadol', 'Paracétamol']));
  const month = (await bed.api('GET', '/backoffice/stats?from=2025-01-01&to=2025-12-31&period=month')).json;
  expect(month.series).toEqual([expect.objectContaining({ period: '2025-06', invoices: 5, total: s.totals.total })]);
  // Whole months from the monthly table, the ends from the daily one: the same products.
  const odd = (await bed.api('GET', '/backoffice/stats?from=2025-05-15&to=2025-07-10')).json;
  expect(odd.products).toEqual(s.products);
  const week = (await bed.api('GET', '/backoffice/stats?from=2025-06-01&to=2025-06-30&period=week')).json;
  expect(week.series.map((p: { period: string }) => p.period)).toEqual(['2025-06-02', '2025-06-09']);
  const csv = await bed.api('GET', '/backoffice/stats?from=2025-06-01&to=2025-06-30&format=csv&table=dcis');
  expect(csv.text.split('\r\n')[0]).toBe('\ufeffdci,products,lines,quantity,total,fund,patient');
});

test('the refill forecast: the chronic patient’s supplies running out within 7 days, and her history by DCI', async () => {
  bed.setDay('2025-06-15');
  const r = await bed.api('GET', '/backoffice/refills?days=7');
  expect(r.status).toBe(200);
  expect(r.json.today).toBe('2025-06-15');
  // Tramadol: 2025-06-05 + 10 days (today); atorvastatin: 06-10 + 10; enalapril: 06-02 + 20.
  // Metformin (30 days) runs out on 07-02, later.
  expect(r.json.refills.map((x: { code: string; runsOut: string; daysLeft: number }) => [x.code, x.runsOut, x.daysLeft])).toEqual([
    ['N02AX02-01', '2025-06-15', 0],
    ['C10AA05-01', '2025-06-20', 5],
    ['C09AA02-01', '2025-06-22', 7],
  ]);
  expect(r.json.refills[1]).toMatchObject({ cardSerial: CHRONIC_CARD, rank: 1, dci: 'Atorvastatine' });
  const h = await bed.api('GET', `/backoffice/patients/${CHRONIC_CARD}/1/history`);
  expect(h.json.dcis.map((d: { dci: string }) => d.dci).sort()).toEqual(['Atorvastatine', 'Metformine', 'Tramadol', 'Énalapril'].sort());
});

test('batch 1 closed and sent: invoice 2 rejected, the batch paid short; the gap explained to the centime, then reconciled', async () => {
  bed.setDay('2025-06-11');
  const job = await bed.closeAndSend();
  expect(job).toMatchObject({ state: 'done', closed: { batchId: 1, from: 1, to: 5, signed: true }, error: null });

  const list = await bed.api('GET', '/backoffice/batches');
  const b = list.json.batches[0];
  const docs = sold.map((n) => bed.counter.service.journal.invoice(n)!.document);
  const claimed = docs.reduce((n, d) => n + d.totals.fund, 0);
  const rejectedFund = docs[REJECTED - 1]!.totals.fund;
  expect(rejectedFund).toBeGreaterThan(0);
  expect(b).toMatchObject({
    id: 1,
    state: 'settled',
    count: 5,
    rejected: 1,
    claim: expect.objectContaining({ claimed, invoices: 5 }),
    due: claimed - rejectedFund - SHORT_PAY,
    received: 0,
    gap: claimed,
    transferReference: 'CHIFA-DZ16-PH-00001-B1',
  });

  const detail = (await bed.api('GET', '/backoffice/batches/1')).json;
  expect(detail.explanation.lines).toEqual([
    expect.objectContaining({ kind: 'rejected', number: REJECTED, amount: rejectedFund, code: 'PRESCRIPTION_MISSING' }),
    expect.objectContaining({ kind: 'adjustment', amount: SHORT_PAY, code: 'PAYMENT_ADJUSTED' }),
    { kind: 'not-received', amount: claimed - rejectedFund - SHORT_PAY },
  ]);
  const sum = (lines: { amount: number }[]) => lines.reduce((n, l) => n + l.amount, 0);
  expect(sum(detail.explanation.lines)).toBe(detail.explanation.gap);
  expect(detail.invoices.find((i: { number: number }) => i.number === REJECTED)).toMatchObject({
    status: 'rejected',
    cardSerial: '***********4711',
  });

  // The bank statement: the fund's transfer (matched by its reference), and a line that is not ours.
  const due = claimed - rejectedFund - SHORT_PAY;
  const amount = `${Math.floor(due / 100)},${String(due % 100).padStart(2, '0')}`;
  const statement = [
    'Date valeur,Libellé,Montant',
    `12/06/2025,VIR CNAS CHIFA-DZ16-PH-00001-B1 REGLEMENT,"${amount}"`,
    '12/06/2025,VIR LOYER,"-50000,00"',
    '13/06/2025,VIR CLIENT X,"100,00"',
  ].join('\n');
  const imported = await bed.api('POST', '/backoffice/payments/statement', { csv: statement });
  expect(imported.status).toBe(200);
  expect(imported.json.recorded).toEqual([
    expect.objectContaining({ batchId: 1, amount: due, valueDate: '2025-06-12', source: 'statement' }),
  ]);
  expect(imported.json.unmatched.map((u: { reason: string }) => u.reason)).toEqual(['not-a-credit', 'no-batch']);
  // Imported twice: recorded once.
  expect((await bed.api('POST', '/backoffice/payments/statement', { csv: statement })).json.duplicates).toHaveLength(1);

  const after = (await bed.api('GET', '/backoffice/batches/1')).json;
  expect(after.explanation).toEqual({
    claimed,
    received: due,
    gap: rejectedFund + SHORT_PAY,
    lines: [
      expect.objectContaining({ kind: 'rejected', amount: rejectedFund }),
      expect.objectContaining({ kind: 'adjustment', amount: SHORT_PAY }),
    ],
  });
  // A payment typed by hand, then corrected by a negative entry: the gap comes back the same.
  expect(
    (await bed.api('POST', '/backoffice/payments', { batchId: 1, amount: 500, valueDate: '2025-06-14', reference: 'espèces' })).status,
  ).toBe(201);
  expect(
    (await bed.api('POST', '/backoffice/payments', { batchId: 1, amount: -500, valueDate: '2025-06-14', reference: 'correction' })).status,
  ).toBe(201);
  expect((await bed.api('GET', '/backoffice/batches/1')).json.explanation.gap).toBe(rejectedFund + SHORT_PAY);
  const gapCsv = await bed.api('GET', '/backoffice/batches/1?format=csv&table=gap');
  expect(gapCsv.text.split('\r\n').slice(0, 2)).toEqual(['\ufeffkind,invoice,amount,code,reason', `claimed,,${claimed},,`]);
});

test('the reject corrected on the professional card and recycled from the page, until the fund accepts it', async () => {
  const rejects = (await bed.api('GET', '/backoffice/rejects')).json;
  expect(rejects.rejects).toEqual([expect.objectContaining({ number: REJECTED, code: 'PRESCRIPTION_MISSING', state: 'to-correct' })]);
  expect(rejects.counts).toMatchObject({ rejected: 1, toCorrect: 1 });
  // The pharmacist's card pulled: nothing signed.
  bed.station.cards.professional.remove();
  expect((await bed.api('POST', `/backoffice/invoices/${REJECTED}/correct`, {})).status).toBe(409);
  bed.station.cards.professional.insert();
  expect((await bed.api('POST', '/professional/verify', { pin: '0000' })).status).toBe(200);

  const c = await bed.api('POST', `/backoffice/invoices/${REJECTED}/correct`, { reason: 'ordonnance jointe' });
  expect(c.status).toBe(201);
  expect(c.json).toMatchObject({ references: REJECTED, beforeSending: false });
  expect((await bed.api('GET', '/backoffice/rejects')).json.rejects[0]).toMatchObject({
    state: 'corrected',
    correction: { number: c.json.number },
  });
  expect((await bed.api('POST', `/backoffice/invoices/${REJECTED}/correct`, {})).json.error.code).toBe('already-corrected');

  expect(await bed.closeAndSend()).toMatchObject({ state: 'done', closed: { batchId: 2 }, error: null });
  expect((await bed.api('GET', '/backoffice/rejects')).json.rejects[0]).toMatchObject({ number: REJECTED, state: 'accepted' });
  expect((await bed.api('GET', '/backoffice/rejects?pending=1')).json.rejects).toEqual([]);
});

test('the audit before closing finds an invoice the fund would reject; its correction in the same batch is accepted', async () => {
  bed.setDay('2025-06-16');
  const inv = await bed.checkout({ beneficiary: 1, lines: [line('A10BA02-01', 1, 30)] });
  expect(inv.invoice.totals.fund).toBeGreaterThan(0);
  expect((await bed.api('GET', '/backoffice/audit')).json).toMatchObject({ findings: [], atRisk: 0 });
  // The fund blacklists the card from that day; the counter learns it at its next sync.
  bed.blacklist('2025-06-16');
  await bed.counter.sync!.runNow();
  const audit = (await bed.api('GET', '/backoffice/audit')).json;
  expect(audit.findings).toEqual([
    expect.objectContaining({
      number: inv.invoice.number,
      code: 'BLACKLISTED_CARD',
      severity: 'reject',
      correctable: true,
      correctedBy: null,
    }),
  ]);
  expect(audit.atRisk).toBe(inv.invoice.totals.fund);
  const c = await bed.api('POST', `/backoffice/invoices/${inv.invoice.number}/correct`, {});
  expect(c.status).toBe(201);
  expect(c.json).toMatchObject({ beforeSending: true, totals: { fund: 0 } });
  const again = (await bed.api('GET', '/backoffice/audit')).json;
  expect(again.findings).toEqual([expect.objectContaining({ code: 'BLACKLISTED_CARD', correctable: false, correctedBy: c.json.number })]);
  expect(again.atRisk).toBe(0);
  expect((await bed.closeAndSend()).state).toBe('done');
  const detail = (await bed.api('GET', `/backoffice/batches/${c.json.batchId}`)).json;
  expect(detail.invoices.map((i: { number: number; status: string; code: string | null }) => [i.number, i.status, i.code])).toEqual([
    [inv.invoice.number, 'rejected', 'BLACKLISTED_CARD'],
    [c.json.number, 'accepted', null],
  ]);
});

test('bad requests are 400s naming the field; unknown batches and invoices 404', async () => {
  const bad = async (p: string, field: string, method: 'GET' | 'POST' = 'GET', body?: unknown) => {
    const r = await bed.api(method, p, body);
    expect({ p, status: r.status, field: r.json.error.field }).toEqual({ p, status: 400, field });
  };
  await bad('/backoffice/stats?from=2025-06-10&to=2025-06-01', 'to');
  await bad('/backoffice/stats?from=2025-02-30&to=2025-06-01', 'from');
  await bad('/backoffice/stats?from=2025-06-01&to=2025-06-30&period=fortnight', 'period');
  await bad('/backoffice/stats?from=2025-06-01&to=2025-06-30&colour=red', 'colour');
  await bad('/backoffice/refills?days=500', 'days');
  await bad('/backoffice/batches?limit=x', 'limit');
  await bad('/backoffice/batches/abc', 'id');
  await bad('/backoffice/patients/CH2/0/history', 'rank');
  await bad('/backoffice/payments', 'amount', 'POST', { batchId: 1, amount: 0, valueDate: '2025-06-01', reference: 'x' });
  await bad('/backoffice/payments', 'reference', 'POST', { batchId: 1, amount: 10, valueDate: '2025-06-01', reference: 'a\u202eb' });
  await bad('/backoffice/payments/statement', 'csv', 'POST', { csv: 'date,montant\n2025-01-01,1' });
  await bad('/backoffice/invoices/1/correct', 'counterfoil', 'POST', { counterfoil: '' });
  expect((await bed.api('GET', '/backoffice/batches/999')).status).toBe(404);
  expect((await bed.api('POST', '/backoffice/invoices/999/correct', {})).status).toBe(404);
  expect(
    (await bed.api('POST', '/backoffice/payments', { batchId: 999, amount: 10, valueDate: '2025-06-01', reference: 'x' })).status,
  ).toBe(404);
  // An invoice neither rejected nor in the open batch cannot be corrected.
  expect((await bed.api('POST', '/backoffice/invoices/1/correct', {})).json.error.code).toBe('not-rejected');
});

test('bank entries beyond what a bordereau is paid: one too large is 400 on amount; a statement adding up too far is refused whole', async () => {
  const received = async () => (await bed.api('GET', '/backoffice/batches/1')).json.explanation.received as number;
  const before = await received();
  const r = await bed.api('POST', '/backoffice/payments', { batchId: 1, amount: 100_000_000_001, valueDate: '2025-06-01', reference: 'x' });
  expect({ status: r.status, field: r.json.error.field }).toEqual({ status: 400, field: 'amount' });
  const huge = await bed.api('POST', '/backoffice/payments/statement', {
    csv: 'date;montant;libellé\n2025-06-20;2 000 000 000,00;VIR CHIFA-DZ16-PH-00001-B1\n',
  });
  expect(huge).toMatchObject({
    status: 400,
    json: { error: { field: 'csv', message: expect.stringMatching(/line 2, column 2 .*more than a bank entry/) } },
  });
  // 101 entries of 1,000,000,000 DA, each allowed alone: together more than a batch's entries may add up to.
  const days = Array.from({ length: 101 }, (_, i) => new Date(Date.UTC(2025, 6, 1) + i * 86_400_000).toISOString().slice(0, 10));
  const many = await bed.api('POST', '/backoffice/payments/statement', {
    csv: ['date;montant;libellé', ...days.map((d) => `${d};1 000 000 000,00;VIR CHIFA-DZ16-PH-00001-B1`)].join('\n'),
  });
  expect({ status: many.status, code: many.json.error.code, field: many.json.error.field }).toEqual({
    status: 409,
    code: 'payment-too-large',
    field: 'amount',
  });
  expect(await received()).toBe(before);
});

test('the exports with `,` or `;` between fields: a cell holding both, a quote and Arabic reads back whole, a formula defused', async () => {
  bed.setDay('2025-07-15');
  const prescriber = 'د. "كمال" مزيان; psychiatre, Alger';
  // A serial holding only the separator: quoted because of it alone.
  const counterfoil = '=2;3';
  const sale = await bed.checkout({ beneficiary: 1, counterfoil, prescriber, lines: [line('N02AX02-01', 1, 10)] });
  const query = '/backoffice/register?from=2025-07-15&to=2025-07-15&format=csv';
  for (const [delimiter, separator] of [
    [undefined, ','],
    ['comma', ','],
    ['semicolon', ';'],
  ] as const) {
    const r = await bed.api('GET', delimiter === undefined ? query : `${query}&delimiter=${delimiter}`);
    expect({ delimiter, status: r.status, type: r.type }).toEqual({ delimiter, status: 200, type: 'text/csv; charset=utf-8' });
    expect(r.text.startsWith(['\ufeffseq', 'date', 'invoice', 'counterfoil'].join(separator))).toBe(true);
    const { records, errors } = parseCsv(r.text, { delimiter: separator });
    expect(errors).toEqual([]);
    const [header, ...rows] = records.map((x) => x.fields);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveLength(header!.length);
    expect(Object.fromEntries(header!.map((h, i) => [h, rows[0]![i]]))).toMatchObject({
      invoice: String(sale.invoice.number),
      counterfoil: `'${counterfoil}`,
      prescriber,
      insured: 'HADDAD Fatima Zohra',
    });
  }
  for (const bad of ['tab', ';', 'SEMICOLON', ''])
    expect((await bed.api('GET', `${query}&delimiter=${encodeURIComponent(bad)}`)).json.error).toMatchObject({
      code: 'invalid-input',
      field: 'delimiter',
    });
  expect((await bed.api('GET', `${query}&delimiter=comma&delimiter=semicolon`)).json.error).toMatchObject({ field: 'delimiter' });
});

test('the journal still verifies after all this', () => {
  const report = verifyJournal(journalPath(path.join(bed.dir, 'counter')));
  expect({ ok: report.ok, problems: report.problems }).toEqual({ ok: true, problems: [] });
});
