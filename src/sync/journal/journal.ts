import type Database from 'better-sqlite3';
import { X509Certificate } from 'node:crypto';
import { openSqliteFile } from '../../common/db';
import { JournalError } from '../errors';
import { checkDraft, GENESIS_HASH, type Fund, type InvoiceDocument, type InvoiceDraft, type InvoiceKind } from '../invoice';
import { jwsHash, parseCompact, parseProtectedHeader, signCompact } from '../jws';
import { addToTotals, emptyTotals, type BatchManifest, type CloseReason } from '../manifest';
import type { BatchAck, InvoiceResult, UploadBody } from '../protocol';
import { certificateThumbprint, pharmacyIdOf, type Signer } from '../signer';
import { applyPragmas, MIGRATIONS, missingTriggers, SCHEMA_SQL, SCHEMA_VERSION } from './schema';

/**
 * The signed invoice journal (docs/sync.md): one SQLite file per pharmacy (WAL, synchronous=FULL).
 *
 * Appends are group-committed: drafts that arrive while a commit is in progress are signed and
 * written together in the next transaction, and no append resolves before its transaction is
 * durable. Invoices get gapless numbers and each links to the SHA-256 of the previous JWS.
 *
 * Batches: every invoice joins the open batch (a contiguous number range); the batch closes when
 * it reaches `maxCount`, when it is older than `maxAgeMs` (`closeDueBatches`) or on demand
 * (`closeOpenBatch`). Closing seals the range in one transaction and then signs the manifest;
 * a crash in between leaves a sealed batch that the next signer-holding call signs.
 *
 * One process appends (the counter service); others (the uploader) may open the same file to
 * send batches and record acknowledgements — SQLite serialises the writers.
 */

