// @ts-check
/**
 * "Clôturer et transmettre" (docs/counter.md): closes the open batch, its manifest signed on the
 * professional card, and sends it to the fund — POST /api/batches/close, then the job read back
 * (GET /api/batches/jobs/:id) until it ends, each step said under the button.
 */
import { api, errorText } from './api.js';
import { $, $button } from './dom.js';
import { t, tn } from './i18n.js';

/** @typedef {import('./types.js').BatchJob} BatchJob */

const POLL_MS = 500;

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
 * Closes the open batch on the professional card and sends it: POST /api/batches/close, then the
 * job read back until it ends (the back office's recycling runs the very same job).
 * @param {(job: BatchJob) => void} onChange  called with the job after each step
 * @returns {Promise<BatchJob>} the job once it ended
 */
export async function runBatchJob(onChange) {
  /** @type {BatchJob} */
  let job = await api('POST', '/batches/close');
  onChange(job);
  while (job.state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api('GET', `/batches/jobs/${encodeURIComponent(job.id)}`);
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
