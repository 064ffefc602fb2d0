import type { Router } from 'express';
import type { BackOffice } from '../backoffice/backoffice';
import {
  batchesQuery,
  batchIdParam,
  batchQuery,
  correctBody,
  formatQuery,
  invoiceNumberParam,
  patientParams,
  paymentBody,
  refillsQuery,
  registerQuery,
  rejectsQuery,
  statementBody,
  statsQuery,
} from '../backoffice/requests';
import { CsvFile, reply, type ApiRoutes } from './routes';
import {
  auditReportSchema,
  bankPaymentSchema,
  batchDetailSchema,
  batchListSchema,
  consumptionSchema,
  correctionSchema,
  refillsSchema,
  registerSchema,
  rejectListSchema,
  statementImportSchema,
  statisticsSchema,
} from './schemas/backoffice';

/**
 * The back office's API, under `/api/backoffice/` with the counter's token (docs/backoffice.md):
 * each page's data as JSON, or as CSV with `?format=csv` (amounts in centimes, as in the JSON;
 * `&delimiter=semicolon` for `;` between fields, what Excel expects in a French or Arabic locale),
 * and the operations — a payment typed or a statement imported, a corrected invoice (recycled by
 * the counter's batch close, POST /api/batches/close). Each route is described in the API's
 * OpenAPI document (routes.ts) with its query, body and answers, CSV included; a bad parameter is
 * a 400 naming it.
 */

const TAG = 'back office';

