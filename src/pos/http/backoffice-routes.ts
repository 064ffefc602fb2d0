import type { Request, Response, Router } from 'express';
import type { BackOffice } from '../backoffice/backoffice';
import { toCsv, type CsvCell } from '../backoffice/csv';
import {
  batchesQuery,
  batchIdParam,
  batchQuery,
  correctBody,
  emptyBody,
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
import { parseBody } from '../counter/request';
import type { PathTemplates } from './path-params';

/**
 * The back office's API, under `/api/backoffice/` with the counter's token (docs/backoffice.md):
 * each page's data as JSON, or as CSV with `?format=csv` (amounts in centimes, as in the JSON),
 * and the operations — a batch closed now, a payment typed or a statement imported, a corrected
 * invoice, recycling. Queries are validated and a bad parameter is a 400 naming it.
 */

/** Sends `rows` as a CSV attachment named `name`.csv. */
function sendCsv(res: Response, name: string, header: readonly string[], rows: readonly (readonly CsvCell[])[]): void {
  res.type('text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`);
  res.send(toCsv(header, rows));
}

const query = <T>(schema: Parameters<typeof parseBody<T>>[0], req: Request): T => parseBody(schema, req.query, 'query');

export function mountBackofficeRoutes(api: Router, paths: PathTemplates, office: BackOffice): void {
  const backoffice = () => office;
  api.get('/backoffice/batches', (req, res) => {
    const q = query(batchesQuery, req);
    const out = backoffice().batches({ before: q.before, limit: q.limit });
    if (q.format !== 'csv') return void res.json(out);
    sendCsv(
      res,
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
    );
  });

  api.post('/backoffice/batches/close', async (req, res) => {
    parseBody(emptyBody, req.body, 'close request');
    res.json({ closed: await backoffice().closeBatch() });
  });

  api.get(paths.add('/backoffice/batches/:id'), (req, res) => {
    const { id } = parseBody(batchIdParam, { id: req.params.id }, 'path');
    const q = query(batchQuery, req);
    const d = backoffice().batch(id);
    if (q.format !== 'csv') return void res.json(d);
    if (q.table === 'gap')
      return sendCsv(
        res,
        `bordereau-${id}-ecart`,
        ['kind', 'invoice', 'amount', 'code', 'reason'],
        [
          ['claimed', null, d.explanation.claimed, null, null],
          ...d.explanation.lines.map((l) => [l.kind, l.number ?? null, -l.amount, l.code ?? null, l.reason ?? null]),
          ['received', null, d.explanation.received, null, null],
        ],
      );
    sendCsv(
      res,
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
    );
  });

  api.get('/backoffice/audit', (req, res) => {
    const q = query(formatQuery, req);
    const a = backoffice().audit();
    if (q.format !== 'csv') return void res.json(a);
    sendCsv(
      res,
      'audit',
      ['invoice', 'kind', 'date', 'card', 'fund', 'code', 'severity', 'message', 'correctedBy'],
      a.findings.map((f) => [f.number, f.kind, f.date, f.cardSerial, f.fund, f.code, f.severity, f.message, f.correctedBy]),
    );
  });

  api.post('/backoffice/payments', (req, res) => {
    const p = parseBody(paymentBody, req.body, 'payment');
    res.status(201).json(backoffice().recordPayment(p));
  });

  api.post('/backoffice/payments/statement', (req, res) => {
    const { csv } = parseBody(statementBody, req.body, 'bank statement');
    res.json(backoffice().importStatement(csv));
  });

  api.get('/backoffice/rejects', (req, res) => {
    const q = query(rejectsQuery, req);
    const out = backoffice().rejects({ pending: q.pending === '1' || q.pending === 'true', limit: q.limit, before: q.before });
    if (q.format !== 'csv') return void res.json(out);
    sendCsv(
      res,
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
    );
  });

  api.post(paths.add('/backoffice/invoices/:number/correct'), async (req, res) => {
    const { number } = parseBody(invoiceNumberParam, { number: req.params.number }, 'path');
    const body = parseBody(correctBody, req.body, 'correction');
    res.status(201).json(await backoffice().correct(number, body));
  });

  api.post('/backoffice/recycle', async (req, res) => {
    parseBody(emptyBody, req.body, 'recycle request');
    res.json(await backoffice().recycle());
  });

  api.get('/backoffice/stats', (req, res) => {
    const q = query(statsQuery, req);
    const s = backoffice().statistics(q.from, q.to, q.period ?? 'day');
    if (q.format !== 'csv') return void res.json(s);
    const name = `statistiques-${q.table ?? 'series'}-${q.from}-${q.to}`;
    switch (q.table ?? 'series') {
      case 'series':
        return sendCsv(
          res,
          name,
          ['period', 'invoices', 'credits', 'total', 'fund', 'patient'],
          s.series.map((p) => [p.period, p.invoices, p.credits, p.total, p.fund, p.patient]),
        );
      case 'categories':
        return sendCsv(
          res,
          name,
          ['category', 'invoices', 'total', 'fund', 'patient'],
          s.categories.map((c) => [c.category, c.invoices, c.total, c.fund, c.patient]),
        );
      case 'funds':
        return sendCsv(
          res,
          name,
          ['fund', 'invoices', 'total', 'fund', 'patient'],
          s.funds.map((f) => [f.name, f.invoices, f.total, f.fund, f.patient]),
        );
      case 'refusals':
        return sendCsv(
          res,
          name,
          ['reason', 'invoices', 'total', 'patient'],
          s.refusals.map((r) => [r.reason, r.invoices, r.total, r.patient]),
        );
      case 'products':
        return sendCsv(
          res,
          name,
          ['code', 'brand', 'dci', 'lines', 'quantity', 'total', 'fund', 'patient'],
          s.products.map((p) => [p.code, p.brand, p.dci, p.lines, p.quantity, p.total, p.fund, p.patient]),
        );
      case 'dcis':
        return sendCsv(
          res,
          name,
          ['dci', 'products', 'lines', 'quantity', 'total', 'fund', 'patient'],
          s.dcis.map((d) => [d.dci, d.products, d.lines, d.quantity, d.total, d.fund, d.patient]),
        );
    }
  });

  api.get('/backoffice/register', (req, res) => {
    const q = query(registerQuery, req);
    const r = backoffice().register(q.from, q.to);
    if (q.format !== 'csv') return void res.json(r);
    sendCsv(
      res,
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
    );
  });

  api.get('/backoffice/refills', (req, res) => {
    const q = query(refillsQuery, req);
    const r = backoffice().refills(q.days ?? 7);
    if (q.format !== 'csv') return void res.json(r);
    sendCsv(
      res,
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
    );
  });

  api.get(paths.add('/backoffice/patients/:card/:rank/history'), (req, res) => {
    const { card, rank } = parseBody(patientParams, { card: req.params.card, rank: req.params.rank }, 'path');
    const q = query(formatQuery, req);
    const h = backoffice().history(card, rank);
    if (q.format !== 'csv') return void res.json(h);
    sendCsv(
      res,
      `consommation-${card}-${rank}`,
      ['dci', 'date', 'invoice', 'code', 'brand', 'quantity', 'durationDays', 'runsOut', 'cancelled'],
      h.dcis.flatMap((d) =>
        d.lines.map((l) => [d.dci, l.day, l.invoice, l.code, l.brand, l.quantity, l.durationDays, l.runsOut, l.cancelled]),
      ),
    );
  });
}
