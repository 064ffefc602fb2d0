import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { parseFaults } from '../../src/fund/faults';
import { FundServer } from '../../src/fund/server';
import { loadRules } from '../../src/billing/rules/load';
import { computeSplit } from '../../src/billing/split';
import { draftFromSplit, type InvoiceDraft } from '../../src/sync/invoice';
import { Journal } from '../../src/sync/journal/journal';
import { writeRegisterEntries } from '../../src/sync/journal/register';
import { SCHEMA_VERSION } from '../../src/sync/journal/schema';
import { rebuildSummaries } from '../../src/sync/journal/summaries';
import { verifyJournal } from '../../src/sync/journal/verify';
import { Uploader } from '../../src/sync/uploader';
import { chifa } from '../cli/run-chifa';
import { credentials, onCleanup, sampleDraft, signer, tmpDir } from './helpers';

/**
 * The journal's back-office tables (schema 4): the summaries kept with every append (and equal to
 * what a rebuild from the signed invoices gives), the psychotropics register written only with
 * its invoice, a correction of an unsent invoice, and the fund's payment notice and bank payments
 * — with the reference fund rejecting an invoice and paying a batch short on purpose.
 */

const rules = loadRules();
const noSleep = { sleep: async () => undefined };

/** A chronic patient's dispensing with treatment durations (the refill forecast's input). */
function chronicDraft(
  date: string,
  card: string,
  lines: [string, number, number][],
  category: 'chronic' | 'ordinary' = 'chronic',
): InvoiceDraft {
  const basket = {
    date,
    lines: lines.map(([code, quantity]) => ({
      code,
      quantity,
      unitPrice: 10000,
      referencePrice: 9000,
      reimbursable: true,
      priorApproval: false,
    })),
  };
  const context = { category };
  return draftFromSplit({
    split: computeSplit(basket, rules, context),
    basket,
    context,
    fund: 'CNAS',
    beneficiary: { cardSerial: card, rank: 1 },
    details: lines.map(([code, , durationDays]) => ({ label: code, durationDays })),
  });
}

const dump = (j: Journal, table: string) => j.db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all();
const DERIVED = ['stats_day', 'stats_product_day', 'stats_product_month', 'batch_totals', 'supply_lines', 'supply_latest'];

function expectRebuildAgrees(j: Journal): void {
  const before = Object.fromEntries(DERIVED.map((t) => [t, dump(j, t)]));
  j.db.transaction(() => rebuildSummaries(j.db))();
  expect(Object.fromEntries(DERIVED.map((t) => [t, dump(j, t)]))).toEqual(before);
}

test('the summaries follow every append — invoices, a correction, a credit note — and equal a rebuild from the invoices', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 4 } }));
  const drafts = Array.from({ length: 7 }, (_, i) => sampleDraft(i, { date: `2024-03-${String(10 + (i % 3)).padStart(2, '0')}` }));
  await j.appendMany(drafts);
  const sum = (k: 'total' | 'fund' | 'patient') => drafts.reduce((n, d) => n + d.totals[k], 0);
  const totals = () =>
    j.db
      .prepare(
        'SELECT SUM(invoices) AS invoices, SUM(total) AS total, SUM(fund_amount) AS fund, SUM(patient_amount) AS patient FROM stats_day',
      )
      .get();
  expect(totals()).toEqual({ invoices: 7, total: sum('total'), fund: sum('fund'), patient: sum('patient') });
  // Per product, per day and per month, the same amounts.
  expect(j.db.prepare('SELECT SUM(total) FROM stats_product_day').pluck().get()).toBe(sum('total'));
  expect(j.db.prepare('SELECT SUM(total) FROM stats_product_month').pluck().get()).toBe(sum('total'));
  // Per batch, what the manifests claim: 4 + 3 invoices.
  expect(j.db.prepare('SELECT batch_id, invoices, fund_amount FROM batch_totals ORDER BY batch_id').all()).toEqual([
    { batch_id: 1, invoices: 4, fund_amount: drafts.slice(0, 4).reduce((n, d) => n + d.totals.fund, 0) },
    { batch_id: 2, invoices: 3, fund_amount: drafts.slice(4).reduce((n, d) => n + d.totals.fund, 0) },
  ]);

  // A correction of invoice 5 before sending (open batch) replaces it: the count and amounts stay.
  await j.correct(5, drafts[4]!, 'audit before closing', { beforeSending: true });
  expect(totals()).toEqual({ invoices: 7, total: sum('total'), fund: sum('fund'), patient: sum('patient') });
  // A credit note of invoice 7 takes it back whole.
  await j.creditNote(7);
  expect(totals()).toEqual({
    invoices: 6,
    total: sum('total') - drafts[6]!.totals.total,
    fund: sum('fund') - drafts[6]!.totals.fund,
    patient: sum('patient') - drafts[6]!.totals.patient,
  });
  expect(j.db.prepare('SELECT SUM(credits) FROM stats_day').pluck().get()).toBe(1);
  expectRebuildAgrees(j);
  expect(verifyJournal(j.file)).toMatchObject({ ok: true });
});

