import type { Logger } from 'pino';
import { InvalidInputError } from '../../common/errors';
import { maskId } from '../../common/log';
import { draftFromSplit, type InvoiceDocument, type InvoiceDraft } from '../../sync/invoice';
import type { Backlog, RejectedInvoice } from '../../sync/journal/journal';
import type { Signer } from '../../sync/signer';
import type { CatalogueStore } from '../../billing/catalogue/store';
import { today as localToday, type IsoDate } from '../../common/calendar-date';
import type { RuleBook } from '../../billing/rules/load';
import { REASONS } from '../../billing/split';
import type { SignedRights } from '../../sync/rights';
import type {
  Beneficiary,
  CardHolder,
  CardRead,
  CardRights,
  DispensationRecord,
  EmergencyData,
  PharmacyIdentity,
  PrescriptionRecord,
} from './card-data';
import { CardWriteStore, type CardWrite } from './card-writes';
import {
  CardGoneError,
  CardWriteStateError,
  CounterError,
  PinBlockedError,
  PinRequiredError,
  QuoteChangedError,
  RequestIdReusedError,
  UnknownInvoiceError,
} from './errors';
import { CounterEvents, type HistoryProgress, type ReadStage } from './events';
import { CardHistory, DEFAULT_HORIZON, horizonRule, sinceRule, type HorizonOptions } from './history';
import type { InvoiceJournalPort } from './journal';
import { Mutex } from '../../common/mutex';
import { cardUsableUntil, historyWindow, priceBasket, withCategories, type CounterQuote } from './pricing';
import { missingRecords, recordsOfInvoice } from './records';
import { basketFingerprint, type CheckoutRequest, type CounterQuoteRequest } from './request';
import { controlledLines, registerLines, requireCounterfoil } from './controlled';
import { writeRegisterEntries } from '../../sync/journal/register';
import type { CardStation, InsuredCardPort, ProfessionalCardPort, ReaderStatus, StationMode } from './station';
import type { PinResult } from '../../card/chifa';

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

/** What the PIN opened, as far as it has been read. */
interface SessionData {
  beneficiaries: Beneficiary[];
  rights: CardRights;
  emergency: EmergencyData;
  /** Null until read (after the duplicate check's dispensations). */
  prescriptions: PrescriptionRecord[] | null;
  history: CardHistory;
  /** The dispensations the duplicate check needs are read: quotes can be answered. */
  priced: boolean;
}

interface Session {
  insertion: number;
  holder: CardHolder;
  pinRetriesLeft: number | null;
  /**
   * What the PIN opened (kept up to date after writes), while the card holds the PIN verified:
   * null from any VERIFY until it succeeds and the first files are read, and the session itself
   * ends with the insertion.
   */
  read: SessionData | null;
  /**
   * The professional card (its insertion) this insured card has authenticated in this session:
   * the card keeps that until it is reset or leaves the reader, so checkouts need not repeat it.
   */
  authenticated: number | null;
  /** The last online rights update of this card (null: not needed, or not tried yet). */
  rights: RightsUpdate | null;
}

/**
 * Where the counter gets a card's current rights online (the fund: rights-source.ts). The request
 * is authenticated with the professional card's `signer`, which the counter lends under its lock.
 * Throws a typed error (fund unreachable, unknown card, a signature that is not the fund's); never
 * returns rights it did not verify.
 */
export interface RightsSource {
  fetch(cardSerial: string, signer: Signer): Promise<SignedRights>;
}

/**
 * The online rights update of the card in the reader (docs/counter.md, "Expired cards"): asked of
 * the fund when the card or its rights have expired.
 * - `updated`: the fund's newer rights were verified, written to the card and read back: the
 *   counter prices with them;
 * - `current`: the fund has nothing newer than the card: the card's rights stand;
 * - `failed`: no fund answer the counter could use, or the card refused it;
 * - `unavailable`: no fund is configured.
 * In the last two the counter prices with the card as it is (third-party payment refused for the
 * expiry) and `message` says why it could not do better.
 */
export interface RightsUpdate {
  status: 'updated' | 'current' | 'failed' | 'unavailable';
  /** A stable code for `failed` / `unavailable` (`no-fund`, `fund-unreachable`, `unknown-card`, `bad-fund-signature`, `card-refused-rights`, …). */
  code: string | null;
  message: string;
  /** The fund's version of the rights now on the card, when known. */
  sequence: number | null;
  at: string;
}

/** How far the reading of the card has got. */
export interface ReadingState {
  prescriptions: boolean;
  history: HistoryProgress;
}