export interface BatchPolicy {
  /** Close the open batch when it holds this many invoices. */
  maxCount: number;
  /** Close the open batch when its first invoice is this old (checked by closeDueBatches). */
  maxAgeMs: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = { maxCount: 500, maxAgeMs: 24 * 3600 * 1000 };

export interface JournalOptions {
  /** Needed to append and to close batches; not to upload or verify. */
  signer?: Signer;
  batch?: Partial<BatchPolicy>;
  now?: () => Date;
  /** Largest number of drafts signed and committed in one transaction. */
  maxGroup?: number;
}

export interface AppendedInvoice {
  number: number;
  hash: string;
  jws: string;
  document: InvoiceDocument;
  batchId: number;
}

export type BatchState = 'open' | 'closed' | 'sent' | 'acknowledged' | 'settled';

export interface BatchInfo {
  id: number;
  state: BatchState;
  openedAt: string;
  from: number;
  to: number;
  count: number;
  closedAt: string | null;
  closeReason: CloseReason | null;
  signed: boolean;
  idempotencyKey: string | null;
  sentAt: string | null;
  acknowledgedAt: string | null;
  settledAt: string | null;
  accepted: number | null;
  rejected: number | null;
  paid: number | null;
  attempts: number;
  lastError: string | null;
}

/** A signed answer of the fund as received: its compact JWS and the fund's certificate (DER). */
export interface SignedProof {
  jws: string;
  certificate: Buffer;
}

export interface RejectedInvoice {
  number: number;
  hash: string;
  batchId: number;
  code: string;
  reason: string;
  receivedAt: string;
  date: string;
  fund: Fund;
  cardSerial: string;
  total: number;
  fundAmount: number;
  /** Number of the corrected invoice that recycles this one, if issued. */
  correctedBy: number | null;
}

export interface Backlog {
  pharmacyId: string | null;
  invoices: number;
  lastNumber: number;
  /** Invoices in the open batch (not yet closed). */
  openInvoices: number;
  openSince: string | null;
  /** Closed batches not yet accepted by the fund (closed or sent), and their invoices. */
  unsentBatches: number;
  unsentInvoices: number;
  oldestUnsentClosedAt: string | null;
  unsignedBatches: number;
  acknowledgedBatches: number;
  settledBatches: number;
  /** Rejected invoices not yet corrected. */
  rejectedPending: number;
}

interface Pending {
  draft: unknown;
  kind: InvoiceKind;
  inCommit: InCommitHook | undefined;
  resolve: (r: AppendedInvoice) => void;
  reject: (e: unknown) => void;
}

/**
 * Runs inside the transaction that commits an invoice, right after its row is inserted, on the
 * journal's own connection: a caller's rows written here (the counter's pending card write) are
 * durable together with the invoice, or not at all. A hook that throws rolls the whole group
 * back — a later invoice of the group chains on this one, so it cannot stay alone — and every
 * append of the group is rejected with that error.
 */
export type InCommitHook = (invoice: AppendedInvoice, db: Database.Database) => void;

export interface AppendOptions {
  inCommit?: InCommitHook;
}

interface BatchRow {
  id: number;
  state: BatchState;
  opened_at: string;
  first_number: number;
  last_number: number;
  count: number;
  closed_at: string | null;
  close_reason: string | null;
  manifest_jws: string | null;
  idempotency_key: string | null;
  sent_at: string | null;
  acknowledged_at: string | null;
  settled_at: string | null;
  accepted: number | null;
  rejected: number | null;
  paid: number | null;
  attempts: number;
  last_error: string | null;
}

const toInfo = (r: BatchRow): BatchInfo => ({
  id: r.id,
  state: r.state,
  openedAt: r.opened_at,
  from: r.first_number,
  to: r.last_number,
  count: r.count,
  closedAt: r.closed_at,
  closeReason: r.close_reason as CloseReason | null,
  signed: r.manifest_jws !== null,
  idempotencyKey: r.idempotency_key,
  sentAt: r.sent_at,
  acknowledgedAt: r.acknowledged_at,
  settledAt: r.settled_at,
  accepted: r.accepted,
  rejected: r.rejected,
  paid: r.paid,
  attempts: r.attempts,
  lastError: r.last_error,
});

/** The idempotency key of a batch: base64url SHA-256 of its manifest JWS. */
export function idempotencyKeyFor(manifestJws: string): string {
  return Buffer.from(jwsHash(manifestJws), 'hex').toString('base64url');
}

export class Journal {
  readonly db: Database.Database;
  readonly file: string;
  private readonly signer: Signer | undefined;
  private readonly policy: BatchPolicy;
  private readonly now: () => Date;
  private readonly maxGroup: number;
  private queue: Pending[] = [];
  private draining = false;
  private closed = false;
  private readonly st: ReturnType<Journal['prepare']>;

  private constructor(file: string, db: Database.Database, options: JournalOptions) {
    this.file = file;
    this.db = db;
    this.signer = options.signer;
    this.policy = { ...DEFAULT_BATCH_POLICY, ...options.batch };
    if (!Number.isInteger(this.policy.maxCount) || this.policy.maxCount < 1 || this.policy.maxCount > 5000) {
      throw new JournalError('bad-batch-policy', 'batch.maxCount must be an integer from 1 to 5000', 'batch.maxCount');
    }
    this.now = options.now ?? (() => new Date());
    this.maxGroup = options.maxGroup ?? 1000;
    this.st = this.prepare();
  }

