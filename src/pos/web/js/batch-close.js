// @ts-check
/**
 * "Clôturer et transmettre" (docs/counter.md): closes the open batch, its manifest signed on the
 * professional card, and sends it to the fund — POST /api/batches/close, then the job followed
 * until it ends, each step said under the button.
 *
 * The job is followed through the counter's `batch-job` events (events.js) while the event
 * stream is open. The job is read by id (GET /api/batches/jobs/:id) only for what the events
 * cannot tell: once when the stream comes back or is lost (events may have been missed), every
 * POLL_MS while it is down (the back office page has no stream), and when the job failed (the
 * event carries no reason).
 */
import { api, errorText } from './api.js';
import { $, $button } from './dom.js';
import { t, tn } from './i18n.js';
import { state, subscribe } from './store.js';

/** @typedef {import('./types.js').BatchJob} BatchJob */
/** @typedef {import('./types.js').BatchJobProgress} BatchJobProgress */

const POLL_MS = 500;
/** Jobs whose last event is kept: a job's events may arrive before the POST that started it answers. */
const KEPT_JOBS = 8;

/** @type {Map<string, BatchJobProgress>} the last event heard of each recent job */
const heard = new Map();
/** @type {Set<() => void>} the jobs being followed, woken by an event or by the stream opened or lost */
const waiting = new Set();

subscribe('batch-job', ({ job }) => {
  heard.delete(job.id);
  heard.set(job.id, job);
  if (heard.size > KEPT_JOBS) heard.delete(/** @type {string} */ (heard.keys().next().value));
  for (const wake of [...waiting]) wake();
});
subscribe('live', () => {
  for (const wake of [...waiting]) wake();
});

/** @param {BatchJob} job */
function describe(job) {
  const parts = [job.closed ? tn('batch.closed', job.closed.count, { batch: job.closed.batchId }) : t('batch.empty')];
  if (!job.fundConfigured) parts.push(t('batch.noFund', { command: 'chifa sync' }));
  else if (job.state === 'running' && job.upload)
    parts.push(t('batch.sending', { done: job.upload.progress.doneInvoices, total: job.upload.progress.totalInvoices }));
  else if (job.state === 'done' && job.upload)
    parts.push(t('batch.answered', { accepted: job.upload.accepted, rejected: job.upload.rejected }));
  if (job.state === 'failed' && job.error) parts.push(t('batch.failed', { error: job.error.message }));
  return parts.join(' ');
}

/** @param {string} text @param {boolean} [error] */
function show(text, error = false) {
  const line = $('batch-close-status');
  line.textContent = text;
  line.classList.toggle('error', error);
}

/**
 * The job as event `e` tells it: its state and counts (the rest does not change while it runs).
 * @param {BatchJob} job @param {BatchJobProgress} e @returns {BatchJob}
 */
function withProgress(job, e) {
  if (!job.upload) return { ...job, state: e.state };
  const upload = {
    ...job.upload,
    progress: { ...job.upload.progress, doneInvoices: e.doneInvoices, totalInvoices: e.totalInvoices },
    accepted: e.accepted ?? job.upload.accepted,
    rejected: e.rejected ?? job.upload.rejected,
  };
  return { ...job, state: e.state, upload };
}

/**
 * The next news of job `id`: its newest event if not `seen` yet, or null when the job must be read
 * by id — the stream opened or was lost since `live`, or POLL_MS passed while it is down.
 * @param {string} id @param {BatchJobProgress | undefined} seen @param {boolean} live
 * @returns {Promise<BatchJobProgress | null>}
 */
function nextNews(id, seen, live) {
  return new Promise((resolve) => {
    const look = () => {
      const e = heard.get(id);
      if (e && e !== seen) return e;
      return state.live !== live ? null : undefined;
    };
    const now = look();
    if (now !== undefined) return resolve(now);
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @param {BatchJobProgress | null} news */
    const done = (news) => {
      clearTimeout(timer);
      waiting.delete(wake);
      resolve(news);
    };
    const wake = () => {
      const news = look();
      if (news !== undefined) done(news);
    };
    waiting.add(wake);
    if (!state.live) timer = setTimeout(() => done(null), POLL_MS);
  });
}

/**
 * Closes the open batch on the professional card and sends it: POST /api/batches/close, then the
 * job followed until it ends (the back office's recycling runs the very same job).
 * @param {(job: BatchJob) => void} onChange  called with the job after each step
 * @returns {Promise<BatchJob>} the job once it ended
 */
export async function runBatchJob(onChange) {
  /** @type {BatchJob} */
  let job = await api('POST', '/batches/close');
  onChange(job);
  const read = () => /** @type {Promise<BatchJob>} */ (api('GET', `/batches/jobs/${encodeURIComponent(job.id)}`));
  /** @type {BatchJobProgress | undefined} */
  let seen;
  let live = state.live;
  while (job.state === 'running') {
    const news = await nextNews(job.id, seen, live);
    live = state.live;
    if (news === null) job = await read();
    else {
      seen = news;
      job = news.state === 'failed' ? await read() : withProgress(job, news);
    }
    onChange(job);
  }
  return job;
}

async function closeAndSend() {
  const button = $button('batch-close');
  button.disabled = true;
  show(t('batch.working'));
  try {
    await runBatchJob((job) => show(describe(job), job.state === 'failed'));
  } catch (e) {
    show(t('batch.refused', { error: errorText(e) }), true);
  } finally {
    button.disabled = false;
  }
}

export function wireBatchClose() {
  $button('batch-close').addEventListener('click', () => void closeAndSend());
}
