import type { IsoDate } from '../../common/calendar-date';
import type { InvoiceDocument } from '../../sync/invoice';
import type { Backlog } from '../../sync/journal/journal';
import type { CardHolder, CardRead, PharmacyIdentity } from './card-data';
import type { CardWrite } from './card-writes';
import type { HistoryProgress } from './events';
import type { CounterQuote } from './pricing';
import type { RightsUpdate } from './rights-update';
import type { ReaderStatus, StationMode } from './station';

/**
 * What the counter service answers (service.ts): the shapes the HTTP layer sends the page, and
 * how a card_writes row becomes one of them.
 */

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

export function invoiceSummary(doc: InvoiceDocument, hash: string): CheckoutOutcome['invoice'] {
  return { number: doc.number, hash, date: doc.date, issuedAt: doc.issuedAt, totals: doc.totals, thirdPartyPayment: doc.thirdPartyPayment };
}

export function pendingSummary(w: CardWrite): PendingWriteSummary {
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

/** The card write as it stands; `error` says why a pending one is pending (else its last recorded error). */
export function writeOutcome(w: CardWrite, error: { code: string; message: string } | null): WriteOutcome {
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
