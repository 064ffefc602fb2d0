import type { Logger } from 'pino';
import { maskId } from '../../common/log';
import type { InvoiceDocument } from '../../sync/invoice';
import type { Backlog, RejectedInvoice } from '../../sync/journal/journal';
import type { Signer } from '../../sync/signer';
import type { CatalogueStore } from '../../billing/catalogue/store';
import { today as localToday, type IsoDate } from '../../common/calendar-date';
import type { RuleBook } from '../../billing/rules/load';
import { REASONS } from '../../billing/split';
import type { CardHolder, CardRead, PharmacyIdentity } from './card-data';
import { CardWriteStore, type CardWrite } from './card-writes';
import { repairCardWrites } from './card-write-repair';
import { checkoutDraft } from './checkout-draft';
import {
  CardGoneError,
  CardWriteStateError,
  describeError,
  PinBlockedError,
  QuoteChangedError,
  RequestIdReusedError,
  UnknownInvoiceError,
} from './errors';
import { CounterEvents } from './events';
import { DEFAULT_HORIZON, type HorizonOptions } from './history';
import { CardReading } from './card-reading';
import type { InvoiceJournalPort } from './journal';
import { Mutex } from '../../common/mutex';
import { priceBasket, withCategories, type CounterQuote } from './pricing';
import { ProfessionalCard } from './professional';
import { RecordWriter } from './record-writer';
import { missingRecords, recordsOfInvoice } from './records';
import { basketFingerprint, type CheckoutRequest, type CounterQuoteRequest } from './request';
import {
  invoiceSummary,
  pendingSummary,
  writeOutcome,
  type CardView,
  type CheckoutOutcome,
  type CounterStatus,
  type PendingWriteSummary,
  type QuoteOutcome,
  type VerifyOutcome,
  type WriteOutcome,
} from './results';
import { OnlineRights, type RightsSource, type RightsUpdate } from './rights-update';
import { CardSessions, confirmPin, presentPin, authenticateOnce, type Session } from './session';
import { writeRegisterEntries } from '../../sync/journal/register';
import type { CardStation, InsuredCardPort } from './station';

/**
 * The counter service: one pharmacist, one insured card and one professional card at a time.
 * It keeps the open card's session (holder, PIN verified, what the PIN opened), prices baskets,
 * and runs the checkout with its invariant (docs/counter.md):
 *
 *   no lost invoice, no card record without its invoice, no invoice without its card record.
 *
 * After the PIN the card is read in the order the screen needs it (docs/counter.md, "Reading the
 * card"): rights, beneficiaries and emergency data; then the dispensations as far back as the
 * duplicate check needs (history.ts, the horizon) — from there quotes and warnings are answered;
 * then, in the background, the prescriptions and the professional card's authentication to the
 * insured card. The rest of the history is read when the page opens it. Each step is published
 * on `events`.
 *
 * Checkout: (a) price the basket from the card's rights; (b) have the professional card sign the
 * invoice into the journal (durable) and note a pending card write (card_writes, same file);
 * (c) append one dispensing record per line, each carrying the invoice number — the professional
 * card authenticated to the insured card once per card session, not per checkout; (d) mark the
 * card write done. If (c) fails the invoice stays and the write stays pending; the next time that
 * card's PIN is verified the counter reads its recent dispensations, appends only the records
 * still missing, and marks the write done. The pharmacist may instead cancel it: a credit note
 * referencing the invoice, and state cancelled.
 *
 * The service holds the lock and the order of these steps; the steps themselves live beside it:
 * session.ts (the card's session and PIN), professional.ts (the pharmacist's card and its
 * signer), card-reading.ts (the reads after the PIN), rights-update.ts (the online rights of an
 * expired card), checkout-draft.ts (the invoice (b) signs), record-writer.ts ((c) and (d), and
 * the recovery), card-write-repair.ts (start-up repair), results.ts (what it answers).
 */