  /** Opens (creating if needed) the journal at `file`. */
  static open(file: string, options: JournalOptions = {}): Journal {
    const db = openSqliteFile(file);
    try {
      applyPragmas(db);
      const fresh = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'").pluck().get() === 0;
      if (fresh) {
        db.transaction(() => {
          db.exec(SCHEMA_SQL);
          db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
        }).immediate();
      } else {
        const v = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
        const version = Number(v);
        if (!(Number.isInteger(version) && version >= 1 && version <= SCHEMA_VERSION))
          throw new JournalError('journal-version', `${file}: journal schema ${v ?? '(none)'}, this program knows ${SCHEMA_VERSION}`);
        // Never re-create a missing trigger: that would hide the evidence. Refuse instead.
        const missing = missingTriggers(db, version);
        if (missing.length > 0) {
          throw new JournalError(
            'journal-tampered',
            `${file}: immutability trigger(s) missing: ${missing.join(', ')}; run \`chifa journal verify\``,
          );
        }
        if (version < SCHEMA_VERSION)
          db.transaction(() => {
            for (let to = version + 1; to <= SCHEMA_VERSION; to++) db.exec(MIGRATIONS[to]!);
            db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
          }).immediate();
      }
      const j = new Journal(file, db, options);
      if (options.signer) j.checkSignerPharmacy(options.signer);
      return j;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private prepare() {
    const db = this.db;
    return {
      tip: db.prepare('SELECT number, hash FROM invoices ORDER BY number DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO invoices (number, kind, fund, date, issued_at, card_serial, total, fund_amount, patient_amount, ref_number, prev_hash, hash, jws)
         VALUES (@number, @kind, @fund, @date, @issuedAt, @cardSerial, @total, @fundAmount, @patientAmount, @refNumber, @prev, @hash, @jws)`,
      ),
      openBatch: db.prepare("SELECT * FROM batches WHERE state = 'open'"),
      maxBatch: db.prepare('SELECT COALESCE(MAX(id), 0) FROM batches').pluck(),
      newBatch: db.prepare("INSERT INTO batches (id, state, opened_at, first_number, last_number, count) VALUES (?, 'open', ?, ?, ?, 1)"),
      growBatch: db.prepare('UPDATE batches SET last_number = ?, count = count + 1 WHERE id = ?'),
      seal: db.prepare("UPDATE batches SET state = 'closed', closed_at = ?, close_reason = ? WHERE id = ? AND state = 'open'"),
      batch: db.prepare('SELECT * FROM batches WHERE id = ?'),
      unsigned: db.prepare("SELECT * FROM batches WHERE state = 'closed' AND manifest_jws IS NULL ORDER BY id"),
      setManifest: db.prepare('UPDATE batches SET manifest_jws = ?, idempotency_key = ? WHERE id = ? AND manifest_jws IS NULL'),
      rangeRows: db.prepare(
        'SELECT number, kind, fund, total, fund_amount, patient_amount, hash, jws FROM invoices WHERE number BETWEEN ? AND ? ORDER BY number',
      ),
      certInsert: db.prepare('INSERT OR IGNORE INTO certificates (key_id, der, pharmacy_id, added_at) VALUES (?, ?, ?, ?)'),
      cert: db.prepare('SELECT der FROM certificates WHERE key_id = ?').pluck(),
      invoice: db.prepare('SELECT * FROM invoices WHERE number = ?'),
      ack: db.prepare('SELECT * FROM acks WHERE invoice_number = ?'),
      insertAck: db.prepare(
        'INSERT OR IGNORE INTO acks (invoice_number, batch_id, status, code, reason, received_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      ackCount: db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(status = 'accepted'), 0) AS accepted FROM acks WHERE batch_id = ?"),
      correction: db.prepare('SELECT number FROM invoices WHERE ref_number = ? AND kind = ? ORDER BY number LIMIT 1').pluck(),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
  }

  /** The pharmacy this journal belongs to (set by the first append), or null when empty. */
  pharmacyId(): string | null {
    return (this.st.meta.get('pharmacy_id') as string | undefined) ?? null;
  }

  private signerIds = new WeakMap<Signer, string>();

  private checkSignerPharmacy(signer: Signer): string {
    let id = this.signerIds.get(signer);
    if (id === undefined) {
      id = pharmacyIdOf(new X509Certificate(signer.certificate));
      this.signerIds.set(signer, id);
    }
    const mine = this.pharmacyId();
    if (mine !== null && mine !== id) {
      throw new JournalError('wrong-pharmacy', `this journal belongs to pharmacy ${mine}; the signer's certificate is for ${id}`);
    }
    return id;
  }

  /** The last invoice's number and hash (0 and the genesis value when empty). */
  tip(): { number: number; hash: string } {
    const r = this.st.tip.get() as { number: number; hash: string } | undefined;
    return r ?? { number: 0, hash: GENESIS_HASH };
  }

  // ---------------------------------------------------------------- appending

  /** Signs and appends one invoice; resolves once it is durable. */
  append(draft: InvoiceDraft, options: AppendOptions = {}): Promise<AppendedInvoice> {
    return this.enqueue(draft, draft?.kind ?? 'invoice', options.inCommit);
  }

  /** Appends many drafts, group-committed (one transaction per `maxGroup`); in order. */
  appendMany(drafts: readonly InvoiceDraft[]): Promise<AppendedInvoice[]> {
    return Promise.all(drafts.map((d) => this.append(d)));
  }

  /**
   * Recycles a rejected invoice: appends `draft` as a corrected invoice referencing it. Refused
   * unless the fund rejected `rejectedNumber` and it has not been corrected yet.
   */
  correct(rejectedNumber: number, draft: InvoiceDraft, reason?: string): Promise<AppendedInvoice> {
    const orig = this.st.invoice.get(rejectedNumber) as { hash: string } | undefined;
    if (!orig) return Promise.reject(new JournalError('unknown-invoice', `no invoice number ${rejectedNumber}`, 'references.number'));
    const ack = this.st.ack.get(rejectedNumber) as { status: string } | undefined;
    if (ack?.status !== 'rejected') {
      return Promise.reject(
        new JournalError(
          'not-rejected',
          `invoice ${rejectedNumber} was not rejected by the fund; issue a credit note to cancel it`,
          'references.number',
        ),
      );
    }
    const by = this.st.correction.get(rejectedNumber, 'corrected-invoice') as number | undefined;
    if (by !== undefined)
      return Promise.reject(
        new JournalError('already-corrected', `invoice ${rejectedNumber} was already corrected by invoice ${by}`, 'references.number'),
      );
    return this.enqueue(
      { ...draft, kind: 'corrected-invoice', references: { number: rejectedNumber, hash: orig.hash, ...(reason ? { reason } : {}) } },
      'corrected-invoice',
    );
  }

  /**
   * Cancels (all or part of) an invoice with a credit note referencing it. Without `draft` the
   * credit note repeats the original's lines and amounts.
   */
  creditNote(number: number, draft?: InvoiceDraft, reason?: string, options: AppendOptions = {}): Promise<AppendedInvoice> {
    const orig = this.st.invoice.get(number) as { hash: string; jws: string; kind: string } | undefined;
    if (!orig) return Promise.reject(new JournalError('unknown-invoice', `no invoice number ${number}`, 'references.number'));
    if (orig.kind === 'credit-note')
      return Promise.reject(new JournalError('bad-reference', `invoice ${number} is itself a credit note`, 'references.number'));
    let base: InvoiceDraft = draft as InvoiceDraft;
    if (!base) {
      const d = parseCompact(orig.jws).payload as InvoiceDocument;
      const { v: _v, pharmacyId: _p, number: _n, prev: _pr, issuedAt: _i, references: _r, ...rest } = d;
      base = rest;
    }
    return this.enqueue(
      { ...base, kind: 'credit-note', references: { number, hash: orig.hash, ...(reason ? { reason } : {}) } },
      'credit-note',
      options.inCommit,
    );
  }

  private enqueue(draft: unknown, kind: InvoiceKind, inCommit?: InCommitHook): Promise<AppendedInvoice> {
    if (this.closed) return Promise.reject(new JournalError('journal-closed', 'the journal is closed'));
    if (!this.signer) return Promise.reject(new JournalError('no-signer', 'appending needs a signer (the professional card)'));
    return new Promise<AppendedInvoice>((resolve, reject) => {
      this.queue.push({ draft, kind, inCommit, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      // Let callers that enqueue in the same tick (appendMany) join this group.
      await Promise.resolve();
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.maxGroup);
        await this.commitGroup(group);
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    const signer = this.signer!;
    let pharmacyId: string;
    try {
      pharmacyId = this.checkSignerPharmacy(signer);
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const tip = this.tip();
    let number = tip.number;
    let prev = tip.hash;
    const ready: { p: Pending; out: AppendedInvoice }[] = [];
    const issuedAt = this.now().toISOString();
    for (const p of group) {
      try {
        const draft = checkDraft(p.draft);
        if (draft.references !== undefined) this.checkReference(draft.references, ready);
        const doc: InvoiceDocument = { ...draft, v: 1, kind: p.kind, pharmacyId, number: number + 1, prev, issuedAt };
        const jws = await signCompact(doc, 'chifa-invoice+jws', signer);
        number += 1;
        prev = jwsHash(jws);
        ready.push({ p, out: { number, hash: prev, jws, document: doc, batchId: 0 } });
      } catch (err) {
        p.reject(err);
      }
    }
    if (ready.length === 0) return;
    const sealed: number[] = [];
    try {
      this.db
        .transaction(() => {
          if (this.pharmacyId() === null) this.st.setMeta.run('pharmacy_id', pharmacyId);
          this.st.certInsert.run(signer.keyId, signer.certificate, pharmacyId, issuedAt);
          for (const r of ready) {
            const d = r.out.document;
            this.st.insert.run({
              number: d.number,
              kind: d.kind,
              fund: d.fund,
              date: d.date,
              issuedAt: d.issuedAt,
              cardSerial: d.beneficiary.cardSerial,
              total: d.totals.total,
              fundAmount: d.totals.fund,
              patientAmount: d.totals.patient,
              refNumber: d.references?.number ?? null,
              prev: d.prev,
              hash: r.out.hash,
              jws: r.out.jws,
            });
            r.out.batchId = this.joinOpenBatch(d.number, issuedAt, sealed);
            r.p.inCommit?.(r.out, this.db);
          }
        })
        .immediate();
    } catch (err) {
      const e =
        err instanceof JournalError
          ? err
          : new JournalError('journal-write-failed', `the journal refused the invoices: ${(err as Error).message}`, undefined, {
              cause: err,
            });
      for (const r of ready) r.p.reject(e);
      return;
    }
    for (const r of ready) r.p.resolve(r.out);
    if (sealed.length > 0) await this.signPendingManifests().catch(() => undefined);
  }

  private checkReference(ref: { number: number; hash: string }, ready: { out: AppendedInvoice }[]): void {
    const row = this.st.invoice.get(ref.number) as { hash: string } | undefined;
    const hash = row?.hash ?? ready.find((r) => r.out.number === ref.number)?.out.hash;
    if (hash === undefined)
      throw new JournalError('unknown-invoice', `references.number: no invoice number ${ref.number}`, 'references.number');
    if (hash !== ref.hash)
      throw new JournalError('bad-reference', `references.hash: invoice ${ref.number} has another hash`, 'references.hash');
  }

  /** Inside a write transaction: puts invoice `number` in the open batch (opening one if needed). */
  private joinOpenBatch(number: number, at: string, sealed: number[]): number {
    const open = this.st.openBatch.get() as BatchRow | undefined;
    let id: number;
    let count: number;
    if (!open) {
      id = (this.st.maxBatch.get() as number) + 1;
      this.st.newBatch.run(id, at, number, number);
      count = 1;
    } else {
      id = open.id;
      this.st.growBatch.run(number, id);
      count = open.count + 1;
    }
    if (count >= this.policy.maxCount) {
      this.st.seal.run(at, 'count', id);
      sealed.push(id);
    }
    return id;
  }

  // ---------------------------------------------------------------- closing batches

  /** Closes the open batch now (if it holds anything) and signs its manifest. */
  async closeOpenBatch(reason: CloseReason = 'on-demand'): Promise<BatchInfo | null> {
    this.requireSigner();
    await this.whenIdle();
    const at = this.now().toISOString();
    const id = this.db
      .transaction(() => {
        const open = this.st.openBatch.get() as BatchRow | undefined;
        if (!open) return null;
        this.st.seal.run(at, reason, open.id);
        return open.id;
      })
      .immediate();
    await this.signPendingManifests();
    return id === null ? null : this.batch(id);
  }

  /** Closes the open batch if it is older than the policy's maxAgeMs. */
  async closeDueBatches(): Promise<BatchInfo | null> {
    const open = this.st.openBatch.get() as BatchRow | undefined;
    if (open && this.now().getTime() - Date.parse(open.opened_at) >= this.policy.maxAgeMs) return this.closeOpenBatch('age');
    if (this.signer) await this.signPendingManifests();
    return null;
  }

  /** Signs the manifests of sealed batches (after a crash between sealing and signing). */
  async signPendingManifests(): Promise<number> {
    const signer = this.requireSigner();
    const pharmacyId = this.checkSignerPharmacy(signer);
    let n = 0;
    for (const b of this.st.unsigned.all() as BatchRow[]) {
      const manifest = this.buildManifest(b, pharmacyId);
      const jws = await signCompact(manifest, 'chifa-manifest+jws', signer);
      this.db
        .transaction(() => {
          this.st.certInsert.run(signer.keyId, signer.certificate, pharmacyId, this.now().toISOString());
          this.st.setManifest.run(jws, idempotencyKeyFor(jws), b.id);
        })
        .immediate();
      n++;
    }
    return n;
  }

  private buildManifest(b: BatchRow, pharmacyId: string): BatchManifest {
    const rows = this.st.rangeRows.all(b.first_number, b.last_number) as {
      kind: string;
      fund: Fund;
      total: number;
      fund_amount: number;
      patient_amount: number;
      hash: string;
    }[];
    if (rows.length !== b.count)
      throw new JournalError('journal-corrupt', `batch ${b.id}: expected ${b.count} invoices, found ${rows.length}`);
    const totals = emptyTotals();
    for (const r of rows)
      addToTotals(totals, r.fund, r.kind === 'credit-note', { total: r.total, fund: r.fund_amount, patient: r.patient_amount });
    return {
      v: 1,
      kind: 'batch-manifest',
      pharmacyId,
      batchId: b.id,
      from: b.first_number,
      to: b.last_number,
      count: b.count,
      totals,
      invoices: rows.map((r) => r.hash),
      closedAt: b.closed_at!,
      closeReason: b.close_reason as CloseReason,
    };
  }

  private requireSigner(): Signer {
    if (!this.signer) throw new JournalError('no-signer', 'closing a batch needs a signer (the professional card)');
    return this.signer;
  }

  /** Resolves when no append is queued or being committed. */
  async whenIdle(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  // ---------------------------------------------------------------- uploading

  batch(id: number): BatchInfo | null {
    const r = this.st.batch.get(id) as BatchRow | undefined;
    return r ? toInfo(r) : null;
  }

  batches(): BatchInfo[] {
    return (this.db.prepare('SELECT * FROM batches ORDER BY id').all() as BatchRow[]).map(toInfo);
  }

  /** Signed batches the fund has not fully acknowledged, in order: the upload queue. */
  uploadQueue(): BatchInfo[] {
    return (
      this.db
        .prepare("SELECT * FROM batches WHERE state IN ('closed', 'sent') AND manifest_jws IS NOT NULL ORDER BY id")
        .all() as BatchRow[]
    ).map(toInfo);
  }

  /** Acknowledged batches whose settlement is still to be learnt. */
  awaitingSettlement(): BatchInfo[] {
    return (this.db.prepare("SELECT * FROM batches WHERE state = 'acknowledged' ORDER BY id").all() as BatchRow[]).map(toInfo);
  }

  /** The request body and idempotency key for uploading batch `id`. */
  uploadRequest(id: number): { idempotencyKey: string; body: UploadBody } {
    const b = this.st.batch.get(id) as BatchRow | undefined;
    if (!b || b.manifest_jws === null || b.idempotency_key === null)
      throw new JournalError('batch-not-ready', `batch ${id} is not closed and signed`);
    const rows = this.st.rangeRows.all(b.first_number, b.last_number) as { jws: string }[];
    const invoices = rows.map((r) => r.jws);
    // Key ids from the protected headers; invoices signed by one card share one header text.
    const headers = new Set<string>([b.manifest_jws.slice(0, b.manifest_jws.indexOf('.'))]);
    for (const j of invoices) headers.add(j.slice(0, j.indexOf('.')));
    const kids = new Set<string>();
    for (const h of headers) kids.add(parseProtectedHeader(h)['x5t#S256']);
    const certificates = [...kids].map((k) => {
      const der = this.st.cert.get(k) as Buffer | undefined;
      if (!der) throw new JournalError('journal-corrupt', `no certificate with thumbprint ${k} in the journal`);
      return der.toString('base64');
    });
    return { idempotencyKey: b.idempotency_key, body: { certificates, manifest: b.manifest_jws, invoices } };
  }

  /** Records an attempt that failed (for the backlog display); does not change the state. */
  recordAttemptFailure(id: number, error: string): void {
    this.db.prepare('UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE id = ?').run(error.slice(0, 500), id);
  }

  /**
   * Records the fund's answer for batch `id`: marks it sent, stores each invoice's result, and
   * moves it to acknowledged once every invoice has one (and to settled if the fund says so).
   * Idempotent: a result already stored is kept. `signed`, the fund's signed answer it was read
   * from (already verified by the caller), is kept in `fund_acks` in the same transaction.
   */
  recordAck(id: number, ack: BatchAck, signed?: SignedProof): BatchInfo {
    const at = this.now().toISOString();
    this.db
      .transaction(() => {
        const b = this.st.batch.get(id) as BatchRow | undefined;
        if (!b) throw new JournalError('unknown-batch', `no batch ${id}`);
        if (ack.batchId !== id) throw new JournalError('ack-mismatch', `the fund acknowledged batch ${ack.batchId}, not ${id}`);
        if (signed) this.recordProof(id, at, signed);
        const byNumber = new Map<number, { hash: string }>();
        for (const r of this.st.rangeRows.all(b.first_number, b.last_number) as { number: number; hash: string }[])
          byNumber.set(r.number, r);
        for (const r of ack.results as InvoiceResult[]) {
          const inv = byNumber.get(r.number);
          if (!inv || inv.hash !== r.hash)
            throw new JournalError('ack-mismatch', `the fund acknowledged invoice ${r.number} with a hash that is not ours`);
          this.st.insertAck.run(r.number, id, r.status, r.code ?? null, r.reason ?? null, at);
        }
        if (b.state === 'closed')
          this.db.prepare("UPDATE batches SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?").run(at, id);
        const c = this.st.ackCount.get(id) as { n: number; accepted: number };
        if (c.n === b.count && (b.state === 'closed' || b.state === 'sent')) {
          this.db
            .prepare("UPDATE batches SET state = 'acknowledged', acknowledged_at = ?, accepted = ?, rejected = ?, paid = ? WHERE id = ?")
            .run(at, c.accepted, c.n - c.accepted, ack.paid, id);
        }
        if (ack.state === 'settled' && c.n === b.count) {
          this.db
            .prepare("UPDATE batches SET state = 'settled', settled_at = ?, paid = ? WHERE id = ? AND state <> 'settled'")
            .run(ack.settledAt ?? at, ack.paid, id);
        }
      })
      .immediate();
    return this.batch(id)!;
  }

  /** Records that the fund settled (paid) acknowledged batch `id`; `signed` as in recordAck. */
  recordSettlement(id: number, paid: number, settledAt: string, signed?: SignedProof): BatchInfo | null {
    this.db
      .transaction(() => {
        const r = this.db
          .prepare("UPDATE batches SET state = 'settled', settled_at = ?, paid = ? WHERE id = ? AND state = 'acknowledged'")
          .run(settledAt, paid, id);
        if (signed && r.changes > 0) this.recordProof(id, this.now().toISOString(), signed);
      })
      .immediate();
    return this.batch(id);
  }

  private recordProof(id: number, at: string, signed: SignedProof): void {
    this.db
      .prepare('INSERT INTO fund_acks (batch_id, received_at, jws, certificate) VALUES (?, ?, ?, ?)')
      .run(id, at, signed.jws, signed.certificate);
  }

  /** The fund's signed answers kept for batch `id`, oldest first. */
  signedAnswers(id: number): (SignedProof & { receivedAt: string })[] {
    return (
      this.db.prepare('SELECT received_at, jws, certificate FROM fund_acks WHERE batch_id = ? ORDER BY seq').all(id) as {
        received_at: string;
        jws: string;
        certificate: Buffer;
      }[]
    ).map((r) => ({ receivedAt: r.received_at, jws: r.jws, certificate: r.certificate }));
  }

  // ---------------------------------------------------------------- reading

  /** The decoded invoice `number`, with its JWS, hash and the fund's answer if any. */
  invoice(number: number): {
    document: InvoiceDocument;
    jws: string;
    hash: string;
    ack: { status: string; code: string | null; reason: string | null } | null;
  } | null {
    const r = this.st.invoice.get(number) as { jws: string; hash: string } | undefined;
    if (!r) return null;
    const a = this.st.ack.get(number) as { status: string; code: string | null; reason: string | null } | undefined;
    return {
      document: parseCompact(r.jws).payload as InvoiceDocument,
      jws: r.jws,
      hash: r.hash,
      ack: a ? { status: a.status, code: a.code, reason: a.reason } : null,
    };
  }

  /** Invoices the fund rejected, for the pharmacist, with the correction that recycles each. */
  rejectedInvoices(options: { pendingOnly?: boolean } = {}): RejectedInvoice[] {
    const rows = this.db
      .prepare(
        `SELECT a.invoice_number AS number, i.hash, a.batch_id AS batchId, a.code, a.reason, a.received_at AS receivedAt,
                i.date, i.fund, i.card_serial AS cardSerial, i.total, i.fund_amount AS fundAmount,
                (SELECT c.number FROM invoices c WHERE c.ref_number = a.invoice_number AND c.kind = 'corrected-invoice' ORDER BY c.number LIMIT 1) AS correctedBy
           FROM acks a JOIN invoices i ON i.number = a.invoice_number
          WHERE a.status = 'rejected' ORDER BY a.invoice_number`,
      )
      .all() as RejectedInvoice[];
    return options.pendingOnly ? rows.filter((r) => r.correctedBy === null) : rows;
  }

  backlog(): Backlog {
    const q = <T>(sql: string): T => this.db.prepare(sql).get() as T;
    const inv = q<{ n: number; last: number | null }>('SELECT COUNT(*) AS n, MAX(number) AS last FROM invoices');
    const open = this.st.openBatch.get() as BatchRow | undefined;
    const unsent = q<{ n: number; inv: number | null; oldest: string | null }>(
      "SELECT COUNT(*) AS n, SUM(count) AS inv, MIN(closed_at) AS oldest FROM batches WHERE state IN ('closed', 'sent')",
    );
    const unsigned = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'closed' AND manifest_jws IS NULL");
    const acked = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'acknowledged'");
    const settled = q<{ n: number }>("SELECT COUNT(*) AS n FROM batches WHERE state = 'settled'");
    return {
      pharmacyId: this.pharmacyId(),
      invoices: inv.n,
      lastNumber: inv.last ?? 0,
      openInvoices: open?.count ?? 0,
      openSince: open?.opened_at ?? null,
      unsentBatches: unsent.n,
      unsentInvoices: unsent.inv ?? 0,
      oldestUnsentClosedAt: unsent.oldest,
      unsignedBatches: unsigned.n,
      acknowledgedBatches: acked.n,
      settledBatches: settled.n,
      rejectedPending: this.rejectedInvoices({ pendingOnly: true }).length,
    };
  }

  /** Stops accepting appends, waits for queued ones, closes the database. */
  async close(): Promise<void> {
    this.closed = true;
    await this.whenIdle();
    if (this.db.open) this.db.close();
  }

  /** Certificate DER by thumbprint (for verification). */
  certificate(keyId: string): Buffer | undefined {
    return this.st.cert.get(keyId) as Buffer | undefined;
  }

  static thumbprint = certificateThumbprint;
}
