import type Database from 'better-sqlite3';
import { JournalError } from '../errors';
import { checkDraft, type InvoiceDocument, type InvoiceDraft, type InvoiceKind } from '../invoice';
import { jwsHash, parseCompact, signCompact } from '../jws';
import type { Batches } from './batches';
import type { JournalQueries } from './queries';
import type { JournalSigning } from './signing';
import { Summaries } from './summaries';

/**
 * The append queue. Appends are group-committed: drafts that arrive while a commit is in
 * progress are signed and written together in the next transaction, and no append resolves
 * before its transaction is durable. Invoices get gapless numbers and each links to the SHA-256
 * of the previous JWS.
 */

export interface AppendedInvoice {
  number: number;
  hash: string;
  jws: string;
  document: InvoiceDocument;
  batchId: number;
}

/**
 * @internal
 * Runs inside the transaction that commits an invoice, right after its row is inserted, on the
 * journal's own connection: a caller's rows written here (the counter's pending card write) are
 * durable together with the invoice, or not at all. A hook that throws rolls the whole group
 * back — a later invoice of the group chains on this one, so it cannot stay alone — and every
 * append of the group is rejected with that error.
 */
export type InCommitHook = (invoice: AppendedInvoice, db: Database.Database) => void;

/** Options of Journal.append. */
export interface AppendOptions {
  /** @internal The counter's hook (see InCommitHook). */
  inCommit?: InCommitHook;
}

interface Pending {
  draft: unknown;
  kind: InvoiceKind;
  inCommit: InCommitHook | undefined;
  resolve: (r: AppendedInvoice) => void;
  reject: (e: unknown) => void;
}

/** @internal (the Journal class is the API) */
export interface AppendQueueOptions {
  now: () => Date;
  /** Largest number of drafts signed and committed in one transaction. */
  maxGroup: number;
}

/** @internal (the Journal class is the API) */
export class AppendQueue {
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly maxGroup: number;
  private readonly insert: Database.Statement;
  private readonly setMeta: Database.Statement;
  private readonly summaries: Summaries;
  private queue: Pending[] = [];
  private draining = false;
  private closed = false;

  constructor(
    private readonly queries: JournalQueries,
    private readonly signing: JournalSigning,
    private readonly batches: Batches,
    options: AppendQueueOptions,
  ) {
    this.db = queries.db;
    this.now = options.now;
    this.maxGroup = options.maxGroup;
    this.insert = this.db.prepare(
      `INSERT INTO invoices (number, kind, fund, date, issued_at, card_serial, total, fund_amount, patient_amount, ref_number, prev_hash, hash, jws)
       VALUES (@number, @kind, @fund, @date, @issuedAt, @cardSerial, @total, @fundAmount, @patientAmount, @refNumber, @prev, @hash, @jws)`,
    );
    this.setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.summaries = new Summaries(this.db);
  }

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
   * unless the fund rejected `rejectedNumber` and it has not been corrected yet — or, with
   * `beforeSending`, unless it is in the open batch (not yet closed, so never sent): the audit
   * before closing corrects an invoice the fund would reject. The fund, seeing the invoice and
   * its correction in order, rejects the first and accepts the second; if it accepts the first
   * after all, it rejects the correction (a correction of an invoice it did not reject), so
   * nothing is ever paid twice.
   */
  correct(
    rejectedNumber: number,
    draft: InvoiceDraft,
    reason?: string,
    options: { beforeSending?: boolean } = {},
  ): Promise<AppendedInvoice> {
    const orig = this.queries.invoiceRow(rejectedNumber);
    if (!orig) return Promise.reject(new JournalError('unknown-invoice', `no invoice number ${rejectedNumber}`, 'references.number'));
    if (orig.kind === 'credit-note')
      return Promise.reject(new JournalError('bad-reference', `invoice ${rejectedNumber} is a credit note`, 'references.number'));
    const by = this.queries.referencing(rejectedNumber, 'corrected-invoice');
    if (by !== undefined)
      return Promise.reject(
        new JournalError('already-corrected', `invoice ${rejectedNumber} was already corrected by invoice ${by}`, 'references.number'),
      );
    const ack = this.queries.ackRow(rejectedNumber);
    const open = this.queries.openBatchRow();
    const unsent = ack === undefined && open !== undefined && rejectedNumber >= open.first_number && rejectedNumber <= open.last_number;
    if (ack?.status !== 'rejected' && !(options.beforeSending && unsent)) {
      return Promise.reject(
        new JournalError(
          'not-rejected',
          options.beforeSending
            ? `invoice ${rejectedNumber} is neither rejected by the fund nor in the open batch`
            : `invoice ${rejectedNumber} was not rejected by the fund; issue a credit note to cancel it`,
          'references.number',
        ),
      );
    }
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
    const orig = this.queries.invoiceRow(number);
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

  /** Resolves when no append is queued or being committed. */
  async whenIdle(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  /** Refuses appends from now on (those already queued still commit). */
  close(): void {
    this.closed = true;
  }

  private enqueue(draft: unknown, kind: InvoiceKind, inCommit?: InCommitHook): Promise<AppendedInvoice> {
    if (this.closed) return Promise.reject(new JournalError('journal-closed', 'the journal is closed'));
    if (!this.signing.signer) return Promise.reject(new JournalError('no-signer', 'appending needs a signer (the professional card)'));
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
    const signer = this.signing.signer!;
    const now = this.now();
    const issuedAt = now.toISOString();
    let pharmacyId: string;
    try {
      pharmacyId = this.signing.check(signer, now);
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const tip = this.queries.tip();
    let number = tip.number;
    let prev = tip.hash;
    const ready: { p: Pending; out: AppendedInvoice }[] = [];
    for (const p of group) {
      try {
        const draft = checkDraft(p.draft);
        if (draft.references !== undefined) this.checkReference(draft.references, ready);
        if (p.kind === 'corrected-invoice' && draft.references) this.checkNotCorrected(draft.references.number, ready);
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
          if (this.queries.pharmacyId() === null) this.setMeta.run('pharmacy_id', pharmacyId);
          this.signing.keepCertificate(signer, pharmacyId, issuedAt);
          for (const r of ready) {
            const d = r.out.document;
            this.insert.run({
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
            r.out.batchId = this.batches.admit(d.number, issuedAt, sealed);
            // The back office's totals commit with the invoice (summaries.ts).
            this.summaries.add(d, r.out.batchId);
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
    if (sealed.length > 0) await this.batches.signPendingManifests().catch(() => undefined);
  }

  /**
   * At commit, again: `correct` checked before queueing, but two corrections of one invoice queued
   * together (or one queued while another was committing) would both have passed. One only.
   */
  private checkNotCorrected(number: number, ready: { out: AppendedInvoice }[]): void {
    const by =
      this.queries.referencing(number, 'corrected-invoice') ??
      ready.find((r) => r.out.document.kind === 'corrected-invoice' && r.out.document.references?.number === number)?.out.number;
    if (by !== undefined)
      throw new JournalError('already-corrected', `invoice ${number} was already corrected by invoice ${by}`, 'references.number');
  }

  private checkReference(ref: { number: number; hash: string }, ready: { out: AppendedInvoice }[]): void {
    const row = this.queries.invoiceRow(ref.number);
    const hash = row?.hash ?? ready.find((r) => r.out.number === ref.number)?.out.hash;
    if (hash === undefined)
      throw new JournalError('unknown-invoice', `references.number: no invoice number ${ref.number}`, 'references.number');
    if (hash !== ref.hash)
      throw new JournalError('bad-reference', `references.hash: invoice ${ref.number} has another hash`, 'references.hash');
  }
}
