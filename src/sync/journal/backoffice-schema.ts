/**
 * Version 4 of the journal's schema: what the pharmacist's back office reads (docs/backoffice.md).
 *
 * Derived tables, maintained in the transaction that appends each invoice (summaries.ts) and
 * rebuilt from the signed invoices when an older journal is migrated — they are never the record,
 * the signed invoices are, so they may be updated:
 * - `stats_day`: per dispensing day, category, fund and third-party-payment refusal reason ('' when
 *   the fund pays), invoices and credit notes counted and their amounts, net of corrections and
 *   credit notes;
 * - `stats_product_day`, `stats_product_month`: per product, lines, quantities and amounts, per day
 *   and per month (a year of days is ~100 000 rows for a busy catalogue; months keep a long range
 *   cheap);
 * - `batch_totals`: what each batch (bordereau) claims, as its manifest sums it;
 * - `supply_lines`, `supply_latest`: the supplies of chronic patients (each line with a treatment
 *   duration, and the latest one per patient and product), for the refill forecast.
 *
 * Records, append-only under triggers like the invoices:
 * - `psychotropic_register`: every dispensing of a product of a controlled table, with its
 *   counterfoil prescription's serial; a row is accepted only in the transaction that appends its
 *   invoice (it must name the newest invoice, of kind `invoice`), so the register cannot be
 *   written after the fact;
 * - `payment_notices`: the fund's signed payment notice of a settled batch, as received;
 * - `bank_payments`: what the pharmacy saw arrive on its bank account for a batch, typed or
 *   imported from a statement; a wrong entry is corrected by another (negative) entry.
 */

/** BEFORE UPDATE / BEFORE DELETE triggers that abort (the journal's wording). */
const immutable = (table: string, what: string): string => `
CREATE TRIGGER IF NOT EXISTS ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'journal: ${what} are immutable'); END;
CREATE TRIGGER IF NOT EXISTS ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'journal: ${what} are never deleted'); END;`;

export const BACKOFFICE_TRIGGERS = [
  'psychotropic_register_no_update',
  'psychotropic_register_no_delete',
  'psychotropic_register_with_invoice',
  'payment_notices_no_update',
  'payment_notices_no_delete',
  'bank_payments_no_update',
  'bank_payments_no_delete',
] as const;

export const BACKOFFICE_SQL = `
CREATE TABLE IF NOT EXISTS stats_day (
  day TEXT NOT NULL,
  category TEXT NOT NULL,
  fund TEXT NOT NULL,
  refusal TEXT NOT NULL,
  invoices INTEGER NOT NULL,
  credits INTEGER NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  patient_amount INTEGER NOT NULL,
  PRIMARY KEY (day, category, fund, refusal)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stats_product_day (
  day TEXT NOT NULL,
  code TEXT NOT NULL,
  lines INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  patient_amount INTEGER NOT NULL,
  PRIMARY KEY (day, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stats_product_month (
  month TEXT NOT NULL,
  code TEXT NOT NULL,
  lines INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  patient_amount INTEGER NOT NULL,
  PRIMARY KEY (month, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS batch_totals (
  batch_id INTEGER PRIMARY KEY,
  invoices INTEGER NOT NULL,
  total INTEGER NOT NULL,
  fund_amount INTEGER NOT NULL,
  patient_amount INTEGER NOT NULL,
  credits INTEGER NOT NULL,
  credit_total INTEGER NOT NULL,
  credit_fund INTEGER NOT NULL,
  credit_patient INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS supply_lines (
  invoice_number INTEGER NOT NULL,
  line INTEGER NOT NULL,
  card_serial TEXT NOT NULL,
  rank INTEGER NOT NULL,
  day TEXT NOT NULL,
  code TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  duration_days INTEGER NOT NULL,
  runs_out TEXT NOT NULL,
  cancelled INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (invoice_number, line)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS supply_lines_patient ON supply_lines (card_serial, rank, day);

CREATE TABLE IF NOT EXISTS supply_latest (
  card_serial TEXT NOT NULL,
  rank INTEGER NOT NULL,
  code TEXT NOT NULL,
  invoice_number INTEGER NOT NULL,
  day TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  duration_days INTEGER NOT NULL,
  runs_out TEXT NOT NULL,
  PRIMARY KEY (card_serial, rank, code)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS supply_latest_runs_out ON supply_latest (runs_out);

-- The audit looks for an earlier invoice of the same dispensing (same card, same day).
CREATE INDEX IF NOT EXISTS invoices_card_day ON invoices (card_serial, date);

CREATE TABLE IF NOT EXISTS psychotropic_register (
  seq INTEGER PRIMARY KEY,
  invoice_number INTEGER NOT NULL REFERENCES invoices(number),
  line INTEGER NOT NULL CHECK (line >= 0),
  day TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  card_serial TEXT NOT NULL,
  insured_id TEXT,
  rank INTEGER NOT NULL,
  insured_name TEXT,
  beneficiary_name TEXT,
  prescriber TEXT,
  speciality TEXT,
  prescription_ref TEXT,
  prescription_date TEXT,
  counterfoil TEXT NOT NULL CHECK (length(counterfoil) >= 1),
  code TEXT NOT NULL,
  brand TEXT NOT NULL,
  dci TEXT NOT NULL,
  strength TEXT NOT NULL,
  form TEXT NOT NULL,
  controlled_table TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity >= 1),
  lot TEXT,
  UNIQUE (invoice_number, line)
) STRICT;
CREATE INDEX IF NOT EXISTS psychotropic_register_day ON psychotropic_register (day);
${immutable('psychotropic_register', 'register entries')}
CREATE TRIGGER IF NOT EXISTS psychotropic_register_with_invoice BEFORE INSERT ON psychotropic_register
BEGIN
  SELECT RAISE(ABORT, 'journal: a register entry is written with its invoice, in the same transaction')
   WHERE NEW.invoice_number IS NOT (SELECT MAX(number) FROM invoices)
      OR (SELECT kind FROM invoices WHERE number = NEW.invoice_number) IS NOT 'invoice';
END;

CREATE TABLE IF NOT EXISTS payment_notices (
  batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
  received_at TEXT NOT NULL,
  settled_at TEXT NOT NULL,
  accepted_amount INTEGER NOT NULL,
  paid INTEGER NOT NULL,
  transfer_reference TEXT NOT NULL,
  adjustments_json TEXT NOT NULL,
  jws TEXT NOT NULL,
  certificate BLOB NOT NULL
) STRICT;
${immutable('payment_notices', "the fund''s payment notices")}

CREATE TABLE IF NOT EXISTS bank_payments (
  seq INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  amount INTEGER NOT NULL,
  value_date TEXT NOT NULL,
  reference TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('manual', 'statement')),
  recorded_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS bank_payments_batch ON bank_payments (batch_id);
-- A statement imported twice records its lines once.
CREATE UNIQUE INDEX IF NOT EXISTS bank_payments_statement ON bank_payments (batch_id, value_date, amount, reference) WHERE source = 'statement';
${immutable('bank_payments', 'recorded payments')}
`;