/** What the PIN opened so far, and how far the reading has got (`GET /api/card`). */
export interface CardView extends CardRead {
  reading: ReadingState;
}

export interface PendingWriteSummary {
  invoiceNumber: number;
  cardSerial: string;
  records: number;
  written: number;
  attempts: number;
  createdAt: string;
  lastError: string | null;
}

export interface CounterStatus {
  mode: StationMode;
  serviceAvailable: boolean;
  readers: ReaderStatus[];
  today: IsoDate;
  busy: boolean;
  insured: {
    present: boolean;
    opened: boolean;
    verified: boolean;
    holder: CardHolder | null;
    pinRetriesLeft: number | null;
    /** Pending card writes for the card in the reader. */
    pendingWrites: number[];
    /** The card's online rights update, when one was needed. */
    rights: RightsUpdate | null;
  };
  professional: { present: boolean; unlocked: boolean; pharmacy: PharmacyIdentity | null };
  pendingWrites: PendingWriteSummary[];
  sync: Backlog | null;
  demo: { insuredPin: string; professionalPin?: string } | null;
}

export interface WriteOutcome {
  invoiceNumber: number;
  state: 'pending' | 'done' | 'cancelled';
  /** Records this invoice puts on the card, and how many are confirmed there. */
  records: number;
  written: number;
  error: { code: string; message: string } | null;
}

export type VerifyOutcome =
  { result: 'ok'; card: CardView; recovery: WriteOutcome[]; rights: RightsUpdate | null } | { result: 'wrong-pin'; retriesLeft: number };

export interface CheckoutOutcome {
  invoice: { number: number; hash: string; date: IsoDate; issuedAt: string; totals: InvoiceDocument['totals']; thirdPartyPayment: boolean };
  cardWrite: WriteOutcome;
  /** True when this request was already done (same requestId): nothing new was signed. */
  replayed: boolean;
}

export interface QuoteOutcome {
  quote: CounterQuote['quote'];
  warnings: CounterQuote['warnings'];
  beneficiary: CounterQuote['beneficiary'];
  /** Why the fund does not pay at the counter, for people — with what the online rights update could not do, for an expired card. */
  reasonText: string | null;
  /** The card's prescription the basket is dispensed against: per product, prescribed, dispensed, remaining. */
  prescription: CounterQuote['prescription'];
  /** The card's online rights update, when one was needed. */
  rights: RightsUpdate | null;
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
  private readonly rightsSource: RightsSource | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly horizon: HorizonOptions;
  private readonly mutex = new Mutex();
  private session: Session | null = null;
  private pharmacy: { insertion: number; identity: PharmacyIdentity } | null = null;
  private readonly unsubscribe: () => void;

  constructor(deps: CounterDeps) {
    this.station = deps.station;
    this.catalogue = deps.catalogue;
    this.rules = deps.rules;
    this.journal = deps.journal;
    this.isBlacklisted = deps.isBlacklisted;
    this.rightsSource = deps.rights;
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
    this.horizon = deps.horizon ?? DEFAULT_HORIZON;
    this.events = deps.events ?? new CounterEvents();
    this.writes = new CardWriteStore(this.journal.db, this.now);
    this.unsubscribe = this.station.onChange(() => this.stationChanged());
  }

  /** A reader or card changed: a pulled card's session ends now, and the page hears of it. */
  private stationChanged(): void {
    const st = this.station.status();
    this.currentSession(st.insured);
    this.events.publish('station', {
      insured: st.insured,
      professional: st.professional,
      serviceAvailable: st.serviceAvailable,
      readers: st.readers.length,
    });
  }

  private publishCard(s: Session, stage: 'opened' | ReadStage | 'closed'): void {
    this.events.publish('card', { insertion: s.insertion, stage });
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
    const created: number[] = [];
    const cancelled: number[] = [];
    for (const number of this.journal.invoicesWithoutCardWrite()) {
      const inv = this.journal.invoice(number);
      if (!inv) continue;
      const credit = this.journal.creditNoteOf(number);
      this.writes.insert({
        invoiceNumber: number,
        cardSerial: inv.document.beneficiary.cardSerial,
        records: recordsOfInvoice(inv.document),
        state: credit === null ? 'pending' : 'cancelled',
        creditNote: credit,
      });
      created.push(number);
    }
    for (const w of this.writes.pending()) {
      const credit = this.journal.creditNoteOf(w.invoiceNumber);
      if (credit !== null) {
        this.writes.markCancelled(w.invoiceNumber, credit);
        cancelled.push(w.invoiceNumber);
      }
    }
    if (created.length > 0 || cancelled.length > 0) this.log.warn({ created, cancelled }, 'card writes repaired from the journal');
    return { created, cancelled };
  }