export interface CounterDeps {
  station: CardStation;
  catalogue: CatalogueStore;
  rules: RuleBook;
  journal: InvoiceJournalPort;
  /** The fund's blacklist (downlink store), when the counter has one. */
  isBlacklisted?: (cardSerial: string, date: IsoDate) => boolean;
  /** The fund, for a card's current rights when the card or its rights have expired; absent: no fund configured. */
  rights?: RightsSource;
  logger: Logger;
  now?: () => Date;
  /** How far back the dispensations are read after the PIN (default DEFAULT_HORIZON). */
  horizon?: HorizonOptions;
  /** Where the counter publishes what happens (a new bus by default). */
  events?: CounterEvents;
}

export class CounterService {
  readonly station: CardStation;
  readonly catalogue: CatalogueStore;
  /** The rules in force; replaced when the fund sends new ones down. */
  rules: RuleBook;
  readonly journal: InvoiceJournalPort;
  readonly writes: CardWriteStore;
  /** What happens at the counter, for the page's event stream. */
  readonly events: CounterEvents;
  private readonly isBlacklisted: ((serial: string, date: IsoDate) => boolean) | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly horizon: HorizonOptions;
  private readonly mutex = new Mutex();
  private readonly sessions: CardSessions;
  private readonly professional: ProfessionalCard;
  private readonly reading: CardReading;
  private readonly onlineRights: OnlineRights;
  private readonly recordWriter: RecordWriter;
  private readonly unsubscribe: () => void;

  constructor(deps: CounterDeps) {
    this.station = deps.station;
    this.catalogue = deps.catalogue;
    this.rules = deps.rules;
    this.journal = deps.journal;
    this.isBlacklisted = deps.isBlacklisted;
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
    this.horizon = deps.horizon ?? DEFAULT_HORIZON;
    this.events = deps.events ?? new CounterEvents();
    this.writes = new CardWriteStore(this.journal.db, this.now);
    this.professional = new ProfessionalCard(this.station, this.log);
    this.sessions = new CardSessions({ station: this.station, events: this.events, writes: this.writes, log: this.log });
    this.reading = new CardReading({
      sessions: this.sessions,
      events: this.events,
      horizon: this.horizon,
      rules: () => this.rules,
      today: () => this.today(),
    });
    this.onlineRights = new OnlineRights({ source: deps.rights, sessions: this.sessions, log: this.log, now: this.now });
    this.recordWriter = new RecordWriter({
      writes: this.writes,
      sessions: this.sessions,
      events: this.events,
      log: this.log,
      horizon: this.horizon,
    });
    this.unsubscribe = this.station.onChange(() => this.stationChanged());
  }

  /** A reader or card changed: a pulled card's session ends now, and the page hears of it. */
  private stationChanged(): void {
    const st = this.station.status();
    this.sessions.current(st.insured);
    this.events.publish('station', {
      insured: st.insured,
      professional: st.professional,
      serviceAvailable: st.serviceAvailable,
      readers: st.readers.length,
    });
  }

  today(): IsoDate {
    return localToday(this.now());
  }

  // ------------------------------------------------------------------ start-up repair

  /**
   * Makes card_writes agree with the journal: an invoice without a row (the counter stopped
   * between the journal commit and the row) gets a pending write rebuilt from the signed invoice
   * — or a cancelled one if a credit note already cancels it; a pending write whose invoice has a
   * credit note (stopped between the credit note and the state change) becomes cancelled.
   */
  reconcile(): { created: number[]; cancelled: number[] } {
    const { created, cancelled } = repairCardWrites(this.journal, this.writes);
    if (created.length > 0 || cancelled.length > 0) this.log.warn({ created, cancelled }, 'card writes repaired from the journal');
    return { created, cancelled };
  }

  // ------------------------------------------------------------------ status

