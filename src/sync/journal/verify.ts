import Database from 'better-sqlite3';
import { X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { canonicalize } from '../canonical';
import { SyncError } from '../errors';
import { checkDocument, GENESIS_HASH, type InvoiceDocument } from '../invoice';
import { jwsHash, parseCompact, verifySignature, type JwsType, type ParsedJws } from '../jws';
import { addToTotals, checkManifest, emptyTotals } from '../manifest';
import { certificateThumbprint, pharmacyIdOf } from '../signer';
import type { BatchRow } from './batch-row';
import { idempotencyKeyFor } from './batches';
import { registerProblems } from './register';
import { TRIGGER_SINCE, TRIGGERS } from './schema';

/**
 * `chifa journal verify`: rechecks the whole journal from the bytes on disk — every invoice's
 * signature, hash, number and chain link; every batch's range, and each manifest of its history
 * (signature, content, and for a re-signed one: it replaced a manifest the fund refused); every
 * acknowledgement's invoice; the immutability triggers; SQLite's own page checks. It
 * reports what it finds and changes nothing: a corrupted journal is never "repaired".
 */

export interface JournalProblem {
  code: string;
  message: string;
  /** The invoice number concerned, when there is one. */
  number?: number;
  batchId?: number;
}

/** What verifyJournal found. */
export interface JournalReport {
  ok: boolean;
  file: string;
  pharmacyId: string | null;
  invoices: number;
  batches: number;
  lastNumber: number;
  lastHash: string;
  /** Everything found: whole-file problems, then by invoice number, then batch problems. */
  problems: JournalProblem[];
  /** The earliest invoice where the chain or a signature breaks, or null. */
  firstBreak: JournalProblem | null;
}

const MAX_PROBLEMS = 50;

/** What verifyJournal may know beyond the journal. */
export interface VerifyOptions {
  /** The codes of the products in a controlled table (the catalogue): each such line of an invoice with a counterfoil serial needs its register entry. */
  controlled?: ReadonlySet<string> | undefined;
}

/** Rechecks a journal file from its bytes (read-only): every signature, hash, chain link, batch and acknowledgement. */
export function verifyJournal(file: string, options: VerifyOptions = {}): JournalReport {
  const report: JournalReport = {
    ok: false,
    file,
    pharmacyId: null,
    invoices: 0,
    batches: 0,
    lastNumber: 0,
    lastHash: GENESIS_HASH,
    problems: [],
    firstBreak: null,
  };
  const problem = (p: JournalProblem): void => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(p);
  };
  if (!fs.existsSync(file)) {
    problem({ code: 'no-journal', message: `${file} does not exist` });
    return report;
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, readonly: true });
  } catch (err) {
    problem({ code: 'sqlite-corrupt', message: `cannot open ${file}: ${(err as Error).message}` });
    return report;
  }
  try {
    db.pragma('busy_timeout = 10000');
    run(db, report, problem, options);
  } catch (err) {
    problem({ code: 'sqlite-corrupt', message: `reading the journal failed: ${(err as Error).message}` });
  } finally {
    db.close();
  }
  report.ok = report.problems.length === 0;
  return report;
}

