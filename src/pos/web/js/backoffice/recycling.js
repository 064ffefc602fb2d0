// @ts-check
/**
 * Recycling a rejected invoice (or, from the audit, one the fund would reject): a corrected
 * invoice, priced again as the fund prices it and signed on the professional card, then the open
 * batch closed on the professional card and sent at once, as the counter's "Clôturer et
 * transmettre" does. The reason is signed with the correction: NFC, as the API
 * requires of signed text.
 */
import { api, errorText } from '../api.js';
import { runBatchJob } from '../batch-close.js';
import { t } from '../i18n.js';
import { notify } from './notice.js';

/**
 * @param {number} number
 * @param {boolean} [askCounterfoil]  the invoice lacks the counterfoil serial of a controlled product
 * @returns {Promise<boolean>} whether a correction was signed
 */
export async function correctInvoice(number, askCounterfoil = false) {
  const reason = window.prompt(t('bo.correct.reason', { n: number }), t('bo.correct.defaultReason'));
  if (reason === null) return false;
  /** @type {Record<string, string>} */
  const body = {};
  if (reason.trim()) body.reason = reason.trim().normalize('NFC');
  if (askCounterfoil) {
    const serial = window.prompt(t('bo.correct.counterfoil'));
    if (serial === null || !serial.trim()) return false;
    body.counterfoil = serial.trim().normalize('NFC');
  }
  try {
    const r = /** @type {{ number: number }} */ (await api('POST', `/backoffice/invoices/${number}/correct`, body));
    notify('ok', () => t('bo.correct.done', { n: number, correction: r.number }));
    return true;
  } catch (e) {
    notify('error', () => t('bo.correct.refused', { n: number, error: errorText(e) }));
    return false;
  }
}

/**
 * Closes the open batch on the professional card and sends it (with a fund configured): the
 * counter's "Clôturer et transmettre" job, followed until the fund answered.
 */
export async function recycle() {
  try {
    const job = await runBatchJob(() => {});
    const n = job.closed?.batchId;
    if (!job.fundConfigured) notify('info', () => (n ? t('bo.recycle.closedNoFund', { n }) : t('bo.recycle.noFund')));
    else if (job.state === 'failed') notify('warn', () => t('bo.recycle.failed', { error: job.error?.message ?? '' }));
    else notify('ok', () => (n ? t('bo.recycle.sent', { n }) : t('bo.recycle.synced')));
  } catch (e) {
    notify('error', () => errorText(e));
  }
}