  status(): CounterStatus {
    const st = this.station.status();
    const session = this.sessions.current(st.insured);
    const pending = this.writes.pending();
    let sync: Backlog | null = null;
    try {
      sync = this.journal.backlog();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read the sync backlog');
    }
    return {
      mode: st.mode,
      serviceAvailable: st.serviceAvailable,
      readers: st.readers,
      today: this.today(),
      busy: this.mutex.locked,
      insured: {
        present: st.insured !== null,
        opened: session !== null,
        verified: session?.read != null,
        holder: session?.holder ?? null,
        pinRetriesLeft: session?.pinRetriesLeft ?? null,
        pendingWrites: session ? pending.filter((w) => w.cardSerial === session.holder.cardSerial).map((w) => w.invoiceNumber) : [],
        rights: session?.rights ?? null,
      },
      professional: this.professional.status(st.professional),
      pendingWrites: pending.map(pendingSummary),
      sync,
      demo: this.station.demoHints ?? null,
    };
  }

  // ------------------------------------------------------------------ insured card

  /** Opens the insured card in the reader (holder identity, no PIN). Idempotent per insertion. */
  openCard(): Promise<{ holder: CardHolder; pinRetriesLeft: number | null; verified: boolean; pendingWrites: number[] }> {
    return this.mutex.run(async () => {
      const card = this.station.insured();
      const s = await this.sessions.open(card);
      return {
        holder: s.holder,
        pinRetriesLeft: s.pinRetriesLeft,
        verified: s.read !== null,
        pendingWrites: this.writes.pending(s.holder.cardSerial).map((w) => w.invoiceNumber),
      };
    });
  }

  /**
   * Verifies the holder's PIN. On success reads what the first screen and the quote need (rights,
   * beneficiaries, emergency data, the dispensations back to the horizon), completes the card's
   * pending card writes (if the professional card is ready) and returns what the PIN opened; the
   * prescriptions and the professional authentication follow in the background. The PIN is
   * passed to the card and forgotten: never logged, stored or echoed.
   */
  verifyPin(pin: string): Promise<VerifyOutcome> {
    return this.mutex.run(async () => {
      const card = this.station.insured();
      const s = await this.sessions.open(card);
      const r = await presentPin(card, s, pin);
      if (r.kind === 'wrongPin') {
        s.pinRetriesLeft = r.retriesLeft;
        this.log.info({ card: maskId(s.holder.cardSerial), retriesLeft: r.retriesLeft }, 'wrong PIN');
        if (r.retriesLeft === 0) throw new PinBlockedError();
        return { result: 'wrong-pin', retriesLeft: r.retriesLeft };
      }
      if (r.kind === 'blocked') {
        s.pinRetriesLeft = 0;
        this.log.info({ card: maskId(s.holder.cardSerial) }, 'PIN blocked');
        throw new PinBlockedError();
      }
      s.pinRetriesLeft = null;
      this.sessions.publish(s, 'verified');
      try {
        await this.reading.firstScreen(card, s);
        s.rights = await this.onlineRights.update(card, s, this.cardRead(s), async () => (await this.professional.ready()).signer);
        await this.reading.toHorizon(card, s);
      } catch (err) {
        // The session stays without data, and the page asks for the PIN again.
        s.read = null;
        this.sessions.failed(s, err);
        throw err;
      }
      this.log.info({ card: maskId(s.holder.cardSerial), dispensations: s.read!.history.records.length }, 'PIN verified; card read');
      const recovery = await this.recordWriter.recover(card, s, () => this.professional.ready());
      this.warmUp(s);
      return { result: 'ok', card: this.view(s), recovery, rights: s.rights };
    });
  }

  /**
   * After the PIN, while the pharmacist looks at the screen: the prescriptions, then the
   * professional card's authentication to the insured card (when it is unlocked), so that the
   * checkout has only its signature and its appends to do. Queued behind whatever the page asked
   * for meanwhile; a failure here only means the checkout does it.
   */
  private warmUp(s: Session): void {
    void this.mutex
      .run(async () => {
        if (!this.sessions.isCurrent(s) || s.read === null) return;
        let card: InsuredCardPort;
        try {
          card = this.station.insured();
        } catch {
          return;
        }
        if (card.insertion !== s.insertion) return;
        try {
          await this.reading.prescriptions(card, s);
          const pro = this.professional.unlocked();
          if (pro) await authenticateOnce(card, pro, s);
        } catch (err) {
          this.sessions.failed(s, err);
          this.log.warn({ card: maskId(s.holder.cardSerial), error: describeError(err).code }, 'reading after the PIN stopped');
        }
      })
      .catch(() => undefined);
  }

