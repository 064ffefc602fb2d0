// @ts-check
/**
 * The counter's live events (`GET /api/events`, Server-Sent Events; docs/counter.md, "Live
 * events"): the page hears of readers and cards, of the card's reading, of card writes, of
 * uploads and of the batch close job as they happen, instead of polling.
 *
 * An EventSource cannot send the bearer token, so each connection opens with a single-use ticket
 * asked for with the token (`POST /api/events/ticket`). The browser would reconnect by itself
 * with the same, spent, ticket: on any error the page closes the source and opens a new one with
 * a new ticket, after a growing delay (0.25 s to 5 s), passing the last event id it saw so the
 * counter sends what was missed. Every connection starts with `hello`: the page then asks for the
 * status again, which also brings it back after the service restarted.
 */
import { api, ApiError } from './api.js';
import { dispatch, state } from './store.js';
import { refreshStatus } from './status.js';
import { loadCard } from './card-panel.js';

/** @typedef {import('./types.js').HistoryProgress} HistoryProgress */
/** @typedef {import('./types.js').SyncProgress} SyncProgress */
/** @typedef {import('./types.js').WriteProgress} WriteProgress */
/** @typedef {import('./types.js').BatchJobProgress} BatchJobProgress */

const MIN_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

/** @type {EventSource | null} */
let source = null;
/** @type {ReturnType<typeof setTimeout> | null} */
let timer = null;
/** @type {string | null} the id of the last event received, for the next connection */
let lastId = null;
let failures = 0;
/** The card insertion the page last heard of (read progress of another one is stale). */
let insertion = /** @type {number | null} */ (null);

/** Opens the event stream (again after a 401 once a token is given); a no-op while one is open or coming. */
export function connectEvents() {
  if (source || timer) return;
  void open();
}

function reconnectLater() {
  const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** failures);
  failures++;
  timer = setTimeout(() => {
    timer = null;
    void open();
  }, delay);
}

async function open() {
  /** @type {string} */
  let ticket;
  try {
    ticket = /** @type {{ ticket: string }} */ (await api('POST', '/events/ticket')).ticket;
  } catch (e) {
    lost();
    // A wrong token: the token screen is up; connectEvents() starts again once one is given.
    if (!(e instanceof ApiError && e.status === 401)) reconnectLater();
    return;
  }
  const query = new URLSearchParams({ ticket });
  if (lastId) query.set('lastEventId', lastId);
  const es = new EventSource(`/api/events?${query}`);
  source = es;
  es.addEventListener('hello', () => {
    failures = 0;
    setLive(true);
    // Whatever happened while the page was not listening (or in another process): ask again.
    void refreshStatus();
  });
  /**
   * @param {string} type
   * @param {(data: any) => void} handle
   */
  const on = (type, handle) =>
    es.addEventListener(type, (e) => {
      lastId = e.lastEventId || lastId;
      handle(JSON.parse(e.data));
    });
  on('station', () => void refreshStatus());
  on('card', (/** @type {{ insertion: number, stage: string }} */ d) => {
    insertion = d.insertion;
    if (d.stage === 'opened' || d.stage === 'verified' || d.stage === 'closed') void refreshStatus();
    // What the PIN opened grew: the first screen, the dispensations the quote needs, the
    // prescriptions, the whole history.
    else if (state.cardSerial !== null) void loadCard();
  });
  on('read-progress', (/** @type {{ insertion: number } & HistoryProgress} */ d) => {
    if (d.insertion !== insertion) return;
    state.reading = d.complete ? null : { read: d.read, of: d.of, complete: d.complete };
    dispatch({ type: 'reading' });
  });
  on('write-progress', (/** @type {WriteProgress} */ d) => {
    state.writing = d.state === 'writing' ? d : null;
    dispatch({ type: 'write-progress' });
  });
  on('sync-progress', (/** @type {SyncProgress} */ d) => {
    state.syncing = d.state === 'running' ? d : null;
    dispatch({ type: 'sync-progress' });
    if (d.state !== 'running') void refreshStatus();
  });
  on('batch-job', (/** @type {BatchJobProgress} */ d) => dispatch({ type: 'batch-job', job: d }));
  es.onerror = () => {
    // Closed by the counter (restart, stop) or never opened: start over with a new ticket.
    es.close();
    if (source === es) source = null;
    setLive(false);
    lost();
    reconnectLater();
  };
}

/** @param {boolean} live */
function setLive(live) {
  if (state.live === live) return;
  state.live = live;
  dispatch({ type: 'live' });
}

/** The page no longer hears the counter: say so until it does again. */
function lost() {
  if (state.status === null) return;
  dispatch({ type: 'status', status: null });
}
