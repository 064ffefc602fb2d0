import type { IsoDate } from '../../common/calendar-date';
import type { BankPayment, BankPaymentInput } from '../../sync/journal/journal';
import { JournalError } from '../../sync/errors';
import { UnknownInvoiceError } from '../counter/errors';
import type { CatalogueStore } from '../../billing/catalogue/store';
import type { RuleBook } from '../../billing/rules/load';
import type { Signer } from '../../sync/signer';
import type { InvoiceJournalPort } from '../counter/journal';
import { auditOpenBatch, type AuditReport } from './audit';
import { Bordereaux, type BatchDetail, type BatchSummary } from './bordereaux';
import { correctedDraft, type CorrectionInput } from './corrections';
import { RefillQueries, type DciConsumption, type Refill } from './refills';
import { RegisterQueries, type RegisterEntry } from './register';
import { Rejects, type RejectRow } from './rejects';
import { matchStatement, parseStatement, type StatementDelimiter, type UnmatchedLine } from './statement';
import { StatisticsQueries, type Period, type Statistics } from './statistics';

/**
 * The pharmacist's back office (docs/backoffice.md), over the counter's journal: bordereaux and
 * their payments, the audit before closing a batch, rejects and their recycling, statistics, the
 * psychotropics register and the refill forecast. Reads go to the journal's summary tables on
 * the counter's reading connection; a corrected invoice is signed through the counter's lock with
 * the professional card, like a checkout, and recycled by the counter's batch close
 * (src/pos/counter/batch-close.ts).
 */

/**
 * What the back office needs of the counter (CounterService is one): its journal, catalogue,
 * rules and blacklist, its day, and the professional card under its lock.
 */
export interface BackOfficeHost {
  readonly journal: InvoiceJournalPort;
  readonly catalogue: CatalogueStore;
  readonly rules: RuleBook;
  today(): IsoDate;
  blacklistedOn(cardSerial: string, date: IsoDate): boolean;
  signWithProfessional<T>(fn: (signer: Signer) => Promise<T>): Promise<T>;
}

export interface Correction {
  /** The corrected invoice. */
  number: number;
  references: number;
  batchId: number;
  totals: { total: number; base: number; fund: number; patient: number };
  /** True when it corrects an invoice the fund has not seen yet (the audit before closing). */
  beforeSending: boolean;
}

export class BackOffice {
  private readonly bordereaux: Bordereaux;
  private readonly rejectsQ: Rejects;
  private readonly stats: StatisticsQueries;
  private readonly registerQ: RegisterQueries;
  private readonly refillsQ: RefillQueries;

  constructor(private readonly service: BackOfficeHost) {
    const journal = service.journal.syncJournal;
    const product = (code: string) => service.catalogue.get(code);
    this.bordereaux = new Bordereaux(journal);
    this.rejectsQ = new Rejects(journal.db);
    this.stats = new StatisticsQueries(journal.db, product);
    this.registerQ = new RegisterQueries(journal.db);
    this.refillsQ = new RefillQueries(journal.db, product);
  }

  // ------------------------------------------------------------------ bordereaux

  batches(options: { before?: number | undefined; limit?: number | undefined }): { batches: BatchSummary[]; next: number | null } {
    return this.bordereaux.list({
      ...(options.before !== undefined ? { before: options.before } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    });
  }

  batch(id: number): BatchDetail {
    const d = this.bordereaux.detail(id);
    if (!d) throw new JournalError('unknown-batch', `no batch ${id}`, 'id');
    return d;
  }

  audit(): AuditReport {
    return auditOpenBatch({
      db: this.service.journal.db,
      rules: this.service.rules,
      blacklistedOn: (serial, date) => this.service.blacklistedOn(serial, date),
      product: (code) => this.service.catalogue.get(code),
    });
  }

  recordPayment(p: Omit<BankPaymentInput, 'source'>): BankPayment {
    return this.service.journal.syncJournal.recordBankPayments([{ ...p, source: 'manual' }]).recorded[0]!;
  }

  /** A bank statement: the credits that name a batch's transfer are recorded (once), the rest reported. */
  importStatement(
    csv: string,
    delimiter?: StatementDelimiter,
  ): { recorded: BankPayment[]; duplicates: BankPaymentInput[]; unmatched: UnmatchedLine[] } {
    const journal = this.service.journal.syncJournal;
    const references = new Map(
      (
        journal.db.prepare('SELECT transfer_reference, batch_id FROM payment_notices').all() as {
          transfer_reference: string;
          batch_id: number;
        }[]
      ).map((r) => [r.transfer_reference, r.batch_id]),
    );
    const { payments, unmatched } = matchStatement(parseStatement(csv, { delimiter }), references);
    return { ...journal.recordBankPayments(payments), unmatched };
  }

  // ------------------------------------------------------------------ rejects

  rejects(options: { pending?: boolean; limit?: number | undefined; before?: number | undefined }): ReturnType<Rejects['list']> & {
    rejects: RejectRow[];
  } {
    return this.rejectsQ.list({
      ...(options.pending ? { pending: true } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.before !== undefined ? { before: options.before } : {}),
    });
  }

  /**
   * A corrected invoice for invoice `number`: rejected by the fund, or still in the open batch
   * (the audit before closing), priced again as the fund will price it and signed on the
   * professional card.
   */
  async correct(number: number, input: CorrectionInput & { reason?: string | undefined }): Promise<Correction> {
    const inv = this.service.journal.invoice(number);
    if (!inv) throw new UnknownInvoiceError(number);
    const doc = inv.document;
    if (doc.kind === 'credit-note')
      throw new JournalError('bad-reference', `invoice ${number} is a credit note: nothing to correct`, 'number');
    const rejected = inv.ack?.status === 'rejected';
    const draft = correctedDraft(doc, this.service.rules, this.service.blacklistedOn(doc.beneficiary.cardSerial, doc.date), input);
    const reason = input.reason ?? (rejected ? `rejected by the fund (${inv.ack?.code ?? 'no code'})` : 'corrected before sending (audit)');
    const out = await this.service
      .signWithProfessional((signer) => this.service.journal.correct(number, draft, reason, signer, { beforeSending: !rejected }))
      .catch((err: unknown) => {
        // The journal names its own field (`references.number`); the client gave the invoice as `number`.
        if (err instanceof JournalError && err.field === 'references.number') throw new JournalError(err.code, err.message, 'number');
        throw err;
      });
    return { number: out.number, references: number, batchId: out.batchId, totals: out.document.totals, beforeSending: !rejected };
  }

  // ------------------------------------------------------------------ statistics, register, refills

  statistics(from: IsoDate, to: IsoDate, period: Period): Statistics {
    return this.stats.run(from, to, period);
  }

  register(from: IsoDate, to: IsoDate): { entries: RegisterEntry[]; truncated: boolean } {
    return this.registerQ.entries(from, to);
  }

  refills(days: number): { today: IsoDate; days: number; refills: Refill[] } {
    const today = this.service.today();
    return { today, days, refills: this.refillsQ.forecast(today, days) };
  }

  history(cardSerial: string, rank: number): { cardSerial: string; rank: number; dcis: DciConsumption[] } {
    return { cardSerial, rank, dcis: this.refillsQ.history(cardSerial, rank) };
  }
}
