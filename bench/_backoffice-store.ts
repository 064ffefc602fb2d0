import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCatalogueCsv } from '../src/billing/catalogue/import';
import type { Product } from '../src/billing/catalogue/product';
import { loadRules } from '../src/billing/rules/load';
import { computeSplit, type SplitLine } from '../src/billing/split';
import { addDays } from '../src/common/calendar-date';
import { mulberry32 } from '../src/common/prng';
import { defaultCatalogueCsv, packageRoot } from '../src/common/paths';
import { draftFromSplit, type InvoiceDraft } from '../src/sync/invoice';
import { Journal, type AppendedInvoice, type InCommitHook } from '../src/sync/journal/journal';
import { writeRegisterEntries, type RegisterLine } from '../src/sync/journal/register';
import type { InvoiceResult, PaymentNotice } from '../src/sync/protocol';
import { SoftwareSigner } from '../src/sync/signer';

/**
 * The back office's benchmark store: a pharmacy chain's journal of about a million signed
 * invoices (TEST ONLY key of fixtures/keys), generated once and reused (`bench/backoffice.ts`).
 * Three years of sales, every day alike: 40 000 cards (a third of the patients chronic, a tenth
 * retired), one to three lines of the sample catalogue each, about one line in fifty a controlled
 * product on a counterfoil prescription (its register entry written with the invoice); batches of
 * 500, acknowledged by a fund that rejects one invoice in a hundred, pays one batch in ten short,
 * and whose transfers are on the bank statement for nine batches in ten; half the rejects
 * corrected; and an open batch of a few hundred invoices for the audit. Every invoice goes through
 * the journal's own append path, so the summary tables are what the counter would have built.
 */

export interface BackofficeStore {
  dir: string;
  file: string;
  invoices: number;
  /** The last day of sales (the refill forecast's today). */
  lastDay: string;
  firstDay: string;
  /** A chronic patient with a history. */
  patient: { cardSerial: string; rank: number };
  /** Seconds the generation took (0 when the store was reused). */
  generatedInS: number;
}

const FIRST_DAY = '2023-01-02';
const DAYS = 3 * 365;
const CARDS = 40_000;
const KEYS = path.join(packageRoot(), 'fixtures', 'keys');

function meta(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const j = Journal.open(file);
  try {
    return Object.fromEntries(
      (j.db.prepare("SELECT key, value FROM meta WHERE key LIKE 'bench_%'").all() as { key: string; value: string }[]).map((r) => [
        r.key,
        r.value,
      ]),
    );
  } finally {
    void j.close();
  }
}