  // ------------------------------------------------------------------ status

  status(): CounterStatus {
    const st = this.station.status();
    const session = this.currentSession(st.insured);
    const pending = this.writes.pending();
    let pro: CounterStatus['professional'] = { present: st.professional !== null, unlocked: false, pharmacy: null };
    if (st.professional !== null) {
      try {
        const p = this.station.professional();
        pro = {
          present: true,
          unlocked: p.unlocked,
          pharmacy: this.pharmacy && this.pharmacy.insertion === p.insertion ? this.pharmacy.identity : null,
        };
      } catch {
        pro = { present: false, unlocked: false, pharmacy: null };
      }
    }
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
      professional: pro,
      pendingWrites: pending.map(summary),
      sync,
      demo: this.station.demoHints ?? null,
    };
  }

  /** The session if it still belongs to the card in the reader; drops it otherwise. */
  private currentSession(insertion: number | null): Session | null {
    if (this.session && this.session.insertion !== insertion) this.closeSession(this.session, 'insured card removed; session closed');
    return this.session;
  }

  private closeSession(s: Session, why: string): void {
    if (this.session !== s) return;
    this.log.info({ card: maskId(s.holder.cardSerial) }, why);
    this.session = null;
    this.publishCard(s, 'closed');
  }

  /** A card call of session `s` failed: a pulled card's session is over (its PIN state went with it). */
  private cardFailed(s: Session, err: unknown): void {
    const code = describeError(err).code;
    if (code === 'card-removed' || code === 'no-card') this.closeSession(s, 'insured card gone; session closed');
  }

  /** The session of the card now in the reader, opening it (holder, no PIN) on first use. */
  private async openedSession(card: InsuredCardPort): Promise<Session> {
    const current = this.currentSession(card.insertion);
    if (current) return current;
    const opened = await card.open();
    const s: Session = {
      insertion: card.insertion,
      holder: opened.holder,
      pinRetriesLeft: opened.pinRetriesLeft,
      read: null,
      rights: null,
      authenticated: null,
    };
    this.session = s;
    this.log.info({ card: maskId(s.holder.cardSerial), pending: this.writes.pending(s.holder.cardSerial).length }, 'insured card opened');
    this.publishCard(s, 'opened');
    return s;
  }

  // ------------------------------------------------------------------ insured card

  /** Opens the insured card in the reader (holder identity, no PIN). Idempotent per insertion. */
  openCard(): Promise<{ holder: CardHolder; pinRetriesLeft: number | null; verified: boolean; pendingWrites: number[] }> {
    return this.mutex.run(async () => {
      const card = this.station.insured();
      const s = await this.openedSession(card);
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
      const s = await this.openedSession(card);
      const r = await this.presentPin(card, s, pin);
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
      this.publishCard(s, 'verified');
      try {
        await this.readFirstScreen(card, s);
        s.rights = await this.updateRights(card, s);
        await this.readToHorizon(card, s);
      } catch (err) {
        // The session stays without data, and the page asks for the PIN again.
        s.read = null;
        this.cardFailed(s, err);
        throw err;
      }
      this.log.info({ card: maskId(s.holder.cardSerial), dispensations: s.read!.history.records.length }, 'PIN verified; card read');
      const recovery = await this.recoverFor(card, s);
      this.warmUp(s);
      return { result: 'ok', card: this.view(s), recovery, rights: s.rights };
    });
  }

  /** Rights, beneficiaries, emergency data: what the page shows first. */
  private async readFirstScreen(card: InsuredCardPort, s: Session): Promise<void> {
    const rights = await card.readRights();
    const beneficiaries = await card.readBeneficiaries();
    const emergency = await card.readEmergency();
    const history = new CardHistory(
      (from) => card.dispensations(from),
      card.historyCapacity,
      (p) => this.events.publish('read-progress', { insertion: s.insertion, file: 'dispensations', ...p }),
    );
    s.read = { rights, beneficiaries, emergency, prescriptions: null, history, priced: false };
    this.publishCard(s, 'rights');
  }

  /**
   * The dispensations back to the horizon (history.ts): from then on quotes and warnings can be
   * answered — the rules' per-period limits' window included.
   */
  private async readToHorizon(card: InsuredCardPort, s: Session): Promise<void> {
    const data = s.read!;
    if (data.priced) return;
    if (card.insertion !== s.insertion) throw new CardGoneError();
    const rule = this.rules.find(this.today());
    await data.history.readUntil(horizonRule(this.today(), this.horizon, rule ? historyWindow(rule) : 0));
    data.priced = true;
    this.publishCard(s, 'pricing');
  }

  /** The prescription on the card a basket is dispensed against, if the card holds it (the prescriptions read). */
  private prescriptionFor(s: Session, request: CounterQuoteRequest): PrescriptionRecord | undefined {
    const ref = request.prescription;
    return ref === undefined ? undefined : s.read!.prescriptions?.find((p) => p.reference === ref);
  }

  /** Whether what is read answers `request`: the horizon, and for a card's prescription what was dispensed against it. */
  private readEnoughFor(s: Session, request: CounterQuoteRequest): boolean {
    const d = s.read!;
    if (!d.priced) return false;
    if (request.prescription === undefined) return true;
    if (d.prescriptions === null) return false;
    const p = this.prescriptionFor(s, request);
    return p === undefined || d.history.reaches(sinceRule(p.date, this.horizon));
  }

  /** Reads what `request` needs and is not read yet (the caller holds the lock). */
  private async readFor(card: InsuredCardPort, s: Session, request: CounterQuoteRequest): Promise<void> {
    try {
      await this.readToHorizon(card, s);
      if (request.prescription === undefined) return;
      await this.readPrescriptions(card, s);
      const p = this.prescriptionFor(s, request);
      // The records dispensed against it are dated from its date on.
      if (p) await s.read!.history.readUntil(sinceRule(p.date, this.horizon));
    } catch (err) {
      this.cardFailed(s, err);
      throw err;
    }
  }

  private async readPrescriptions(card: InsuredCardPort, s: Session): Promise<void> {
    const data = s.read!;
    if (data.prescriptions !== null) return;
    data.prescriptions = await card.readPrescriptions();
    this.publishCard(s, 'prescriptions');
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
        if (this.session !== s || s.read === null) return;
        let card: InsuredCardPort;
        try {
          card = this.station.insured();
        } catch {
          return;
        }
        if (card.insertion !== s.insertion) return;
        try {
          await this.readPrescriptions(card, s);
          const pro = this.unlockedProfessional();
          if (pro) await this.authenticateOnce(card, pro, s);
        } catch (err) {
          this.cardFailed(s, err);
          this.log.warn({ card: maskId(s.holder.cardSerial), error: describeError(err).code }, 'reading after the PIN stopped');
        }
      })
      .catch(() => undefined);
  }

  /** The professional card if it is in its reader and unlocked, else null. */
  private unlockedProfessional(): ProfessionalCardPort | null {
    try {
      const pro = this.station.professional();
      return pro.unlocked ? pro : null;
    } catch {
      return null;
    }
  }

  /**
   * The professional card authenticated to the insured card, once per card session (and again
   * if another professional card is used): PSO: VERIFY CERTIFICATE, GET CHALLENGE, INTERNAL
   * AUTHENTICATE on the professional card, EXTERNAL AUTHENTICATE — three ECDSA operations.
   */
  private async authenticateOnce(card: InsuredCardPort, pro: ProfessionalCardPort, s: Session): Promise<void> {
    if (s.authenticated === pro.insertion) return;
    s.authenticated = null;
    await card.authenticate(pro);
    s.authenticated = pro.insertion;
  }

  /**
   * Reads the rest of the dispensation history (the page's history tab), publishing progress;
   * answers what the PIN opened, the whole history included.
   */
  readHistory(): Promise<CardView> {
    return this.mutex.run(async () => {
      const s = this.requireVerified();
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      try {
        await s.read!.history.readAll();
      } catch (err) {
        this.cardFailed(s, err);
        throw err;
      }
      this.publishCard(s, 'history');
      return this.view(s);
    });
  }

  /** Resolves once nothing is running or queued on the cards (the reads after a PIN included). */
  settled(): Promise<void> {
    return this.mutex.run(async () => undefined);
  }

  /**
   * Sends one VERIFY. From that moment the session is no longer verified, whatever it was: a
   * failed comparison ends the card's verified state for the PIN (ISO 7816-4 §11.5.6 lets the
   * comparison modify the security status; the emulator, like Java Card PIN objects, clears it),
   * a blocked PIN verifies nothing, and a VERIFY cut short leaves the card's state unknown. Only
   * the caller's success (and the read that follows) makes it verified again. A PIN of the wrong
   * shape for the card is refused before it is sent (InvalidInputError): nothing changes.
   */
  private async presentPin(card: InsuredCardPort, s: Session, pin: string): Promise<PinResult> {
    const was = s.read;
    s.read = null;
    try {
      return await card.verifyPin(pin);
    } catch (err) {
      if (err instanceof InvalidInputError) s.read = was;
      throw err;
    }
  }

  /**
   * Before anything is signed, asks the card whether it still holds the PIN verified (an empty
   * VERIFY: no try spent). The station sees pulls, power losses and resets, but not another
   * application sharing the card (PC/SC shared mode) presenting a PIN in between; signing then
   * would leave an invoice whose card write the card refuses.
   */
  private async confirmPin(card: InsuredCardPort, s: Session): Promise<void> {
    const st = await card.pinStatus();
    if (st === null || st.kind === 'verified') return;
    s.read = null;
    s.pinRetriesLeft = st.kind === 'blocked' ? 0 : st.retriesLeft;
    this.log.warn({ card: maskId(s.holder.cardSerial) }, 'the card no longer holds the PIN verified; the PIN is needed again');
    throw new PinRequiredError();
  }

  /** What the PIN opened so far, for the page (after a reload, or as the reading goes on). */
  card(): CardView {
    return this.view(this.requireVerified());
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
      const s = this.requireVerified();
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      s.rights = await this.updateRights(card, s);
      return s.rights;
    });
  }

  /** The card's rights with the names and labels today's rules give their category codes (for people). */
  private named(read: CardRead): CardRead {
    const rule = this.rules.find(this.today());
    return rule ? withCategories(read, rule) : read;
  }

  /** True when the card, the insured's rights or a beneficiary's own rights have expired today. */
  private rightsExpired(read: CardRead): boolean {
    const today = this.today();
    const r = read.rights;
    return today > cardUsableUntil(read) || today > r.rightsEnd || r.beneficiaryRights.some((b) => today > b.rightsEnd);
  }

  /**
   * The online rights update (docs/counter.md, "Expired cards"), when the card or its rights have
   * expired: the fund's signed rights, verified here, written to the card (which verifies them
   * again and refuses anything not newer), then read back — the counter prices with what the card
   * holds, never with rights the card did not take. The caller holds the lock.
   */
  private async updateRights(card: InsuredCardPort, s: Session): Promise<RightsUpdate | null> {
    const read = this.cardRead(s);
    if (!this.rightsExpired(read)) return null;
    const at = this.now().toISOString();
    const serial = maskId(read.holder.cardSerial);
    const failed = (status: 'failed' | 'unavailable', code: string, message: string): RightsUpdate => {
      this.log.warn({ card: serial, code }, 'the card has expired rights and they could not be updated online');
      return { status, code, message, sequence: read.rights.sequence, at };
    };
    if (!this.rightsSource) {
      return failed(
        'unavailable',
        'no-fund',
        'no fund is configured: the counter cannot ask for the current rights of an expired card, so it cannot serve it with third-party payment (the patient pays and claims later)',
      );
    }
    let signer: Signer;
    try {
      signer = (await this.readyProfessional()).signer;
    } catch (err) {
      const e = describeError(err);
      return failed('failed', e.code, `the fund is asked with the pharmacist's card, which is not ready: ${e.message}`);
    }
    let got: SignedRights;
    try {
      got = await this.rightsSource.fetch(read.holder.cardSerial, signer);
    } catch (err) {
      const e = describeError(err);
      const why: Record<string, string> = {
        'fund-unreachable': 'the fund cannot be reached',
        'unknown-card': 'the fund has no rights for this card',
        'bad-fund-signature': "the answer is not signed by the fund's key",
        'fund-cert-untrusted': "the answer is not signed by the fund's key",
      };
      return failed('failed', e.code, `${why[e.code] ?? 'the fund did not give the current rights'}: ${e.message}`);
    }
    if (got.document.sequence <= read.rights.sequence) {
      return { status: 'current', code: null, message: 'the fund has no newer rights for this card', sequence: read.rights.sequence, at };
    }
    // Presenting the fund's certificate ends the professional card's authentication on the card.
    s.authenticated = null;
    const r = await card.updateRights(got.certificate, got.jws);
    if (r.kind !== 'ok') {
      const why =
        r.kind === 'certificateRejected' ? "the card refused the fund's certificate" : `the card refused the document (${r.reason})`;
      return failed('failed', 'card-refused-rights', `${why}: its rights are unchanged`);
    }
    s.read!.rights = await card.readRights();
    this.publishCard(s, 'rights');
    this.log.info({ card: serial, sequence: got.document.sequence, rightsEnd: got.document.rights.rightsEnd }, 'rights updated online');
    return {
      status: 'updated',
      code: null,
      message: `rights updated online by the fund (version ${got.document.sequence}, valid until ${got.document.rights.rightsEnd})`,
      sequence: got.document.sequence,
      at,
    };
  }

  private requireOpen(): Session {
    const st = this.station.status();
    const s = this.currentSession(st.insured);
    if (st.insured === null) {
      this.station.insured(); // throws the right CardMissingError / service error
    }
    if (!s) throw new PinRequiredError();
    return s;
  }

  private requireVerified(): Session {
    const s = this.requireOpen();
    if (s.read === null) throw new PinRequiredError();
    return s;
  }

  // ------------------------------------------------------------------ professional card

  verifyProfessionalPin(pin: string): Promise<{ result: 'ok'; pharmacy: PharmacyIdentity } | { result: 'wrong-pin'; retriesLeft: number }> {
    return this.mutex.run(async () => {
      const pro = this.station.professional();
      const r = await pro.verifyPin(pin);
      if (r.kind === 'wrongPin') {
        if (r.retriesLeft === 0) throw new PinBlockedError('professional');
        return { result: 'wrong-pin', retriesLeft: r.retriesLeft };
      }
      if (r.kind === 'blocked') throw new PinBlockedError('professional');
      const identity = await this.identityOf(pro);
      this.log.info({ pharmacy: identity.pharmacyId }, 'professional card unlocked');
      return { result: 'ok', pharmacy: identity };
    });
  }

  private async identityOf(pro: ProfessionalCardPort): Promise<PharmacyIdentity> {
    if (this.pharmacy && this.pharmacy.insertion === pro.insertion) return this.pharmacy.identity;
    const identity = await pro.identity();
    this.pharmacy = { insertion: pro.insertion, identity };
    return identity;
  }

  /** The professional card, unlocked, and its signer: what checkout, recovery and cancel need. */
  private async readyProfessional(): Promise<{ pro: ProfessionalCardPort; signer: Signer; identity: PharmacyIdentity }> {
    const pro = this.station.professional();
    if (!pro.unlocked) throw new PinRequiredError('professional');
    const identity = await this.identityOf(pro);
    return { pro, signer: await pro.signer(), identity };
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
        signer = (await this.readyProfessional()).signer;
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
    return this.mutex.run(async () => fn((await this.readyProfessional()).signer));
  }

  /** The counter's blacklist on a card and a day (false without one): what the fund will apply. */
  blacklistedOn(cardSerial: string, date: IsoDate): boolean {
    return this.isBlacklisted?.(cardSerial, date) ?? false;
  }

  /** Best-effort identity of the professional card for the status and receipts (no PIN needed). */
  async refreshProfessional(): Promise<void> {
    try {
      await this.mutex.run(async () => {
        await this.identityOf(this.station.professional());
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
    let s = this.requireVerified();
    if (!this.readEnoughFor(s, request)) {
      s = await this.mutex.run(async () => {
        const cur = this.requireVerified();
        if (!this.readEnoughFor(cur, request)) {
          const card = this.station.insured();
          if (card.insertion !== cur.insertion) throw new CardGoneError();
          await this.readFor(card, cur, request);
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
      const s = this.requireVerified();
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      await this.readFor(card, s, request);
      try {
        await this.confirmPin(card, s);
      } catch (err) {
        this.cardFailed(s, err);
        throw err;
      }
      this.repairRecent();
      const { pro, signer } = await this.readyProfessional();
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
      const read = this.cardRead(s);
      // A product of a controlled table needs its counterfoil prescription's serial (controlled.ts).
      const controlled = controlledLines(
        request.lines.map((l) => l.code),
        (code) => this.catalogue.get(code),
      );
      requireCounterfoil(controlled, request.counterfoil);
      const prescription = prescriptionFor(read, request);
      const draft = draftFromSplit({
        split: q,
        basket: priced.basket,
        context: priced.context,
        fund: read.rights.fund,
        beneficiary: { cardSerial: read.holder.cardSerial, rank: priced.beneficiary.rank, insuredId: read.holder.ssn },
        ...(prescription !== undefined ? { prescription } : {}),
        details: request.lines.map((l, i) => ({
          label: q.lines[i]!.description ?? l.code,
          durationDays: l.durationDays!,
          ...(l.lot !== undefined ? { lot: l.lot } : {}),
          ...(l.expiry !== undefined ? { expiry: l.expiry } : {}),
          ...(l.serial !== undefined ? { serial: l.serial } : {}),
        })),
        itemLabels: Object.fromEntries(q.items.map((it) => [it.id, it.label.fr])),
      });
      // (b) signed by the professional card and durable in the journal before anything touches
      // the insured card. If signing fails (card pulled), nothing was written anywhere.
      // The pending card write, and the register entries of controlled products, commit in the
      // same SQLite transaction as the invoice.
      const register =
        request.counterfoil !== undefined
          ? registerLines(draft, controlled, read, { counterfoil: request.counterfoil, prescriber: request.prescriber })
          : [];
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
      const outcome = await this.writeRecords(card, pro, s, write, false);
      return { invoice: invoiceSummary(doc, appended.hash), cardWrite: outcome, replayed: false };
    });
  }

  private replay(w: CardWrite): CheckoutOutcome {
    const inv = this.journal.invoice(w.invoiceNumber);
    if (!inv) throw new UnknownInvoiceError(w.invoiceNumber);
    return { invoice: invoiceSummary(inv.document, inv.hash), cardWrite: outcomeOf(w, null), replayed: true };
  }

  /**
   * Cheap repair between checkouts: an invoice newer than the last noted card write (a failure
   * between the journal commit and the row, in this process). Older gaps are found at start-up.
   */
  private repairRecent(): void {
    if (this.journal.invoicesWithoutCardWrite({ recentOnly: true }).length > 0) this.reconcile();
  }

  /**
   * Puts the missing records of `write` on the card. With `readFirst`, reads the card's
   * dispensations back to the invoice's date and appends only what is missing (recovery); the
   * caller holds the mutex. Never throws for a card failure: the write stays pending and the
   * outcome says why.
   */
  private async writeRecords(
    card: InsuredCardPort,
    pro: ProfessionalCardPort,
    s: Session,
    write: CardWrite,
    readFirst: boolean,
  ): Promise<WriteOutcome> {
    let written = 0;
    let todo = write.records;
    const progress = (state: 'writing' | 'done' | 'pending') =>
      this.events.publish('write-progress', { invoiceNumber: write.invoiceNumber, written, records: write.records.length, state });
    try {
      const history = s.read!.history;
      if (readFirst && write.records.length > 0) {
        await history.readUntil(sinceRule(write.records[0]!.date, this.horizon));
        todo = missingRecords(write.records, history.records);
      }
      const already = write.records.length - todo.length;
      written = already;
      progress('writing');
      if (todo.length > 0) {
        const onWritten = () => {
          written++;
          progress('writing');
        };
        await this.authenticateOnce(card, pro, s);
        try {
          await card.appendDispensations(todo, onWritten);
        } catch (err) {
          // The card no longer holds the authentication (another application on a shared card,
          // a reset the station did not see) and refused the first record: authenticate again.
          if (written !== already || describeError(err).code !== 'professional-auth-required') throw err;
          s.authenticated = null;
          await this.authenticateOnce(card, pro, s);
          await card.appendDispensations(todo, onWritten);
        }
      }
      this.writes.markDone(write.invoiceNumber);
      history.appended(todo);
      progress('done');
      this.log.info(
        { invoice: write.invoiceNumber, card: maskId(write.cardSerial), appended: todo.length, alreadyOnCard: already },
        'card write done',
      );
      return {
        invoiceNumber: write.invoiceNumber,
        state: 'done',
        records: write.records.length,
        written: write.records.length,
        error: null,
      };
    } catch (err) {
      const e = describeError(err);
      this.writes.attemptFailed(write.invoiceNumber, written, `${e.code}: ${e.message}`);
      progress('pending');
      this.log.warn(
        { invoice: write.invoiceNumber, card: maskId(write.cardSerial), written, of: write.records.length, error: e.code },
        'card write incomplete; it stays pending',
      );
      // What the counter read no longer tells what is on the card, nor whether the card still
      // holds the authentication: both are done again when next needed. A pulled card's session
      // is over (its PIN state went with it).
      if (s.read) {
        s.read.history.forget();
        s.read.priced = false;
      }
      s.authenticated = null;
      this.cardFailed(s, err);
      return { invoiceNumber: write.invoiceNumber, state: 'pending', records: write.records.length, written, error: e };
    }
  }

  /** After a PIN verification: completes this card's pending writes, oldest first. */
  private async recoverFor(card: InsuredCardPort, s: Session): Promise<WriteOutcome[]> {
    const pending = this.writes.pending(s.holder.cardSerial);
    if (pending.length === 0) return [];
    let ready: { pro: ProfessionalCardPort };
    try {
      ready = await this.readyProfessional();
    } catch (err) {
      const e = describeError(err);
      return pending.map((w) => outcomeOf(w, e));
    }
    const out: WriteOutcome[] = [];
    for (const w of pending) {
      const o = await this.writeRecords(card, ready.pro, s, w, true);
      out.push(o);
      if (o.state !== 'done') {
        // The card is gone or refusing: leave the others for the next time.
        for (const rest of pending.slice(out.length)) out.push(outcomeOf(rest, o.error));
        break;
      }
    }
    return out;
  }

  /** Retries a pending card write now (the card must be in the reader with its PIN verified). */
  completeWrite(invoiceNumber: number): Promise<WriteOutcome> {
    return this.mutex.run(async () => {
      const w = this.writes.get(invoiceNumber);
      if (!w) throw new UnknownInvoiceError(invoiceNumber);
      if (w.state !== 'pending') return outcomeOf(w, null);
      const s = this.requireVerified();
      if (s.holder.cardSerial !== w.cardSerial) {
        throw new CardWriteStateError(`invoice ${invoiceNumber} belongs to card ${maskId(w.cardSerial)}, not to the card in the reader`);
      }
      const card = this.station.insured();
      if (card.insertion !== s.insertion) throw new CardGoneError();
      const { pro } = await this.readyProfessional();
      return this.writeRecords(card, pro, s, w, true);
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
        const { signer } = await this.readyProfessional();
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
      return { ...outcomeOf(this.writes.get(invoiceNumber)!, null), creditNote };
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
    return this.pharmacy?.identity ?? null;
  }

  rejected(): RejectedInvoice[] {
    return this.journal.rejected();
  }

  backlog(): Backlog {
    return this.journal.backlog();
  }

  pendingWrites(): PendingWriteSummary[] {
    return this.writes.pending().map(summary);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.mutex.run(async () => undefined);
  }
}

function prescriptionOf(read: CardRead, reference: string): { reference: string; date?: IsoDate; prescriber?: string } {
  const p = read.prescriptions.find((x) => x.reference === reference);
  if (!p) return { reference };
  return { reference, date: p.date, prescriber: `${p.prescriberId} (${p.speciality})` };
}

/**
 * The invoice's prescription: the card's e-prescription named, or a paper one; a counterfoil
 * prescription without another reference is referenced by its serial.
 */
function prescriptionFor(read: CardRead, request: CheckoutRequest): InvoiceDraft['prescription'] {
  const reference = request.prescription ?? request.counterfoil;
  if (reference === undefined) return undefined;
  const p = prescriptionOf(read, reference);
  return {
    ...p,
    ...(p.prescriber === undefined && request.prescriber !== undefined ? { prescriber: request.prescriber } : {}),
    ...(request.counterfoil !== undefined ? { counterfoil: request.counterfoil } : {}),
  };
}

function invoiceSummary(doc: InvoiceDocument, hash: string): CheckoutOutcome['invoice'] {
  return { number: doc.number, hash, date: doc.date, issuedAt: doc.issuedAt, totals: doc.totals, thirdPartyPayment: doc.thirdPartyPayment };
}

function summary(w: CardWrite): PendingWriteSummary {
  return {
    invoiceNumber: w.invoiceNumber,
    cardSerial: w.cardSerial,
    records: w.records.length,
    written: w.written,
    attempts: w.attempts,
    createdAt: w.createdAt,
    lastError: w.lastError,
  };
}

function outcomeOf(w: CardWrite, error: { code: string; message: string } | null): WriteOutcome {
  const lastError = w.lastError
    ? { code: w.lastError.split(':')[0]!, message: w.lastError.slice(w.lastError.indexOf(':') + 1).trim() }
    : null;
  return {
    invoiceNumber: w.invoiceNumber,
    state: w.state,
    records: w.records.length,
    written: w.state === 'done' ? w.records.length : w.written,
    error: w.state === 'pending' ? (error ?? lastError) : null,
  };
}

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CounterError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'card-error', message: typeof e?.message === 'string' ? e.message : String(err) };
}

export type { DispensationRecord };