export function mountBackofficeRoutes(api: Router, routes: ApiRoutes, office: BackOffice): void {
  const backoffice = () => office;
  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/batches',
      tag: TAG,
      summary: 'The bordereaux, newest first: state, totals, what the fund accepted and paid, what the bank received, the gap',
      query: batchesQuery,
      responses: { 200: { description: 'a page of batches', schema: batchListSchema } },
      csv: 'one row per batch (`format=csv`)',
    },
    ({ query: q }) => {
      const out = backoffice().batches({ before: q.before, limit: q.limit });
      if (q.format !== 'csv') return reply(200, out);
      return new CsvFile(
        'bordereaux',
        [
          'batch',
          'state',
          'openedAt',
          'closedAt',
          'from',
          'to',
          'count',
          'total',
          'fund',
          'patient',
          'creditFund',
          'claimed',
          'accepted',
          'rejected',
          'due',
          'received',
          'gap',
          'transferReference',
        ],
        out.batches.map((b) => [
          b.id,
          b.state,
          b.openedAt,
          b.closedAt,
          b.from,
          b.to,
          b.count,
          b.claim.total,
          b.claim.fund,
          b.claim.patient,
          b.claim.creditFund,
          b.claim.claimed,
          b.accepted,
          b.rejected,
          b.due,
          b.received,
          b.gap,
          b.transferReference,
        ]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/batches/:id',
      tag: TAG,
      summary:
        "One bordereau: its invoices with the fund's answer, the gap explained invoice by invoice, the payment notice and the bank payments",
      params: batchIdParam,
      query: batchQuery,
      responses: { 200: { description: 'the batch', schema: batchDetailSchema } },
      csv: 'its invoices, or with `table=gap` the explanation of the gap (`format=csv`)',
      errors: [404],
    },
    ({ params: { id }, query: q }) => {
      const d = backoffice().batch(id);
      if (q.format !== 'csv') return reply(200, d);
      if (q.table === 'gap')
        return new CsvFile(
          `bordereau-${id}-ecart`,
          ['kind', 'invoice', 'amount', 'code', 'reason'],
          [
            ['claimed', null, d.explanation.claimed, null, null],
            ...d.explanation.lines.map((l) => [l.kind, l.number ?? null, -l.amount, l.code ?? null, l.reason ?? null]),
            ['received', null, d.explanation.received, null, null],
          ],
          q.delimiter,
        );
      return new CsvFile(
        `bordereau-${id}`,
        ['invoice', 'kind', 'date', 'card', 'total', 'fund', 'patient', 'status', 'code', 'reason', 'adjustment', 'correctedBy'],
        d.invoices.map((i) => [
          i.number,
          i.kind,
          i.date,
          i.cardSerial,
          i.total,
          i.fund,
          i.patient,
          i.status,
          i.code,
          i.reason,
          i.adjustment,
          i.correctedBy,
        ]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/audit',
      tag: TAG,
      summary: 'The open batch checked as the fund will check it: the invoices it would reject, and why',
      query: formatQuery,
      responses: { 200: { description: 'the findings', schema: auditReportSchema } },
      csv: 'one row per finding (`format=csv`)',
    },
    ({ query: q }) => {
      const a = backoffice().audit();
      if (q.format !== 'csv') return reply(200, a);
      return new CsvFile(
        'audit',
        ['invoice', 'kind', 'date', 'card', 'fund', 'code', 'severity', 'message', 'correctedBy'],
        a.findings.map((f) => [f.number, f.kind, f.date, f.cardSerial, f.fund, f.code, f.severity, f.message, f.correctedBy]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/backoffice/payments',
      tag: TAG,
      summary: 'Record a payment seen on the bank account against a batch (negative: corrects an earlier entry)',
      body: { schema: paymentBody, what: 'payment' },
      responses: { 201: { description: 'the payment recorded (append-only)', schema: bankPaymentSchema } },
      description:
        "404 `unknown-batch`, 409 `batch-open` (nothing is paid for a batch still open), both naming `batchId`; 409 `payment-too-large` naming `amount` when the batch's entries would add up to more than 100,000,000,000 DA either way.",
      errors: [404, 409],
    },
    ({ body }) => reply(201, backoffice().recordPayment(body)),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/backoffice/payments/statement',
      tag: TAG,
      summary: "Import a bank statement (CSV text): the credits that carry a batch's transfer reference are recorded, once",
      body: {
        schema: statementBody,
        what: 'bank statement',
        description:
          'A header row naming the date, amount (or credit and debit) and label columns (French or English), then one line per bank entry; fields separated by `,` or `;` (found from the header, or given as `delimiter`). A line that cannot be read refuses the whole file, 400 naming `csv`, the line and the column.',
      },
      responses: { 200: { description: 'what was recorded, already recorded, or matched no batch', schema: statementImportSchema } },
      description:
        "409 `payment-too-large` naming `amount` (a batch's entries adding up to more than 100,000,000,000 DA either way): nothing of the statement is recorded.",
      errors: [409],
    },
    ({ body }) => reply(200, backoffice().importStatement(body.csv, body.delimiter)),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/rejects',
      tag: TAG,
      summary: "The invoices the fund rejected, with its reason, and each one's correction and recycling state",
      query: rejectsQuery,
      responses: { 200: { description: 'rejected invoices, newest first', schema: rejectListSchema } },
      csv: 'one row per rejected invoice (`format=csv`)',
    },
    ({ query: q }) => {
      const out = backoffice().rejects({ pending: q.pending === '1' || q.pending === 'true', limit: q.limit, before: q.before });
      if (q.format !== 'csv') return reply(200, out);
      return new CsvFile(
        'rejets',
        ['invoice', 'kind', 'batch', 'date', 'card', 'total', 'fund', 'code', 'reason', 'state', 'correction', 'correctionBatch'],
        out.rejects.map((r) => [
          r.number,
          r.kind,
          r.batchId,
          r.date,
          r.cardSerial,
          r.total,
          r.fund,
          r.code,
          r.reason,
          r.state,
          r.correction?.number ?? null,
          r.correction?.batchId ?? null,
        ]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/backoffice/invoices/:number/correct',
      tag: TAG,
      summary:
        'Correct a rejected invoice (or, after the audit, one of the open batch): a corrected invoice signed on the professional card',
      description:
        'Priced again as the fund prices it, referencing the invoice it corrects; it goes in the open batch, recycled by POST /api/batches/close. 409 `professional-pin-required` or `no-professional-card` when the card cannot sign, `already-corrected` the second time.',
      params: invoiceNumberParam,
      body: { schema: correctBody, what: 'correction', optional: true },
      responses: { 201: { description: 'the corrected invoice', schema: correctionSchema } },
      errors: [404, 409, 503],
    },
    async ({ params, body }) => reply(201, await backoffice().correct(params.number, body)),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/stats',
      tag: TAG,
      summary: 'Sales per day, week, month or year; per category, fund, product and DCI; third-party payment refused by reason',
      query: statsQuery,
      responses: { 200: { description: 'the statistics of the range', schema: statisticsSchema } },
      csv: 'one table (`table=series|categories|funds|refusals|products|dcis`, `format=csv`)',
    },
    ({ query: q }) => {
      const s = backoffice().statistics(q.from, q.to, q.period ?? 'day');
      if (q.format !== 'csv') return reply(200, s);
      const name = `statistiques-${q.table ?? 'series'}-${q.from}-${q.to}`;
      switch (q.table ?? 'series') {
        case 'series':
          return new CsvFile(
            name,
            ['period', 'invoices', 'credits', 'total', 'fund', 'patient'],
            s.series.map((p) => [p.period, p.invoices, p.credits, p.total, p.fund, p.patient]),
            q.delimiter,
          );
        case 'categories':
          return new CsvFile(
            name,
            ['category', 'invoices', 'total', 'fund', 'patient'],
            s.categories.map((c) => [c.category, c.invoices, c.total, c.fund, c.patient]),
            q.delimiter,
          );
        case 'funds':
          return new CsvFile(
            name,
            ['fund', 'invoices', 'total', 'fund', 'patient'],
            s.funds.map((f) => [f.name, f.invoices, f.total, f.fund, f.patient]),
            q.delimiter,
          );
        case 'refusals':
          return new CsvFile(
            name,
            ['reason', 'invoices', 'total', 'patient'],
            s.refusals.map((r) => [r.reason, r.invoices, r.total, r.patient]),
            q.delimiter,
          );
        case 'products':
          return new CsvFile(
            name,
            ['code', 'brand', 'dci', 'lines', 'quantity', 'total', 'fund', 'patient'],
            s.products.map((p) => [p.code, p.brand, p.dci, p.lines, p.quantity, p.total, p.fund, p.patient]),
            q.delimiter,
          );
        case 'dcis':
          return new CsvFile(
            name,
            ['dci', 'products', 'lines', 'quantity', 'total', 'fund', 'patient'],
            s.dcis.map((d) => [d.dci, d.products, d.lines, d.quantity, d.total, d.fund, d.patient]),
            q.delimiter,
          );
      }
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/register',
      tag: TAG,
      summary: 'The psychotropics register of a period: every dispensing of a product of a controlled table, with its counterfoil serial',
      query: registerQuery,
      responses: { 200: { description: 'the entries, in the order written (append-only)', schema: registerSchema } },
      csv: 'one row per entry (`format=csv`)',
    },
    ({ query: q }) => {
      const r = backoffice().register(q.from, q.to);
      if (q.format !== 'csv') return reply(200, r);
      return new CsvFile(
        `registre-psychotropes-${q.from}-${q.to}`,
        [
          'seq',
          'date',
          'invoice',
          'counterfoil',
          'insured',
          'insuredId',
          'card',
          'rank',
          'beneficiary',
          'prescriber',
          'speciality',
          'prescription',
          'prescriptionDate',
          'code',
          'brand',
          'dci',
          'strength',
          'form',
          'table',
          'quantity',
          'lot',
          'cancelledBy',
        ],
        r.entries.map((e) => [
          e.seq,
          e.day,
          e.invoice,
          e.counterfoil,
          e.insuredName,
          e.insuredId,
          e.cardSerial,
          e.rank,
          e.beneficiaryName,
          e.prescriber,
          e.speciality,
          e.prescriptionRef,
          e.prescriptionDate,
          e.code,
          e.brand,
          e.dci,
          e.strength,
          e.form,
          e.table,
          e.quantity,
          e.lot,
          e.cancelledBy,
        ]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/refills',
      tag: TAG,
      summary: 'Chronic patients whose last supply runs out within `days` days (default 7)',
      query: refillsQuery,
      responses: { 200: { description: 'the supplies running out, soonest first', schema: refillsSchema } },
      csv: 'one row per supply (`format=csv`)',
    },
    ({ query: q }) => {
      const r = backoffice().refills(q.days ?? 7);
      if (q.format !== 'csv') return reply(200, r);
      return new CsvFile(
        `renouvellements-${r.today}`,
        ['card', 'rank', 'code', 'brand', 'dci', 'lastInvoice', 'lastDate', 'quantity', 'durationDays', 'runsOut', 'daysLeft'],
        r.refills.map((x) => [
          x.cardSerial,
          x.rank,
          x.code,
          x.brand,
          x.dci,
          x.lastInvoice,
          x.lastDay,
          x.quantity,
          x.durationDays,
          x.runsOut,
          x.daysLeft,
        ]),
        q.delimiter,
      );
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/backoffice/patients/:card/:rank/history',
      tag: TAG,
      summary: "A patient's consumption history by DCI, from the pharmacy's own invoices",
      params: patientParams,
      query: formatQuery,
      responses: { 200: { description: 'the supplies, by DCI', schema: consumptionSchema } },
      csv: 'one row per supply (`format=csv`)',
    },
    ({ params: { card, rank }, query: q }) => {
      const h = backoffice().history(card, rank);
      if (q.format !== 'csv') return reply(200, h);
      return new CsvFile(
        `consommation-${card}-${rank}`,
        ['dci', 'date', 'invoice', 'code', 'brand', 'quantity', 'durationDays', 'runsOut', 'cancelled'],
        h.dcis.flatMap((d) =>
          d.lines.map((l) => [d.dci, l.day, l.invoice, l.code, l.brand, l.quantity, l.durationDays, l.runsOut, l.cancelled]),
        ),
        q.delimiter,
      );
    },
  );
}
