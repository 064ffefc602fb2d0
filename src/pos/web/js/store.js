// @ts-check
/**
 * The page's state and its dispatcher. Whatever learns something — the counter's event stream
 * (events.js), a click, a scan — dispatches an event; the panels subscribe to the events they
 * draw from. The card panel does not care who saw the card arrive: the event stream only has to
 * `dispatch({ type: 'status', status })` (or a finer event) for the panel to follow.
 */

/** @typedef {import('./types.js').Status} Status */
/** @typedef {import('./types.js').CardRead} CardRead */
/** @typedef {import('./types.js').Product} Product */
/** @typedef {import('./types.js').QuoteOutcome} QuoteOutcome */
/** @typedef {import('./types.js').Warning} Warning */
/** @typedef {import('./types.js').HistoryProgress} HistoryProgress */
/** @typedef {import('./types.js').SyncProgress} SyncProgress */
/** @typedef {import('./types.js').WriteProgress} WriteProgress */
/** @typedef {import('./types.js').BatchJobProgress} BatchJobProgress */

/**
 * @typedef {object} Line  a basket line
 * @property {string} code
 * @property {number} quantity
 * @property {number} durationDays
 * @property {string} approval
 * @property {Product} product
 * @property {string} [lot]     the pack, when it was scanned
 * @property {string} [expiry]
 * @property {string} [serial]
 */

/**
 * @typedef {object} PendingScan  a barcode the catalogue does not know, kept for a manual match
 * @property {string} gtin
 * @property {string} [lot]
 * @property {string} [expiry]
 * @property {string} [serial]
 */

/**
 * @typedef {{ kind: 'ok' | 'info' | 'warn' | 'error', text: () => string }} Notice  `text` is
 *   called at each render, so a notice follows a language switch
 */

/**
 * @typedef {{ type: 'status', status: Status | null }
 *   | { type: 'card' }
 *   | { type: 'beneficiary' }
 *   | { type: 'basket', focusLine?: number }
 *   | { type: 'quote' }
 *   | { type: 'notice' }
 *   | { type: 'scan-pending' }
 *   | { type: 'language' }
 *   | { type: 'reading' }
 *   | { type: 'write-progress' }
 *   | { type: 'sync-progress' }
 *   | { type: 'live' }
 *   | { type: 'batch-job', job: BatchJobProgress }} PageEvent
 */

export const state = {
  /** @type {Status | null} the last status the server sent */
  status: null,
  /** @type {CardRead | null} what the holder's PIN opened */
  card: null,
  /** @type {string | null} the serial of the card in the reader, once opened */
  cardSerial: null,
  beneficiary: 1,
  prescription: '',
  /** @type {Line[]} */
  lines: [],
  /** @type {QuoteOutcome | null} */
  quote: null,
  /** @type {string | null} */
  quoteError: null,
  /** @type {Warning[]} */
  warnings: [],
  busy: false,
  opening: false,
  /** @type {Notice | null} */
  notice: null,
  /** @type {Map<string, Product | null>} code → product, for names in the history tables */
  catalogue: new Map(),
  /** @type {number | null} */
  rejectedShown: null,
  /** @type {PendingScan | null} */
  pendingScan: null,
  /** @type {number | null} the last receipt shown (printed again with the print shortcut) */
  lastReceipt: null,
  /** @type {number | null} index of the line the quantity shortcut goes to */
  lastLine: null,
  /** @type {HistoryProgress | null} the dispensations being read now (from the event stream), else null */
  reading: null,
  /** @type {WriteProgress | null} the card write under way, else null */
  writing: null,
  /** @type {SyncProgress | null} the upload to the fund under way, else null */
  syncing: null,
  /** The event stream is open (its `hello` received): what it would tell need not be asked for. */
  live: false,
  /** The counterfoil prescription's serial, for a basket with a product of a controlled table. */
  counterfoil: '',
  /** The prescriber of a paper prescription. */
  prescriber: '',
};

/** @typedef {PageEvent['type']} EventType */

/** @type {Map<EventType, ((e: PageEvent) => void)[]>} */
const subscribers = new Map();

/**
 * @template {EventType} K
 * @param {K} type
 * @param {(e: Extract<PageEvent, { type: K }>) => void} fn
 */
export function subscribe(type, fn) {
  const list = subscribers.get(type) ?? [];
  list.push(/** @type {(e: PageEvent) => void} */ (fn));
  subscribers.set(type, list);
}

/** @param {PageEvent} e */
export function dispatch(e) {
  if (e.type === 'status') state.status = e.status;
  for (const fn of subscribers.get(e.type) ?? []) fn(e);
}

/**
 * @param {Notice['kind']} kind
 * @param {() => string} text
 */
export function notify(kind, text) {
  state.notice = { kind, text };
  dispatch({ type: 'notice' });
}