test('supplies of chronic patients: the latest per product, cancelled by a credit note', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1) }));
  await j.append(
    chronicDraft('2024-03-01', 'CARD-A', [
      ['A10BA02-01', 3, 90],
      ['C09AA02-01', 1, 30],
    ]),
  );
  await j.append(chronicDraft('2024-04-01', 'CARD-A', [['C09AA02-01', 1, 30]]));
  await j.append(chronicDraft('2024-04-02', 'CARD-B', [['C09AA02-01', 1, 30]], 'ordinary'));
  const latest = () =>
    j.db.prepare('SELECT card_serial, code, invoice_number, runs_out FROM supply_latest ORDER BY card_serial, code').all();
  expect(latest()).toEqual([
    { card_serial: 'CARD-A', code: 'A10BA02-01', invoice_number: 1, runs_out: '2024-05-30' },
    { card_serial: 'CARD-A', code: 'C09AA02-01', invoice_number: 2, runs_out: '2024-05-01' },
  ]);
  // Cancelling invoice 2 brings back invoice 1's supply of C09AA02-01.
  await j.creditNote(2);
  expect(latest()).toEqual([
    { card_serial: 'CARD-A', code: 'A10BA02-01', invoice_number: 1, runs_out: '2024-05-30' },
    { card_serial: 'CARD-A', code: 'C09AA02-01', invoice_number: 1, runs_out: '2024-03-31' },
  ]);
  expectRebuildAgrees(j);
});

test('the psychotropics register: written with its invoice only, never changed', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1) }));
  const line = {
    line: 0,
    counterfoil: 'SOUCHE-000123',
    code: 'N02AX02-01',
    brand: 'Topalgic',
    dci: 'Tramadol',
    strength: '50 mg',
    form: 'gélule, boîte de 20',
    controlledTable: 'II',
    quantity: 1,
    prescriber: 'DZ16-MD-10231',
    speciality: 'Médecine générale',
  };
  const draft = chronicDraft('2024-03-01', 'CARD-A', [['N02AX02-01', 1, 10]]);
  const inv = await j.append(
    { ...draft, prescription: { reference: 'SOUCHE-000123', counterfoil: 'SOUCHE-000123' } },
    {
      inCommit: (invoice, db) => writeRegisterEntries(db, invoice, [line], invoice.document.issuedAt),
    },
  );
  expect(j.db.prepare('SELECT invoice_number, counterfoil, dci, card_serial FROM psychotropic_register').all()).toEqual([
    { invoice_number: inv.number, counterfoil: 'SOUCHE-000123', dci: 'Tramadol', card_serial: 'CARD-A' },
  ]);
  // After the fact: refused, for this invoice as for an older one.
  await j.append(chronicDraft('2024-03-02', 'CARD-B', [['A10BA02-01', 1, 10]]));
  expect(() => writeRegisterEntries(j.db, inv, [{ ...line, line: 1 }], 'now')).toThrow(/written with its invoice/);
  expect(() => j.db.prepare("UPDATE psychotropic_register SET counterfoil = 'X'").run()).toThrow(/immutable/);
  expect(() => j.db.prepare('DELETE FROM psychotropic_register').run()).toThrow(/never deleted/);
  expect(verifyJournal(j.file)).toMatchObject({ ok: true });
  // Triggers dropped and an entry edited: journal verify sees both.
  j.db.exec("DROP TRIGGER psychotropic_register_no_update; UPDATE psychotropic_register SET counterfoil = 'SOUCHE-FAUX'");
  const report = verifyJournal(j.file);
  expect(report.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['trigger-missing', 'register-mismatch']));
  expect(report.problems.find((p) => p.code === 'register-mismatch')!.message).toMatch(
    /counterfoil "SOUCHE-FAUX", but invoice 1 says "SOUCHE-000123"/,
  );
  j.db.exec(`UPDATE psychotropic_register SET counterfoil = 'SOUCHE-000123';
    CREATE TRIGGER psychotropic_register_no_update BEFORE UPDATE ON psychotropic_register
    BEGIN SELECT RAISE(ABORT, 'journal: register entries are immutable'); END;`);
  // A hook that fails takes the invoice with it: nothing half-written.
  await expect(
    j.append(chronicDraft('2024-03-03', 'CARD-C', [['N02AX02-01', 1, 10]]), {
      inCommit: (invoice, db) => writeRegisterEntries(db, invoice, [{ ...line, counterfoil: '' }], 'now'),
    }),
  ).rejects.toThrow();
  expect(j.tip().number).toBe(2);
});

