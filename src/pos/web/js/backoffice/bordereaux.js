// @ts-check
/**
 * Bordereaux: the audit of the open batch (what the fund would reject, corrected here before the
 * batch is closed), every batch with its claim, the fund's answer, the payment and the gap, and
 * one batch in detail — its invoices with the fund's answer per invoice, the gap explained line
 * by line to the centime, the payments received (typed in, or from a bank statement's CSV).
 */
import { api, errorText } from '../api.js';
import { $, $input, clear, h } from '../dom.js';
import { date, money, t, textOf, tn } from '../i18n.js';
import { parseMoney } from '../../assets/format.js';
import { downloadCsv } from './export.js';
import { notify } from './notice.js';
import { correctInvoice, recycle } from './recycling.js';

/** @typedef {import('./types.js').BatchSummary} BatchSummary */
/** @typedef {import('./types.js').BatchDetail} BatchDetail */
/** @typedef {import('./types.js').AuditReport} AuditReport */
/** @typedef {import('./types.js').GapLine} GapLine */

/** @type {BatchSummary[]} */
let batches = [];
/** @type {BatchDetail | null} */
let detail = null;
/** @type {AuditReport | null} */
let audit = null;
/** The counter's day: a payment's date by default. */
let today = '';

/** @param {string} day */
export function setToday(day) {
  today = day;
}

/**
 * The state of a batch as a tag.
 * @param {string} state
 */
export function stateTag(state) {
  const kind = state === 'settled' ? 'ok' : state === 'open' ? '' : 'warn';
  return h('span', { class: `tag ${kind}`, 'data-state': state }, textOf('bo.state', state));
}

/**
 * A fund's reason code in the page's language when the catalogue has it, else as the fund sent it.
 * @param {string | null | undefined} code
 */
export function codeText(code) {
  return textOf('bo.code', code);
}

function renderAudit() {
  const a = audit;
  const body = clear(/** @type {HTMLTableElement} */ ($('audit-table')).tBodies[0] ?? $('audit-table'));
  $('audit-table').hidden = !a || a.findings.length === 0;
  if (!a) return;
  $('audit-summary').textContent = a.batch
    ? t('bo.audit.summary', {
        batch: a.batch.id,
        invoices: tn('invoices.count', a.checked),
        findings: tn('bo.findings', a.findings.length),
        risk: money(a.atRisk),
      })
    : t('bo.audit.noOpen');
  for (const f of a.findings) {
    body.append(
      h(
        'tr',
        { class: f.severity === 'reject' ? 'finding reject' : 'finding', 'data-invoice': f.number, 'data-code': f.code },
        h('td', { class: 'num' }, String(f.number)),
        h('td', { class: 'nowrap' }, date(f.date)),
        h('td', { class: 'nowrap' }, h('bdi', null, f.cardSerial)),
        h('td', { class: 'num money' }, money(f.fund)),
        h(
          'td',
          null,
          h(
            'span',
            { class: `tag ${f.severity === 'reject' ? 'bad' : 'warn'}` },
            t(f.severity === 'reject' ? 'bo.audit.reject' : 'bo.audit.warning'),
          ),
          ' ',
          h('strong', null, codeText(f.code)),
          h('div', { class: 'sub' }, h('bdi', null, f.message)),
        ),
        h(
          'td',
          null,
          f.correctedBy !== null
            ? h('span', { class: 'tag ok' }, t('bo.correctedBy', { n: f.correctedBy }))
            : f.correctable
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    onclick: () => void correctInvoice(f.number, f.code === 'COUNTERFOIL_MISSING').then(() => load()),
                  },
                  t('bo.correct'),
                )
              : null,
        ),
      ),
    );
  }
}

