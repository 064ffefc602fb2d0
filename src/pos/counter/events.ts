import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

/**
 * The counter's event bus: what the page would otherwise have to poll for. One bus per service;
 * the HTTP layer streams it as Server-Sent Events (`GET /api/events`), and anything in the
 * counter that has news publishes on it.
 *
 * Events carry states and counts, never card contents: the page reads those through the API when
 * an event says they changed. Each event gets an id `BOOT.SEQ` — BOOT is random per process, SEQ
 * counts from 1 — and the bus keeps the last `KEPT_EVENTS`, so a client that lost its connection
 * gets what it missed (`Last-Event-ID`); one whose id is from another process or too old is told
 * to reload its state instead.
 */

/** Which card a station event or a card event is about. */
export type CardRole = 'insured' | 'professional';

/** The reading of the insured card after the PIN, in the order the counter does it. */
export type ReadStage =
  /** The PIN is verified; nothing read yet. */
  | 'verified'
  /** Rights, beneficiaries and emergency data: what the first screen shows. */
  | 'rights'
  /** The dispensations the duplicate check needs: quotes and warnings can be answered. */
  | 'pricing'
  /** The prescriptions. */
  | 'prescriptions'
  /** The whole dispensation history (on demand). */
  | 'history';

export interface HistoryProgress {
  /** Dispensations read so far, newest first. */
  read: number;
  /** What the card's ring can hold (its record count once `complete`). */
  of: number;
  complete: boolean;
}

export interface CounterEventMap {
  /** A reader or a card changed (inserted, removed, reset, PC/SC lost or back). */
  station: { insured: number | null; professional: number | null; serviceAvailable: boolean; readers: number };
  /** The insured card's session: opened, a stage of its reading done, or closed. */
  card: { insertion: number; stage: 'opened' | ReadStage | 'closed' };
  /** Reading the dispensation history. */
  'read-progress': { insertion: number; file: 'dispensations' } & HistoryProgress;
  /** Writing an invoice's records on the card. */
  'write-progress': { invoiceNumber: number; written: number; records: number; state: 'writing' | 'done' | 'pending' };
  /** "Clôturer et transmettre": the batch closed on the professional card, then sent (GET /api/batches/jobs/:id for the rest). */
  'batch-job': {
    id: string;
    state: 'running' | 'done' | 'failed';
    /** The batch closed; null when the open batch held no invoice. */
    batchId: number | null;
    invoices: number;
    doneInvoices: number;
    totalInvoices: number;
    /** The fund's answer, once the job is over (null without a fund, or before). */
    accepted: number | null;
    rejected: number | null;
  };
  /** Uploading batches to the fund. */
  'sync-progress': {
    state: 'running' | 'done' | 'failed';
    doneInvoices: number;
    totalInvoices: number;
    doneBatches: number;
    totalBatches: number;
  };
}

export type CounterEventType = keyof CounterEventMap;

export interface CounterEvent<K extends CounterEventType = CounterEventType> {
  /** `BOOT.SEQ` */
  id: string;
  type: K;
  data: CounterEventMap[K];
}

/** Events kept for clients that reconnect. */
export const KEPT_EVENTS = 500;

export class CounterEvents {
  /** Random per process: an event id from another process means the client must reload. */
  readonly boot = randomBytes(6).toString('base64url');
  private seq = 0;
  private readonly kept: CounterEvent[] = [];
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open page (and per benchmark or test client): no leak warning for a few.
    this.emitter.setMaxListeners(100);
  }

  publish<K extends CounterEventType>(type: K, data: CounterEventMap[K]): CounterEvent<K> {
    const event: CounterEvent<K> = { id: `${this.boot}.${++this.seq}`, type, data };
    this.kept.push(event as CounterEvent);
    if (this.kept.length > KEPT_EVENTS) this.kept.shift();
    this.emitter.emit('event', event);
    return event;
  }

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: CounterEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /**
   * The events after `lastId`, oldest first; null when they cannot be told (an id of another
   * process, malformed, or older than what is kept): the client must reload its state.
   */
  since(lastId: string): CounterEvent[] | null {
    const m = /^([A-Za-z0-9_-]{1,16})\.(\d{1,15})$/.exec(lastId);
    if (!m || m[1] !== this.boot) return null;
    const last = Number(m[2]);
    if (last > this.seq) return null;
    if (last === this.seq) return [];
    const first = this.kept[0];
    const firstSeq = first ? Number(first.id.slice(this.boot.length + 1)) : this.seq + 1;
    if (last + 1 < firstSeq) return null;
    return this.kept.slice(last + 1 - firstSeq);
  }

  /** Listeners now subscribed (the open event streams). */
  get subscribers(): number {
    return this.emitter.listenerCount('event');
  }
}