describe("the psychotropics register edited behind the journal's back", () => {
  const TRAMADOL = {
    counterfoil: 'SOUCHE-000200',
    code: 'N02AX02-01',
    brand: 'Topalgic',
    dci: 'Tramadol',
    strength: '50 mg',
    form: 'gélule, boîte de 20',
    controlledTable: 'II',
    quantity: 1,
  };
  let dir: string;
  let intact: string;

  /** A copy of the intact journal in its own data directory, changed by `sql` with a plain SQLite connection. */
  function tampered(name: string, sql: string): string {
    const data = path.join(dir, name);
    fs.mkdirSync(data);
    fs.copyFileSync(intact, path.join(data, 'journal.sqlite'));
    const db = new Database(path.join(data, 'journal.sqlite'));
    db.exec(sql);
    db.close();
    return data;
  }

  beforeAll(async () => {
    dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'intact'));
    intact = path.join(dir, 'intact', 'journal.sqlite');
    const j = Journal.open(intact, { signer: signer(1) });
    // Three dispensings of tramadol, the first with metformin on the same invoice (line 1, not controlled).
    for (const [day, card, lines] of [
      [
        '2024-03-01',
        'CARD-A',
        [
          ['N02AX02-01', 1, 10],
          ['A10BA02-01', 2, 30],
        ],
      ],
      ['2024-03-02', 'CARD-B', [['N02AX02-01', 1, 10]]],
      ['2024-03-03', 'CARD-C', [['N02AX02-01', 1, 10]]],
    ] as [string, string, [string, number, number][]][]) {
      const counterfoil = `SOUCHE-${card}`;
      await j.append(
        { ...chronicDraft(day, card, lines), prescription: { reference: counterfoil, counterfoil } },
        {
          inCommit: (invoice, db) => writeRegisterEntries(db, invoice, [{ ...TRAMADOL, line: 0, counterfoil }], invoice.document.issuedAt),
        },
      );
    }
    // The triggers refuse any change, whoever asks.
    expect(() => j.db.prepare('UPDATE psychotropic_register SET quantity = 2 WHERE seq = 2').run()).toThrow(
      /register entries are immutable/,
    );
    expect(() => j.db.prepare('DELETE FROM psychotropic_register WHERE seq = 2').run()).toThrow(/register entries are never deleted/);
    expect(() =>
      j.db
        .prepare(
          "INSERT INTO psychotropic_register SELECT 4, invoice_number, 1, day, recorded_at, card_serial, insured_id, rank, insured_name, beneficiary_name, prescriber, speciality, prescription_ref, prescription_date, counterfoil, 'A10BA02-01', brand, dci, strength, form, controlled_table, 2, lot FROM psychotropic_register WHERE seq = 1",
        )
        .run(),
    ).toThrow(/written with its invoice/);
    await j.close();
    const external = new Database(intact);
    expect(() => external.exec('DELETE FROM psychotropic_register')).toThrow(/never deleted/);
    external.close();
    expect(verifyJournal(intact)).toMatchObject({ ok: true, problems: [] });
  });

  const problems = (data: string) => verifyJournal(path.join(data, 'journal.sqlite')).problems.map((p) => `${p.code}: ${p.message}`);

  test('an entry edited (its trigger dropped): the quantity no longer that of the signed invoice', () => {
    const data = tampered(
      'edited',
      'DROP TRIGGER psychotropic_register_no_update; UPDATE psychotropic_register SET quantity = 3 WHERE seq = 2',
    );
    expect(problems(data)).toEqual([
      'trigger-missing: immutability trigger psychotropic_register_no_update is missing',
      'register-mismatch: register entry 2: quantity 3, but invoice 2 says 1',
    ]);
  });

  test('an entry deleted (its trigger dropped): the gap in the entries', () => {
    const data = tampered('deleted', 'DROP TRIGGER psychotropic_register_no_delete; DELETE FROM psychotropic_register WHERE seq = 2');
    expect(problems(data)).toEqual([
      'trigger-missing: immutability trigger psychotropic_register_no_delete is missing',
      'register-mismatch: invoice 2 (counterfoil "SOUCHE-CARD-B"): no register entry (deleted)',
      'register-mismatch: register entry 3: entry 2 is missing (deleted)',
    ]);
  });

  test('the very last entry deleted: its invoice carries a counterfoil serial and has no entry', () => {
    const data = tampered('last', 'DROP TRIGGER psychotropic_register_no_delete; DELETE FROM psychotropic_register WHERE seq = 3');
    expect(problems(data)).toEqual([
      'trigger-missing: immutability trigger psychotropic_register_no_delete is missing',
      'register-mismatch: invoice 3 (counterfoil "SOUCHE-CARD-C"): no register entry (deleted)',
    ]);
  });

  test("with the catalogue's controlled products, every controlled line of an invoice with a counterfoil serial needs its entry", () => {
    expect(verifyJournal(intact, { controlled: new Set(['N02AX02-01']) })).toMatchObject({ ok: true, problems: [] });
    // Were metformin (line 1 of invoice 1) controlled too, its entry would be missing.
    expect(verifyJournal(intact, { controlled: new Set(['N02AX02-01', 'A10BA02-01']) }).problems).toEqual([
      {
        code: 'register-mismatch',
        number: 1,
        message: 'invoice 1 (counterfoil "SOUCHE-CARD-A"): no register entry for line 1 (A10BA02-01, a controlled product) (deleted)',
      },
    ]);
  });

  test('an entry slipped in later for an older invoice, agreeing with it line for line', () => {
    const data = tampered(
      'added',
      `DROP TRIGGER psychotropic_register_with_invoice;
       INSERT INTO psychotropic_register SELECT 4, invoice_number, 1, day, recorded_at, card_serial, insured_id, rank, insured_name,
         beneficiary_name, prescriber, speciality, prescription_ref, prescription_date, counterfoil, 'A10BA02-01', brand, dci, strength,
         form, controlled_table, 2, lot FROM psychotropic_register WHERE seq = 1`,
    );
    expect(problems(data)).toEqual([
      'trigger-missing: immutability trigger psychotropic_register_with_invoice is missing',
      'register-mismatch: register entry 4: written for invoice 1 after entry 3 of invoice 3',
    ]);
  });

  test('a trigger rewritten to let changes through', () => {
    const data = tampered(
      'defused',
      `DROP TRIGGER psychotropic_register_no_update;
       CREATE TRIGGER psychotropic_register_no_update BEFORE UPDATE ON psychotropic_register BEGIN SELECT 1; END;
       UPDATE psychotropic_register SET counterfoil = 'SOUCHE-FAUX' WHERE seq = 1`,
    );
    expect(problems(data)).toEqual([
      'trigger-altered: immutability trigger psychotropic_register_no_update no longer aborts',
      'register-mismatch: register entry 1: counterfoil "SOUCHE-FAUX", but invoice 1 says "SOUCHE-CARD-A"',
    ]);
  });

  test('`chifa journal verify` says so and exits 1; the intact journal is OK', async () => {
    const ok = await chifa(['journal', 'verify', '--data', path.dirname(intact)], dir);
    expect({ code: ok.code, out: ok.stdout }).toEqual({ code: 0, out: expect.stringMatching(/^journal OK: .*3 invoices/s) });
    const data = tampered(
      'cli',
      'DROP TRIGGER psychotropic_register_no_update; UPDATE psychotropic_register SET quantity = 3 WHERE seq = 2',
    );
    const broken = await chifa(['journal', 'verify', '--data', data], dir);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^journal BROKEN: /);
    expect(broken.stdout).toContain('- trigger-missing: immutability trigger psychotropic_register_no_update is missing');
    expect(broken.stdout).toContain('- register-mismatch: register entry 2: quantity 3, but invoice 2 says 1');
    expect(broken.stdout).toContain('Nothing was changed.');
    const last = tampered('cli-last', 'DROP TRIGGER psychotropic_register_no_delete; DELETE FROM psychotropic_register WHERE seq = 3');
    const gone = await chifa(['journal', 'verify', '--data', last], dir);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain('- register-mismatch: invoice 3 (counterfoil "SOUCHE-CARD-C"): no register entry (deleted)');
  });
});