function renderBatches() {
  const body = clear(/** @type {HTMLTableElement} */ ($('batches-table')).tBodies[0] ?? $('batches-table'));
  for (const b of batches) {
    const row = h(
      'tr',
      {
        class: `clickable${detail?.batch.id === b.id ? ' selected' : ''}`,
        tabindex: '0',
        'data-batch': b.id,
        onclick: () => void openBatch(b.id),
        onkeydown: (e) => {
          if (/** @type {KeyboardEvent} */ (e).key === 'Enter') void openBatch(b.id);
        },
      },
      h('td', { class: 'num' }, String(b.id)),
      h('td', null, stateTag(b.state)),
      h('td', { class: 'nowrap' }, b.closedAt ? date(b.closedAt) : '—'),
      h('td', { class: 'num' }, String(b.count)),
      h('td', { class: 'num money fund' }, money(b.claim.claimed)),
      h('td', { class: 'num money' }, money(b.claim.patient)),
      h('td', { class: 'num' }, b.rejected === null ? '—' : String(b.rejected)),
      h('td', { class: 'num money' }, money(b.due)),
      h('td', { class: 'num money' }, money(b.received)),
      h('td', { class: `num money${b.gap !== 0 ? ' gap-open' : ''}` }, money(b.gap)),
    );
    body.append(row);
  }
}

/** @param {GapLine} l */
function gapLabel(l) {
  switch (l.kind) {
    case 'rejected':
      return t('bo.gap.rejected', { n: l.number ?? '', code: codeText(l.code) });
    case 'rejected-credit':
      return t('bo.gap.rejectedCredit', { n: l.number ?? '', code: codeText(l.code) });
    case 'adjustment':
      return t('bo.gap.adjustment', { n: l.number ?? '', code: codeText(l.code) });
    case 'unexplained':
      return t('bo.gap.unexplained');
    case 'awaiting-ack':
      return t('bo.gap.awaitingAck');
    case 'not-received':
      return t('bo.gap.notReceived');
    case 'bank-difference':
      return t('bo.gap.bankDifference');
  }
}

function renderDetail() {
  const d = detail;
  $('batch-panel').hidden = !d;
  if (!d) return;
  const b = d.batch;
  $('batch-title').textContent = t('bo.batch.title', { n: b.id, from: b.from, to: b.to });
  const gap = clear(/** @type {HTMLTableElement} */ ($('gap-table')).tBodies[0] ?? $('gap-table'));
  const row = (/** @type {string} */ label, /** @type {number} */ amount, /** @type {string} */ cls, /** @type {string | null} */ reason) =>
    h(
      'tr',
      { class: cls },
      h('td', null, label, reason ? h('div', { class: 'sub' }, h('bdi', null, reason)) : null),
      h('td', { class: 'num money' }, money(amount)),
    );
  gap.append(row(t('bo.gap.claimed'), d.explanation.claimed, 'claimed', null));
  for (const l of d.explanation.lines) gap.append(row(gapLabel(l), -l.amount, `line ${l.kind}`, l.reason ?? null));
  gap.append(row(t('bo.gap.received'), d.explanation.received, 'received', null));
  gap.append(row(t('bo.gap.total'), d.explanation.gap, 'total', null));
  $('notice-text').textContent = d.notice
    ? t('bo.notice', { paid: money(d.notice.paid), date: date(d.notice.settledAt), reference: d.notice.transferReference })
    : t('bo.notice.none');
  const pays = clear(/** @type {HTMLTableElement} */ ($('payments-table')).tBodies[0] ?? $('payments-table'));
  for (const p of d.bankPayments)
    pays.append(
      h(
        'tr',
        null,
        h('td', { class: 'nowrap' }, date(p.valueDate)),
        h('td', null, h('bdi', null, p.reference)),
        h('td', null, t(p.source === 'manual' ? 'bo.source.manual' : 'bo.source.statement')),
        h('td', { class: 'num money' }, money(p.amount)),
      ),
    );
  const inv = clear(/** @type {HTMLTableElement} */ ($('batch-invoices')).tBodies[0] ?? $('batch-invoices'));
  for (const i of d.invoices) {
    const answer =
      i.status === null
        ? h('span', { class: 'tag' }, t('bo.answer.none'))
        : i.status === 'accepted'
          ? h('span', { class: 'tag ok' }, t('bo.answer.accepted'))
          : h(
              'span',
              null,
              h('span', { class: 'tag bad' }, t('bo.answer.rejected')),
              ' ',
              codeText(i.code),
              i.correctedBy !== null ? h('div', { class: 'sub' }, t('bo.correctedBy', { n: i.correctedBy })) : null,
            );
    inv.append(
      h(
        'tr',
        { 'data-invoice': i.number, class: i.status === 'rejected' ? 'rejected' : null },
        h('td', { class: 'num' }, String(i.number)),
        h('td', null, textOf('receipt', i.kind)),
        h('td', { class: 'nowrap' }, date(i.date)),
        h('td', { class: 'nowrap' }, h('bdi', null, i.cardSerial)),
        h('td', { class: 'num money' }, money(i.total)),
        h('td', { class: 'num money fund' }, money(i.fund)),
        h('td', { class: 'num money' }, money(i.patient)),
        h('td', null, answer),
        h('td', { class: 'num money' }, i.adjustment ? money(-i.adjustment) : ''),
      ),
    );
  }
}