/** The store in `dir`, generated with `target` invoices unless it is already there. */
export async function ensureBackofficeStore(
  dir: string,
  target: number,
  progress: (s: string) => void = () => undefined,
): Promise<BackofficeStore> {
  const file = path.join(dir, 'journal.sqlite');
  const m = meta(file);
  if (m.bench_target === String(target) && m.bench_done === '1') {
    return {
      dir,
      file,
      invoices: Number(m.bench_invoices),
      firstDay: FIRST_DAY,
      lastDay: m.bench_last_day!,
      patient: JSON.parse(m.bench_patient!) as BackofficeStore['patient'],
      generatedInS: 0,
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const out = await generate(file, target, progress);
  return { dir, file, ...out, firstDay: FIRST_DAY, generatedInS: (Date.now() - started) / 1000 };
}

async function generate(
  file: string,
  target: number,
  progress: (s: string) => void,
): Promise<Omit<BackofficeStore, 'dir' | 'file' | 'firstDay' | 'generatedInS'>> {
  const rules = loadRules();
  const catalogue = parseCatalogueCsv(fs.readFileSync(defaultCatalogueCsv(), 'utf8')).products.map((p) => p.product);
  const controlled = catalogue.filter((p) => p.controlled !== undefined);
  const ordinary = catalogue.filter((p) => p.controlled === undefined);
  const rand = mulberry32(20250615);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let clock = new Date(`${FIRST_DAY}T18:00:00Z`);
  const signer = SoftwareSigner.fromFiles(path.join(KEYS, 'pharmacy-1.key.pem'), path.join(KEYS, 'pharmacy-1.cert.pem'));
  const journal = Journal.open(file, { signer, batch: { maxCount: 500, maxAgeMs: 10 * 365 * 86_400_000 }, now: () => clock });
  const setMeta = (k: string, v: string) => journal.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(k, v);
  setMeta('bench_target', String(target));

  const categoryOf = (card: number) => (card % 3 === 0 ? 'chronic' : card % 10 === 1 ? 'retiree' : 'ordinary');
  const cardSerial = (card: number) => `BENCH-${String(card).padStart(6, '0')}`;

  /** One dispensing and, for a controlled product, its register entry. */
  const dispensing = (day: string): { draft: InvoiceDraft; inCommit?: InCommitHook } => {
    const card = Math.floor(rand() * CARDS);
    const category = categoryOf(card);
    const rank = 1 + Math.floor(rand() * 3);
    const n = 1 + Math.floor(rand() * 3);
    const withControlled = rand() < 0.03;
    const products: Product[] = [];
    for (let i = 0; i < n; i++) products.push(i === 0 && withControlled ? pick(controlled) : pick(ordinary));
    const lines: SplitLine[] = products.map((p) => ({
      code: p.code,
      quantity: 1 + Math.floor(rand() * 3),
      unitPrice: p.unitPrice,
      referencePrice: p.referencePrice,
      reimbursable: p.reimbursable,
      priorApproval: p.priorApproval,
      durationDays: [10, 15, 30, 30, 60, 90][Math.floor(rand() * 6)]!,
    }));
    const reference = `RX${day.replace(/-/g, '')}${Math.floor(rand() * 1e6)}`;
    const basket = { date: day, lines, prescription: reference };
    const context = { category, rightsEnd: '2030-12-31' };
    const split = computeSplit(basket, rules, context);
    const counterfoil = withControlled ? `SOUCHE-${Math.floor(rand() * 1e9)}` : undefined;
    const rule = rules.rulesFor(day);
    const draft = draftFromSplit({
      split,
      basket,
      context,
      fund: rand() < 0.8 ? 'CNAS' : 'CASNOS',
      beneficiary: { cardSerial: cardSerial(card), rank, insuredId: `1${String(card).padStart(11, '0')}` },
      prescription: { reference, date: day, prescriber: 'DZ16-MD-BENCH', ...(counterfoil ? { counterfoil } : {}) },
      details: products.map((p) => ({ label: `${p.brand} ${p.strength}`.trim() })),
      itemLabels: Object.fromEntries(split.items.map((it, k) => [it.id, rule.amountItems[k]!.label.fr])),
    });
    if (!counterfoil) return { draft };
    const p = products[0]!;
    const entry: RegisterLine = {
      line: 0,
      counterfoil,
      code: p.code,
      brand: p.brand,
      dci: p.dci,
      strength: p.strength,
      form: p.form,
      controlledTable: p.controlled!,
      quantity: draft.lines[0]!.quantity,
      insuredName: `PATIENT ${card}`,
      beneficiaryName: `PATIENT ${card}/${rank}`,
      prescriber: 'DZ16-MD-BENCH',
      speciality: 'Psychiatrie',
      prescriptionRef: reference,
      prescriptionDate: day,
    };
    return { draft, inCommit: (inv: AppendedInvoice, db) => writeRegisterEntries(db, inv, [entry], inv.document.issuedAt) };
  };

  // Phase 1: the sales, day by day (one group commit per day).
  const perDay = Math.ceil((target * 0.995) / DAYS);
  let day = FIRST_DAY;
  let count = 0;
  for (let d = 0; d < DAYS && count < target * 0.995; d++) {
    day = addDays(FIRST_DAY, d);
    clock = new Date(`${day}T18:00:00Z`);
    const todays = Array.from({ length: Math.min(perDay, Math.ceil(target * 0.995) - count) }, () => dispensing(day));
    await Promise.all(todays.map((x) => journal.append(x.draft, x.inCommit ? { inCommit: x.inCommit } : {})));
    count += todays.length;
    if (d % 30 === 0) progress(`generating the back-office store: ${count.toLocaleString('en-US')} invoices (${day})`);
  }
  await journal.whenIdle();

  // Phase 2: the fund's answers to every closed batch, its payments, the bank's lines.
  const hashes = journal.db.prepare('SELECT number, hash, kind, fund_amount FROM invoices WHERE number BETWEEN ? AND ? ORDER BY number');
  const rejected: number[] = [];
  for (const b of journal.uploadQueue()) {
    const rows = hashes.all(b.from, b.to) as { number: number; hash: string; kind: string; fund_amount: number }[];
    let paid = 0;
    const results: InvoiceResult[] = rows.map((r) => {
      if (rand() < 0.01) {
        rejected.push(r.number);
        return {
          number: r.number,
          hash: r.hash,
          status: 'rejected',
          code: pick(['SPLIT_MISMATCH', 'PRESCRIPTION_MISSING', 'DUPLICATE_INVOICE']),
          reason: 'bench',
        };
      }
      paid += r.kind === 'credit-note' ? -r.fund_amount : r.fund_amount;
      return { number: r.number, hash: r.hash, status: 'accepted' };
    });
    const accepted = results.filter((r) => r.status === 'accepted').length;
    journal.recordAck(b.id, {
      pharmacyId: 'DZ16-PH-00001',
      batchId: b.id,
      idempotencyKey: b.idempotencyKey!,
      receivedAt: clock.toISOString(),
      complete: true,
      state: 'acknowledged',
      count: results.length,
      accepted,
      rejected: results.length - accepted,
      paid,
      results,
    });
    const largest = rows.filter((r) => results[r.number - b.from]!.status === 'accepted').sort((a, x) => x.fund_amount - a.fund_amount)[0];
    const short = largest && rand() < 0.1 ? Math.min(largest.fund_amount, 1 + Math.floor(rand() * 5000)) : 0;
    const notice: PaymentNotice = {
      pharmacyId: 'DZ16-PH-00001',
      batchId: b.id,
      idempotencyKey: b.idempotencyKey!,
      settledAt: addDays(b.closedAt!.slice(0, 10), 30),
      accepted: paid,
      paid: paid - short,
      transferReference: `CHIFA-DZ16-PH-00001-B${b.id}`,
      adjustments:
        short > 0 ? [{ number: largest!.number, hash: largest!.hash, amount: short, code: 'PAYMENT_ADJUSTED', reason: 'bench' }] : [],
    };
    journal.recordPaymentNotice(b.id, notice, { jws: 'bench', certificate: Buffer.from('bench') });
    if (rand() < 0.9)
      journal.recordBankPayments([
        { batchId: b.id, amount: notice.paid, valueDate: notice.settledAt, reference: notice.transferReference, source: 'statement' },
      ]);
  }
  progress(`generating the back-office store: acknowledged, ${rejected.length} rejected`);

  // Phase 3: half the rejects corrected (the journal recomputes nothing here: the same draft),
  // then sales until the open batch holds a few hundred invoices.
  const reader = journal.db.prepare('SELECT jws FROM invoices WHERE number = ?').pluck();
  const corrections = rejected.filter(() => rand() < 0.5);
  for (let i = 0; i < corrections.length; i += 1000) {
    await Promise.all(
      corrections.slice(i, i + 1000).map((n) => {
        const doc = JSON.parse(Buffer.from((reader.get(n) as string).split('.')[1]!, 'base64url').toString('utf8')) as InvoiceDraft & {
          v?: unknown;
          pharmacyId?: unknown;
          number?: unknown;
          prev?: unknown;
          issuedAt?: unknown;
        };
        const { v: _v, pharmacyId: _p, number: _n, prev: _pr, issuedAt: _i, kind: _k, ...draft } = doc;
        return journal.correct(n, draft, 'bench');
      }),
    );
  }
  const open = () => (journal.db.prepare("SELECT count FROM batches WHERE state = 'open'").pluck().get() as number | undefined) ?? 0;
  while (open() < 300) await Promise.all(Array.from({ length: 50 }, () => dispensing(day)).map((x) => journal.append(x.draft)));
  await journal.whenIdle();

  const invoices = journal.tip().number;
  const patient = journal.db
    .prepare('SELECT card_serial AS cardSerial, rank FROM supply_lines GROUP BY card_serial, rank ORDER BY COUNT(*) DESC LIMIT 1')
    .get() as BackofficeStore['patient'];
  setMeta('bench_invoices', String(invoices));
  setMeta('bench_last_day', day);
  setMeta('bench_patient', JSON.stringify(patient));
  setMeta('bench_done', '1');
  journal.db.pragma('wal_checkpoint(TRUNCATE)');
  journal.db.exec('ANALYZE');
  await journal.close();
  return { invoices, lastDay: day, patient };
}