test('a correction before sending: only for an invoice of the open batch', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 2 } }));
  await j.appendMany([sampleDraft(1), sampleDraft(2), sampleDraft(3)]);
  // Invoice 1 is in a closed batch (not acknowledged): no; invoice 3 is in the open batch: yes.
  await expect(j.correct(1, sampleDraft(1), 'x', { beforeSending: true })).rejects.toMatchObject({ code: 'not-rejected' });
  await expect(j.correct(3, sampleDraft(3))).rejects.toMatchObject({ code: 'not-rejected' });
  const c = await j.correct(3, sampleDraft(3), 'audit', { beforeSending: true });
  expect(c.document).toMatchObject({ kind: 'corrected-invoice', references: { number: 3, reason: 'audit' } });
  await expect(j.correct(3, sampleDraft(3), 'x', { beforeSending: true })).rejects.toMatchObject({ code: 'already-corrected' });
});

test('two corrections of one invoice queued together: the journal signs one, refuses the other at commit', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1) }));
  await j.appendMany([sampleDraft(1), sampleDraft(2)]);
  // Both pass the check before queueing (neither is written yet); the commit sees the first.
  const both = await Promise.allSettled([
    j.correct(2, sampleDraft(2), 'a', { beforeSending: true }),
    j.correct(2, sampleDraft(2), 'b', { beforeSending: true }),
  ]);
  expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  expect((both[1] as PromiseRejectedResult).reason).toMatchObject({
    code: 'already-corrected',
    message: 'invoice 2 was already corrected by invoice 3',
  });
  expect(j.db.prepare("SELECT number, ref_number FROM invoices WHERE kind = 'corrected-invoice'").all()).toEqual([
    { number: 3, ref_number: 2 },
  ]);
  expect(j.tip().number).toBe(3);
  expect(verifyJournal(j.file)).toMatchObject({ ok: true });
});