  /**
   * Reads the rest of the dispensation history (the page's history tab), publishing progress;
   * answers what the PIN opened, the whole history included.
   */
  readHistory(): Promise<CardView> {
    return this.mutex.run(async () => {
      const s = this.sessions.requireVerified();
      await this.reading.wholeHistory(this.station.insured(), s);
      return this.view(s);
    });
  }

  /** Resolves once nothing is running or queued on the cards (the reads after a PIN included). */
  settled(): Promise<void> {
    return this.mutex.run(async () => undefined);
  }

  /** What the PIN opened so far, for the page (after a reload, or as the reading goes on). */
  card(): CardView {
    return this.view(this.sessions.requireVerified());
  }

  /** What the PIN opened so far, its category codes named by today's rules. */
  private cardRead(s: Session): CardRead {
    const d = s.read!;
    return this.named({
      holder: s.holder,
      beneficiaries: d.beneficiaries,
      rights: d.rights,
      emergency: d.emergency,
      prescriptions: d.prescriptions ?? [],
      dispensations: [...d.history.records],
    });
  }

  private view(s: Session): CardView {
    const d = s.read!;
    return { ...this.cardRead(s), reading: { prescriptions: d.prescriptions !== null, history: d.history.progress } };
  }

  /** Asks the fund for the card's current rights again (after a failure: the fund was unreachable). */
  refreshRights(): Promise<RightsUpdate | null> {
    return this.mutex.run(async () => {
      const s = this.sessions.requireVerified();
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      s.rights = await this.onlineRights.update(card, s, this.cardRead(s), async () => (await this.professional.ready()).signer);
      return s.rights;
    });
  }

  /** The card's rights with the names and labels today's rules give their category codes (for people). */
  private named(read: CardRead): CardRead {
    const rule = this.rules.find(this.today());
    return rule ? withCategories(read, rule) : read;
  }

  // ------------------------------------------------------------------ professional card

  verifyProfessionalPin(pin: string): Promise<{ result: 'ok'; pharmacy: PharmacyIdentity } | { result: 'wrong-pin'; retriesLeft: number }> {
    return this.mutex.run(() => this.professional.verifyPin(pin));
  }

  /**
   * Runs `fn` with the professional card's signer, under the counter's lock (so the sync loop's
   * batch signing never interleaves with a checkout). Resolves undefined when the card is absent
   * or locked.
   */
  withProfessionalSigner<T>(fn: (signer: Signer) => Promise<T>): Promise<T | undefined> {
    return this.mutex.run(async () => {
      let signer: Signer;
      try {
        signer = (await this.professional.ready()).signer;
      } catch {
        return undefined;
      }
      return fn(signer);
    });
  }