function run(db: Database.Database, report: JournalReport, problem: (p: JournalProblem) => void, options: VerifyOptions): void {
  const check = db.pragma('quick_check', { simple: true }) as string;
  if (check !== 'ok') problem({ code: 'sqlite-corrupt', message: `SQLite quick_check: ${check}` });

  const triggers = new Map(
    (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; sql: string }[]).map((t) => [
      t.name,
      t.sql,
    ]),
  );
  const version = Number(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() ?? 1);
  for (const t of TRIGGERS) {
    if ((TRIGGER_SINCE[t] ?? 1) > version) continue; // from a later schema than this journal's
    const sql = triggers.get(t);
    if (sql === undefined) problem({ code: 'trigger-missing', message: `immutability trigger ${t} is missing` });
    else if (!sql.includes('RAISE(ABORT')) problem({ code: 'trigger-altered', message: `immutability trigger ${t} no longer aborts` });
  }

  const pharmacyId = (db.prepare("SELECT value FROM meta WHERE key = 'pharmacy_id'").pluck().get() as string | undefined) ?? null;
  report.pharmacyId = pharmacyId;

  // Certificates, by thumbprint: the key id must be the thumbprint of the stored DER.
  const keys = new Map<string, KeyObject>();
  for (const c of db.prepare('SELECT key_id, der, pharmacy_id FROM certificates').all() as {
    key_id: string;
    der: Buffer;
    pharmacy_id: string;
  }[]) {
    try {
      const x = new X509Certificate(c.der);
      if (certificateThumbprint(x.raw) !== c.key_id)
        throw new SyncError('bad-certificate', 'thumbprint does not match the stored certificate');
      if (pharmacyIdOf(x) !== c.pharmacy_id || (pharmacyId !== null && c.pharmacy_id !== pharmacyId))
        throw new SyncError('bad-certificate', `certificate is for ${pharmacyIdOf(x)}`);
      keys.set(c.key_id, x.publicKey);
    } catch (err) {
      problem({ code: 'bad-certificate', message: `certificate ${c.key_id}: ${(err as Error).message}` });
    }
  }

  const verifyJws = (jws: string, typ: JwsType, field: string): ParsedJws => {
    const p = parseCompact(jws, field, typ);
    const key = keys.get(p.header['x5t#S256']);
    if (!key) throw new SyncError('unknown-key', `${field}: signed with a certificate the journal does not hold`);
    if (!verifySignature(p.signingInput, p.signature, key)) throw new SyncError('bad-signature', `${field}: the signature does not verify`);
    return p;
  };

  // The chain.
  type Row = {
    number: number;
    kind: string;
    fund: string;
    date: string;
    issued_at: string;
    card_serial: string;
    total: number;
    fund_amount: number;
    patient_amount: number;
    ref_number: number | null;
    prev_hash: string;
    hash: string;
    jws: string;
  };
  const hashes = new Map<number, string>();
  const docs = new Map<number, { kind: string; fund: string; total: number; fund_amount: number; patient_amount: number }>();
  /** The signed invoices that carry a counterfoil serial: each must have its register entries. */
  const withCounterfoil = new Map<number, InvoiceDocument>();
  let expected = 1;
  let prev = GENESIS_HASH;
  for (const r of db.prepare('SELECT * FROM invoices ORDER BY number').iterate() as IterableIterator<Row>) {
    report.invoices++;
    const where = `invoice ${r.number}`;
    const brk = (code: string, message: string): void => {
      problem({ code, number: r.number, message: `${where}: ${message}` });
    };
    if (r.number !== expected)
      brk('chain-gap', `expected invoice ${expected} next, found ${r.number} (missing ${expected}–${r.number - 1})`);
    expected = r.number + 1;
    hashes.set(r.number, r.hash);
    docs.set(r.number, r);
    const actual = jwsHash(r.jws);
    if (actual !== r.hash)
      brk('hash-mismatch', `stored hash ${r.hash.slice(0, 12)}… is not the SHA-256 of the stored JWS (${actual.slice(0, 12)}…)`);
    if (r.prev_hash !== prev)
      brk('chain-broken', `links to ${r.prev_hash.slice(0, 12)}… but the previous invoice hashes to ${prev.slice(0, 12)}…`);
    prev = actual;
    let doc: InvoiceDocument;
    try {
      const p = verifyJws(r.jws, 'chifa-invoice+jws', where);
      doc = checkDocument(p.payload, `${where}.payload`);
    } catch (err) {
      const e = err as { code?: string; message: string };
      brk(e.code ?? 'bad-invoice', e.message);
      continue;
    }
    if (doc.kind === 'invoice' && doc.prescription?.counterfoil !== undefined) withCounterfoil.set(r.number, doc);
    if (doc.number !== r.number) brk('number-mismatch', `the signed document says number ${doc.number}`);
    if (doc.prev !== r.prev_hash) brk('chain-broken', 'the signed prev hash differs from the stored one');
    if (pharmacyId !== null && doc.pharmacyId !== pharmacyId)
      brk('wrong-pharmacy', `signed for pharmacy ${doc.pharmacyId}, the journal is ${pharmacyId}`);
    const cols: [string, unknown, unknown][] = [
      ['kind', r.kind, doc.kind],
      ['fund', r.fund, doc.fund],
      ['date', r.date, doc.date],
      ['issued_at', r.issued_at, doc.issuedAt],
      ['card_serial', r.card_serial, doc.beneficiary.cardSerial],
      ['total', r.total, doc.totals.total],
      ['fund_amount', r.fund_amount, doc.totals.fund],
      ['patient_amount', r.patient_amount, doc.totals.patient],
      ['ref_number', r.ref_number, doc.references?.number ?? null],
    ];
    for (const [col, stored, signed] of cols) {
      if (stored !== signed)
        brk('column-mismatch', `column ${col} holds ${JSON.stringify(stored)} but the signed document says ${JSON.stringify(signed)}`);
    }
    if (doc.references !== undefined && hashes.get(doc.references.number) !== doc.references.hash) {
      brk('bad-reference', `references invoice ${doc.references.number} with a hash that is not its own`);
    }
  }
  report.lastNumber = expected - 1;
  report.lastHash = prev;

  // The psychotropics register (schema 4) agrees with the signed invoices.
  if (version >= 4)
    for (const p of registerProblems(db, withCounterfoil, options.controlled))
      problem({ code: 'register-mismatch', number: p.number, message: p.message });

  // Manifest history (schema 2): re-signed manifests by batch, in order, and the refused keys.
  type Resigned = { batch_id: number; seq: number; manifest_jws: string; idempotency_key: string; replaces: string };
  const resigned = new Map<number, Resigned[]>();
  const refused = new Map<string, number>();
  if (version >= 3) {
    for (const r of db.prepare('SELECT * FROM resigned_manifests ORDER BY batch_id, seq').all() as Resigned[])
      resigned.set(r.batch_id, [...(resigned.get(r.batch_id) ?? []), r]);
    for (const r of db.prepare('SELECT idempotency_key, batch_id FROM manifest_refusals').all() as {
      idempotency_key: string;
      batch_id: number;
    }[])
      refused.set(r.idempotency_key, r.batch_id);
  }
  const manifestKeys = new Map<string, number>();

  // Batches: contiguous ids and ranges covering every invoice, manifests that match.
  let nextId = 1;
  let nextFirst = 1;
  for (const b of db.prepare('SELECT * FROM batches ORDER BY id').iterate() as IterableIterator<BatchRow>) {
    report.batches++;
    const where = `batch ${b.id}`;
    const bad = (code: string, message: string): void => problem({ code, batchId: b.id, message: `${where}: ${message}` });
    if (b.id !== nextId) bad('batch-gap', `expected batch ${nextId} next`);
    nextId = b.id + 1;
    if (b.first_number !== nextFirst) bad('batch-range', `starts at invoice ${b.first_number}, expected ${nextFirst}`);
    nextFirst = b.last_number + 1;
    if (b.last_number > report.lastNumber)
      bad('batch-range', `ends at invoice ${b.last_number}, beyond the last invoice ${report.lastNumber}`);
    const history = resigned.get(b.id) ?? [];
    if (b.manifest_jws === null) {
      if (b.state !== 'open' && b.state !== 'closed') bad('unsigned-batch', `state ${b.state} without a signed manifest`);
      if (history.length > 0) bad('manifest-history', 'a re-signed manifest for a batch that was never signed');
      continue;
    }
    const totals = emptyTotals();
    const list: string[] = [];
    for (let n = b.first_number; n <= b.last_number; n++) {
      const d = docs.get(n);
      const h = hashes.get(n);
      if (!d || !h) continue;
      list.push(h);
      addToTotals(totals, d.fund as 'CNAS', d.kind === 'credit-note', { total: d.total, fund: d.fund_amount, patient: d.patient_amount });
    }
    const manifests = [{ seq: 1, jws: b.manifest_jws, key: b.idempotency_key, replaces: null as string | null }].concat(
      history.map((r) => ({ seq: r.seq, jws: r.manifest_jws, key: r.idempotency_key, replaces: r.replaces })),
    );
    manifests.forEach((mf, k) => {
      const label = mf.seq === 1 ? `${where}.manifest` : `${where}.manifest ${mf.seq}`;
      const wrong = (code: string, message: string): void => bad(code, mf.seq === 1 ? message : `manifest ${mf.seq}: ${message}`);
      if (mf.key !== null) manifestKeys.set(mf.key, b.id);
      if (k > 0) {
        const before = manifests[k - 1]!;
        if (mf.seq !== k + 1) wrong('manifest-history', `expected manifest ${k + 1} next`);
        if (mf.replaces !== before.key || refused.get(before.key ?? '') !== b.id)
          wrong('manifest-history', `replaces a manifest the fund did not refuse (the current one was manifest ${before.seq})`);
      }
      try {
        const p = verifyJws(mf.jws, 'chifa-manifest+jws', label);
        const m = checkManifest(p.payload, label);
        if (m.batchId !== b.id || m.from !== b.first_number || m.to !== b.last_number || m.count !== b.count)
          wrong('manifest-mismatch', 'the signed manifest describes another range');
        else if (m.pharmacyId !== pharmacyId) wrong('manifest-mismatch', `the manifest is for pharmacy ${m.pharmacyId}`);
        else if (canonicalize(m.invoices) !== canonicalize(list)) {
          const i = m.invoices.findIndex((h, k) => h !== list[k]);
          wrong('manifest-mismatch', `the manifest's hash of invoice ${b.first_number + i} differs from the journal's`);
        } else if (canonicalize(m.totals) !== canonicalize(totals))
          wrong('manifest-mismatch', 'the manifest totals differ from the invoices');
        if (mf.key !== idempotencyKeyFor(mf.jws)) wrong('manifest-mismatch', 'the idempotency key is not derived from the manifest');
      } catch (err) {
        const e = err as { code?: string; message: string };
        wrong(e.code ?? 'bad-manifest', e.message);
      }
    });
  }
  for (const batchId of resigned.keys()) {
    if (batchId < 1 || batchId >= nextId)
      problem({ code: 'manifest-history', batchId, message: `batch ${batchId}: a re-signed manifest for a batch that does not exist` });
  }
  for (const [key, batchId] of refused) {
    if (manifestKeys.get(key) !== batchId)
      problem({ code: 'manifest-history', batchId, message: `batch ${batchId}: a refusal is recorded for a manifest it does not have` });
  }
  if (report.invoices > 0 && nextFirst !== report.lastNumber + 1) {
    problem({ code: 'batch-range', message: `invoices ${nextFirst}–${report.lastNumber} are in no batch` });
  }

  // Acknowledgements point at invoices of their batch.
  const orphan = db
    .prepare(
      'SELECT a.invoice_number AS n, a.batch_id AS b FROM acks a LEFT JOIN batches b ON b.id = a.batch_id WHERE b.id IS NULL OR a.invoice_number NOT BETWEEN b.first_number AND b.last_number LIMIT 1',
    )
    .get() as { n: number; b: number } | undefined;
  if (orphan)
    problem({
      code: 'ack-mismatch',
      number: orphan.n,
      batchId: orphan.b,
      message: `the acknowledgement of invoice ${orphan.n} names batch ${orphan.b}, which does not hold it`,
    });

  // Whole-file problems first, then by invoice number, then batch problems (stable sort).
  const rank = (p: JournalProblem): number => (p.number !== undefined ? p.number : p.batchId !== undefined ? Number.MAX_SAFE_INTEGER : -1);
  report.problems.sort((a, b) => rank(a) - rank(b));
  report.firstBreak = report.problems.find((p) => p.number !== undefined) ?? null;
}