test('a journal of schema 3 gains the back-office tables on open, its summaries computed from its invoices', async () => {
  const file = path.join(tmpDir(), 'journal.sqlite');
  const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 3 } });
  await j.appendMany(Array.from({ length: 5 }, (_, i) => sampleDraft(i)));
  const expected = Object.fromEntries(DERIVED.map((t) => [t, dump(j, t)]));
  j.db.exec(`
    DROP TRIGGER psychotropic_register_no_update; DROP TRIGGER psychotropic_register_no_delete; DROP TRIGGER psychotropic_register_with_invoice;
    DROP TRIGGER payment_notices_no_update; DROP TRIGGER payment_notices_no_delete; DROP TRIGGER bank_payments_no_update; DROP TRIGGER bank_payments_no_delete;
    DROP TABLE psychotropic_register; DROP TABLE payment_notices; DROP TABLE bank_payments;
    DROP TABLE stats_day; DROP TABLE stats_product_day; DROP TABLE stats_product_month; DROP TABLE batch_totals;
    DROP TABLE supply_lines; DROP TABLE supply_latest; DROP INDEX invoices_card_day;
    UPDATE meta SET value = '3' WHERE key = 'schema_version';`);
  await j.close();
  expect(verifyJournal(file)).toMatchObject({ ok: true, invoices: 5 });
  const v4 = onCleanup(Journal.open(file));
  expect(v4.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(SCHEMA_VERSION));
  expect(Object.fromEntries(DERIVED.map((t) => [t, dump(v4, t)]))).toEqual(expected);
  expect(verifyJournal(file)).toMatchObject({ ok: true });
});