  /**
   * Like withProfessionalSigner, for an operation the pharmacist asked for: an absent card is
   * `no-professional-card`, a locked one `professional-pin-required` (both 409), so the page can
   * say what to do.
   */
  signWithProfessional<T>(fn: (signer: Signer) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => fn((await this.professional.ready()).signer));
  }

  /** The counter's blacklist on a card and a day (false without one): what the fund will apply. */
  blacklistedOn(cardSerial: string, date: IsoDate): boolean {
    return this.isBlacklisted?.(cardSerial, date) ?? false;
  }

  /** Best-effort identity of the professional card for the status and receipts (no PIN needed). */
  async refreshProfessional(): Promise<void> {
    try {
      await this.mutex.run(async () => {
        await this.professional.identityOf(this.station.professional());
      });
    } catch {
      // No professional card: the status says so.
    }
  }

  // ------------------------------------------------------------------ catalogue and quote

  private price(request: CounterQuoteRequest, s: Session): CounterQuote {
    const read = this.cardRead(s);
    // Records still waiting to go on this card count as dispensed for the duplicate warning.
    const waiting = this.writes.pending(read.holder.cardSerial).flatMap((w) => missingRecords(w.records, read.dispensations));
    const card: CardRead = waiting.length > 0 ? { ...read, dispensations: [...waiting, ...read.dispensations] } : read;
    return priceBasket(card, request, {
      rules: this.rules,
      lookup: (code) => this.catalogue.get(code),
      ...(this.isBlacklisted ? { isBlacklisted: this.isBlacklisted } : {}),
      today: this.today(),
    });
  }

  /** Answers as soon as what the split and warnings need is read (at once, once it is). */
  async quote(request: CounterQuoteRequest): Promise<QuoteOutcome> {
    let s = this.sessions.requireVerified();
    if (!this.reading.enoughFor(s, request)) {
      s = await this.mutex.run(async () => {
        const cur = this.sessions.requireVerified();
        if (!this.reading.enoughFor(cur, request)) {
          const card = this.station.insured();
          if (card.insertion !== cur.insertion) throw new CardGoneError();
          await this.reading.readFor(card, cur, request);
        }
        return cur;
      });
    }
    const q = this.price(request, s);
    const reason = q.quote.reason;
    let reasonText = reason ? REASONS[reason] + (q.quote.detail ? ` (${q.quote.detail})` : '') : null;
    if ((reason === 'card-expired' || reason === 'rights-expired') && s.rights && s.rights.status !== 'updated') {
      reasonText = `${reasonText}; ${s.rights.message}`;
    }
    return { quote: q.quote, warnings: q.warnings, beneficiary: q.beneficiary, reasonText, prescription: q.prescription, rights: s.rights };
  }

  // ------------------------------------------------------------------ checkout

  checkout(request: CheckoutRequest): Promise<CheckoutOutcome> {
    return this.mutex.run(async () => {
      const requestHash = request.requestId !== undefined ? basketFingerprint(request) : null;
      if (request.requestId !== undefined) {
        const previous = this.writes.byRequestId(request.requestId);
        // Rows written before request_hash existed have none: replayed as before.
        if (previous && previous.requestHash !== null && previous.requestHash !== requestHash)
          throw new RequestIdReusedError(previous.invoiceNumber);
        if (previous) return this.replay(previous);
      }
      const s = this.sessions.requireVerified();
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      await this.reading.readFor(card, s, request);
      try {
        await confirmPin(card, s, this.log);
      } catch (err) {
        this.sessions.failed(s, err);
        throw err;
      }
      this.repairRecent();
      const { pro, signer } = await this.professional.ready();
      const priced = this.price(request, s);
      const q = priced.quote;
      if (request.expect) {
        const e = request.expect;
        if (e.total !== q.total || e.fund !== q.fund || e.patient !== q.patient) {
          throw new QuoteChangedError(
            `expected total ${e.total}, fund ${e.fund}, patient ${e.patient}; now ${q.total}, ${q.fund}, ${q.patient}`,
          );
        }
      }
      // (b) signed by the professional card and durable in the journal before anything touches
      // the insured card. If signing fails (card pulled), nothing was written anywhere.
      // The pending card write, and the register entries of controlled products, commit in the
      // same SQLite transaction as the invoice.
      const { draft, register } = checkoutDraft(request, priced, this.cardRead(s), (code) => this.catalogue.get(code));
      const appended = await this.journal.append(draft, signer, (inv, db) => {
        writeRegisterEntries(db, inv, register, inv.document.issuedAt);
        this.writes.insert(
          {
            invoiceNumber: inv.number,
            cardSerial: inv.document.beneficiary.cardSerial,
            records: recordsOfInvoice(inv.document),
            requestId: request.requestId ?? null,
            requestHash,
          },
          db,
        );
      });
      const doc = appended.document;
      const write = this.writes.get(doc.number)!;
      this.log.info(
        {
          invoice: doc.number,
          card: maskId(doc.beneficiary.cardSerial),
          total: doc.totals.total,
          fund: doc.totals.fund,
          patient: doc.totals.patient,
          lines: doc.lines.length,
        },
        'invoice signed and journalled',
      );
      // (c) and (d). A fresh invoice number cannot be on the card yet: no need to read it first.
      const outcome = await this.recordWriter.write(card, pro, s, write, false);
      return { invoice: invoiceSummary(doc, appended.hash), cardWrite: outcome, replayed: false };
    });
  }

  private replay(w: CardWrite): CheckoutOutcome {
    const inv = this.journal.invoice(w.invoiceNumber);
    if (!inv) throw new UnknownInvoiceError(w.invoiceNumber);
    return { invoice: invoiceSummary(inv.document, inv.hash), cardWrite: writeOutcome(w, null), replayed: true };
  }

  /**
   * Cheap repair between checkouts: an invoice newer than the last noted card write (a failure
   * between the journal commit and the row, in this process). Older gaps are found at start-up.
   */
  private repairRecent(): void {
    if (this.journal.invoicesWithoutCardWrite({ recentOnly: true }).length > 0) this.reconcile();
  }

  /** Retries a pending card write now (the card must be in the reader with its PIN verified). */
  completeWrite(invoiceNumber: number): Promise<WriteOutcome> {
    return this.mutex.run(async () => {
      const w = this.writes.get(invoiceNumber);
      if (!w) throw new UnknownInvoiceError(invoiceNumber);
      if (w.state !== 'pending') return writeOutcome(w, null);
      const s = this.sessions.requireVerified();
      if (s.holder.cardSerial !== w.cardSerial) {
        throw new CardWriteStateError(`invoice ${invoiceNumber} belongs to card ${maskId(w.cardSerial)}, not to the card in the reader`);
      }
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      const { pro } = await this.professional.ready();
      return this.recordWriter.write(card, pro, s, w, true);
    });
  }

  /**
   * Abandons a pending card write: a credit note referencing the invoice (signed by the
   * professional card) and state cancelled. Records already on the card keep their invoice,
   * which stays in the journal, cancelled.
   */
  cancelWrite(invoiceNumber: number, reason?: string): Promise<WriteOutcome & { creditNote: number }> {
    return this.mutex.run(async () => {
      const w = this.writes.get(invoiceNumber);
      if (!w) throw new UnknownInvoiceError(invoiceNumber);
      if (w.state !== 'pending')
        throw new CardWriteStateError(`invoice ${invoiceNumber} is ${w.state}; only a pending card write can be cancelled`);
      const existing = this.journal.creditNoteOf(invoiceNumber);
      let creditNote: number;
      if (existing !== null) {
        creditNote = existing;
      } else {
        const { signer } = await this.professional.ready();
        // The credit note and the cancelled state commit together.
        const cn = await this.journal.creditNote(
          invoiceNumber,
          reason ?? 'dispensing abandoned: the card could not be written',
          signer,
          (inv, db) => this.writes.markCancelled(invoiceNumber, inv.number, db),
        );
        creditNote = cn.number;
      }
      this.writes.markCancelled(invoiceNumber, creditNote);
      this.log.info({ invoice: invoiceNumber, creditNote, card: maskId(w.cardSerial) }, 'card write cancelled by a credit note');
      return { ...writeOutcome(this.writes.get(invoiceNumber)!, null), creditNote };
    });
  }

  // ------------------------------------------------------------------ journal views

  invoiceDocument(number: number): {
    document: InvoiceDocument;
    hash: string;
    ack: { status: string; code: string | null; reason: string | null } | null;
    cardWrite: CardWrite | null;
    creditNote: number | null;
  } {
    const inv = this.journal.invoice(number);
    if (!inv) throw new UnknownInvoiceError(number);
    return { ...inv, cardWrite: this.writes.get(number) ?? null, creditNote: this.journal.creditNoteOf(number) };
  }

  pharmacyIdentity(): PharmacyIdentity | null {
    return this.professional.identity();
  }

  rejected(): RejectedInvoice[] {
    return this.journal.rejected();
  }

  backlog(): Backlog {
    return this.journal.backlog();
  }

  pendingWrites(): PendingWriteSummary[] {
    return this.writes.pending().map(pendingSummary);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.mutex.run(async () => undefined);
  }
}