/** @param {number} id */
async function openBatch(id) {
  try {
    detail = /** @type {BatchDetail} */ (await api('GET', `/backoffice/batches/${id}`));
  } catch (e) {
    notify('error', () => errorText(e));
    return;
  }
  if (!$input('payment-date').value && today) $input('payment-date').value = today;
  renderBatches();
  renderDetail();
}

async function runAudit() {
  try {
    audit = /** @type {AuditReport} */ (await api('GET', '/backoffice/audit'));
  } catch (e) {
    notify('error', () => errorText(e));
  }
  renderAudit();
}

export async function load() {
  await runAudit();
  try {
    batches = /** @type {{ batches: BatchSummary[] }} */ (await api('GET', '/backoffice/batches')).batches;
  } catch (e) {
    notify('error', () => errorText(e));
  }
  renderBatches();
  if (detail) await openBatch(detail.batch.id);
}

export function render() {
  renderAudit();
  renderBatches();
  renderDetail();
}

async function addPayment() {
  if (!detail) return;
  const amount = parseMoney($input('payment-amount').value);
  if (amount === undefined || amount === 0) {
    notify('warn', () => t('bo.payments.badAmount'));
    return;
  }
  try {
    await api('POST', '/backoffice/payments', {
      batchId: detail.batch.id,
      amount,
      valueDate: $input('payment-date').value,
      reference: $input('payment-reference').value.trim().normalize('NFC'),
    });
    $input('payment-amount').value = '';
    $input('payment-reference').value = '';
    notify('ok', () => t('bo.payments.added'));
  } catch (e) {
    notify('error', () => errorText(e));
  }
  await load();
}

/**
 * A statement file's text: UTF-8 when it is, otherwise Windows-1252 — what many French and
 * Algerian banks' exports are in (`é` a single byte), which read as UTF-8 would lose the accents
 * of the header (`Libellé`) and fail to name its columns.
 * @param {File} file
 */
async function statementText(file) {
  const bytes = await file.arrayBuffer();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

async function importStatement() {
  const file = $input('statement-file').files?.[0];
  if (!file) return;
  try {
    const csv = await statementText(file);
    const r = /** @type {{ recorded: unknown[], duplicates: unknown[], unmatched: unknown[] }} */ (
      await api('POST', '/backoffice/payments/statement', { csv })
    );
    const text = () =>
      t('bo.statement.result', {
        recorded: tn('bo.lines', r.recorded.length),
        duplicates: tn('bo.lines', r.duplicates.length),
        unmatched: tn('bo.lines', r.unmatched.length),
      });
    $('statement-result').textContent = text();
    notify('ok', text);
  } catch (e) {
    notify('error', () => errorText(e));
  }
  $input('statement-file').value = '';
  await load();
}

export function wire() {
  $('audit-run').addEventListener('click', () => void runAudit());
  $('batch-recycle').addEventListener('click', () => void recycle().then(() => load()));
  $('batches-csv').addEventListener(
    'click',
    () => void downloadCsv('/backoffice/batches').catch((e) => notify('error', () => errorText(e))),
  );
  $('batch-csv').addEventListener('click', () => {
    if (detail) void downloadCsv(`/backoffice/batches/${detail.batch.id}`).catch((e) => notify('error', () => errorText(e)));
  });
  $('gap-csv').addEventListener('click', () => {
    if (detail) void downloadCsv(`/backoffice/batches/${detail.batch.id}?table=gap`).catch((e) => notify('error', () => errorText(e)));
  });
  $('payment-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void addPayment();
  });
  $input('statement-file').addEventListener('change', () => void importStatement());
}