test('the fund rejects invoice 2 and pays batch 1 short: the payment notice explains it invoice by invoice', async () => {
  const dir = tmpDir();
  const fund = onCleanup(
    new FundServer({
      dataDir: path.join(dir, 'fund'),
      verifyThreads: 0,
      downlinkRecheckMs: 0,
      faults: parseFaults('reject-invoice=2:PRESCRIPTION_MISSING,short-pay=1:1234'),
    }),
  );
  const url = await fund.listen();
  const j = onCleanup(Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 4 } }));
  const drafts = Array.from({ length: 4 }, (_, i) => sampleDraft(i));
  await j.appendMany(drafts);
  await j.whenIdle();
  const summary = await new Uploader(j, { fund: url, ...credentials(1), ...noSleep }).runOnce();
  expect(summary).toMatchObject({ error: null, batches: 1, rejected: 1, settledBatches: 1, paymentNotices: 1 });
  expect(j.rejectedInvoices()).toEqual([expect.objectContaining({ number: 2, code: 'PRESCRIPTION_MISSING' })]);
  expect(j.rejectedInvoices()[0]!.reason).toMatch(/reject-invoice=2:PRESCRIPTION_MISSING/);

  const accepted = drafts.filter((_, i) => i !== 1).reduce((n, d) => n + d.totals.fund, 0);
  const notice = j.paymentNotice(1)!;
  expect(notice).toMatchObject({ batchId: 1, accepted, paid: accepted - 1234, transferReference: 'CHIFA-DZ16-PH-00001-B1' });
  // Kept back on the invoice with the largest fund share (not the rejected one).
  const largest = drafts
    .map((d, i) => ({ n: i + 1, fund: d.totals.fund }))
    .filter((x) => x.n !== 2)
    .sort((a, b) => b.fund - a.fund || a.n - b.n)[0]!;
  expect(notice.adjustments).toEqual([expect.objectContaining({ number: largest.n, amount: 1234, code: 'PAYMENT_ADJUSTED' })]);
  expect(j.batch(1)).toMatchObject({ state: 'settled', paid: accepted - 1234 });
  // The signed notice is kept as received.
  expect(j.db.prepare('SELECT jws FROM payment_notices WHERE batch_id = 1').pluck().get()).toMatch(/^ey/);
  // Asked again: nothing new.
  expect(await new Uploader(j, { fund: url, ...credentials(1), ...noSleep }).runOnce()).toMatchObject({ error: null, paymentNotices: 0 });

  // The bank statement's line, recorded once however often it is imported.
  const line = {
    batchId: 1,
    amount: accepted - 1234,
    valueDate: '2024-04-02',
    reference: notice.transferReference,
    source: 'statement' as const,
  };
  expect(j.recordBankPayments([line]).recorded).toHaveLength(1);
  expect(j.recordBankPayments([line])).toEqual({ recorded: [], duplicates: [line] });
  expect(j.bankPayments(1)).toEqual([expect.objectContaining({ amount: accepted - 1234, seq: 1 })]);
  expect(() => j.db.prepare('UPDATE bank_payments SET amount = 0').run()).toThrow(/immutable/);

  expect(() => j.recordBankPayments([{ ...line, batchId: 9 }])).toThrow(/no batch 9/);
});

test('a payment notice that does not add up is refused and not recorded', async () => {
  const j = onCleanup(Journal.open(path.join(tmpDir(), 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 2 } }));
  const inv = await j.appendMany([sampleDraft(1), sampleDraft(2)]);
  const results = inv.map((i) => ({ number: i.number, hash: i.hash, status: 'accepted' as const }));
  const paid = inv.reduce((n, i) => n + i.document.totals.fund, 0);
  const b = j.batch(1)!;
  j.recordAck(1, {
    pharmacyId: 'DZ16-PH-00001',
    batchId: 1,
    idempotencyKey: b.idempotencyKey!,
    receivedAt: 'now',
    complete: true,
    state: 'acknowledged',
    count: 2,
    accepted: 2,
    rejected: 0,
    paid,
    results,
  });
  const notice = {
    pharmacyId: 'DZ16-PH-00001',
    batchId: 1,
    idempotencyKey: b.idempotencyKey!,
    settledAt: '2024-04-01T00:00:00.000Z',
    accepted: paid,
    paid: paid - 100,
    transferReference: 'T1',
    adjustments: [{ number: 1, hash: inv[0]!.hash, amount: 99, code: 'X', reason: 'y' }],
  };
  const proof = { jws: 'jws', certificate: Buffer.from('cert') };
  expect(() => j.recordPaymentNotice(1, notice, proof)).toThrow(/does not|less 99/);
  expect(() =>
    j.recordPaymentNotice(1, { ...notice, adjustments: [{ ...notice.adjustments[0]!, amount: 100, hash: '0'.repeat(64) }] }, proof),
  ).toThrow(/not in batch 1/);
  expect(j.paymentNotice(1)).toBeNull();
  expect(j.recordPaymentNotice(1, { ...notice, adjustments: [{ ...notice.adjustments[0]!, amount: 100 }] }, proof)).toBe(true);
  expect(j.recordPaymentNotice(1, notice, proof)).toBe(false);
  expect(j.batch(1)).toMatchObject({ state: 'settled', paid: paid - 100 });
});
