import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CatalogueSearch, hit } from '../counter/catalogue-search';
import { EmulatedStation } from '../counter/emulated-station';
import { buildReceipt } from '../counter/receipt';
import { BatchCloser } from '../counter/batch-close';
import type { CounterService } from '../counter/service';
import { UnknownProductError } from '../../billing/errors';
import { clip } from '../../common/display';
import { packageRoot } from '../../common/paths';
import { requireLoopbackHostHeader, requireToken } from './auth';
import { HttpError, toHttpError } from './errors';
import { eventStream } from './events';
import { mountGtinRoute } from './gtin-route';
import { PathTemplates } from './path-params';
import { requireJsonBody } from './request-body';
import { serveSharedModules } from './shared-assets';
import type { z } from '../../common/openapi-zod';
import { readersOf } from './readers';
import { ApiRoutes, reply } from './routes';
import {
  cardOpenSchema,
  cardViewSchema,
  professionalVerifyOutcomeSchema,
  readersSchema,
  rightsRefreshSchema,
  verifyOutcomeSchema,
  writeOutcomeSchema,
} from './schemas/card';
import {
  cancelOutcomeSchema,
  catalogueSearchSchema,
  checkoutOutcomeSchema,
  pendingWritesSchema,
  productSchema,
  quoteOutcomeSchema,
  receiptSchema,
} from './schemas/sale';
import {
  cancelRequest,
  catalogueQuery,
  checkoutRequest,
  demoParams,
  invoiceNumberParams,
  jobIdParams,
  pinRequest,
  productCodeSchema,
  quoteRequest,
} from './schemas/requests';
import {
  demoCardSchema,
  eventStreamQuery,
  eventStreamSchema,
  eventTicketSchema,
  healthSchema,
  openapiDocumentSchema,
  statusSchema,
} from './schemas/status';
import { backlogSchema, batchJobSchema, rejectedListSchema } from './schemas/sync';
import { BackOffice } from '../backoffice/backoffice';
import { mountBackofficeRoutes } from './backoffice-routes';

/**
 * The counter's HTTP API (JSON, express 5) and its static page. Request bodies are never logged:
 * the request log holds method, path, status and duration only, because a body may carry a PIN.
 */

export interface AppOptions {
  service: CounterService;
  /** "Clôturer et transmettre": the batch closed on the professional card and sent (default: closed and signed, not sent). */
  batches?: BatchCloser;
  token: string;
  logger: Logger;
  /** Refuse Host headers that are not loopback names (on when bound to loopback). */
  checkHost: boolean;
  /** Where the page is: index.html, js/, style.css, favicon.svg (default: src/pos/web in the package). */
  webDir?: string;
  /** How often the event stream sends a heartbeat comment (default 15 s). */
  eventHeartbeatMs?: number;
}

export const BODY_LIMIT = '64kb';

export function webDirectory(): string {
  return path.join(packageRoot(), 'src', 'pos', 'web');
}

export function createApp(options: AppOptions): express.Express {
  const { service, logger } = options;
  const batches = options.batches ?? new BatchCloser({ service, logger });
  const search = new CatalogueSearch(service.catalogue);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Request log: no bodies, no headers, no query strings.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      if (req.path === '/api/status' || req.path === '/api/health') return; // polled every few seconds
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: clip(req.method), path: clip(req.path, 120), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'http');
    });
    next();
  });

  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    next();
  });

  if (options.checkHost) app.use(requireLoopbackHostHeader());

  const api = express.Router();
  const paths = new PathTemplates();
  const routes = new ApiRoutes('/api', paths);
  api.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Open: neither holds data.
  routes.add(
    api,
    {
      method: 'get',
      path: '/health',
      tag: 'service',
      token: false,
      summary: 'Is the counter up, and in which mode',
      responses: { 200: { description: 'up', schema: healthSchema } },
    },
    () => reply(200, { ok: true, mode: service.station.mode }),
  );
  routes.add(
    api,
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'service',
      token: false,
      summary: 'This description of the API (OpenAPI 3.1)',
      responses: { 200: { description: 'the OpenAPI document', schema: openapiDocumentSchema } },
    },
    () => reply(200, routes.openapi() as z.input<typeof openapiDocumentSchema>),
  );

  // The event stream checks the token itself: a browser's EventSource sends a ticket instead.
  const events = eventStream({
    events: service.events,
    token: options.token,
    logger,
    ...(options.eventHeartbeatMs !== undefined ? { heartbeatMs: options.eventHeartbeatMs } : {}),
  });
  routes.addStream(
    api,
    {
      method: 'get',
      path: '/events',
      tag: 'service',
      token: 'or-ticket',
      summary: "The counter's events as Server-Sent Events (cards, reading, writing, uploads)",
      description:
        'A `retry:` line, a `hello` event `{ boot, resync }`, the events missed since `Last-Event-ID` (or `?lastEventId=`), then each new event with its id `BOOT.SEQ`: `station`, `card`, `read-progress`, `write-progress`, `sync-progress`, `batch-job`. Each event data is JSON. A browser opens it with a ticket (POST /api/events/ticket).',
      query: eventStreamQuery,
      responses: { 200: { description: 'the event stream (text/event-stream)', schema: eventStreamSchema } },
    },
    'text/event-stream',
    events.stream,
  );

  api.use(requireToken(options.token));
  api.use(paths.middleware());
  api.use(requireJsonBody());
  api.use(express.json({ limit: BODY_LIMIT, strict: true, type: 'application/json', inflate: false }));

  routes.add(
    api,
    {
      method: 'get',
      path: '/status',
      tag: 'service',
      summary: 'The cards, the readers, pending card writes and the sync backlog',
      responses: { 200: { description: 'the counter now', schema: statusSchema } },
    },
    () => reply(200, service.status()),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/readers',
      tag: 'cards',
      summary: 'The readers, their role and their card (ATR, application)',
      responses: { 200: { description: 'PC/SC readers, or the two emulated ones in demo mode', schema: readersSchema } },
    },
    () => reply(200, readersOf(service.station.status())),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/events/ticket',
      tag: 'service',
      summary: 'A single-use ticket to open the event stream (GET /api/events?ticket=…)',
      responses: { 200: { description: 'the ticket, good for one stream opened within expiresInMs', schema: eventTicketSchema } },
    },
    () => reply(200, events.tickets.issue()),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/card/open',
      tag: 'cards',
      summary: 'Open the insured card in the reader (holder identity, no PIN)',
      responses: { 200: { description: 'the holder', schema: cardOpenSchema } },
      errors: [409, 503],
    },
    async () => reply(200, await service.openCard()),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/card/verify',
      tag: 'cards',
      summary: "Verify the holder's PIN, read the card and complete its pending card writes",
      body: { schema: pinRequest, what: 'PIN request' },
      responses: { 200: { description: 'what the PIN opened, or the tries left', schema: verifyOutcomeSchema } },
      errors: [409, 503],
    },
    async ({ body }) => reply(200, await service.verifyPin(body.pin)),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/card',
      tag: 'cards',
      summary: 'What the PIN opened (after a page reload)',
      responses: { 200: { description: 'the card', schema: cardViewSchema } },
      errors: [409, 503],
    },
    () => reply(200, service.card()),
  );

  // Asks the fund again for the current rights of an expired card (after the fund was unreachable).
  routes.add(
    api,
    {
      method: 'post',
      path: '/card/rights',
      tag: 'cards',
      summary: "Ask the fund again for an expired card's current rights, write them on the card",
      responses: { 200: { description: 'the rights update, and the card as it now reads', schema: rightsRefreshSchema } },
      errors: [409, 503],
    },
    async () => reply(200, { rights: await service.refreshRights(), card: service.card() }),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/card/history',
      tag: 'cards',
      summary: "Read the card's whole dispensation history (on demand)",
      responses: { 200: { description: 'the card, with its history read', schema: cardViewSchema } },
      errors: [409, 503],
    },
    async () => reply(200, await service.readHistory()),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/professional/verify',
      tag: 'cards',
      summary: "Verify the professional card's PIN (it signs invoices and batches)",
      body: { schema: pinRequest, what: 'PIN request' },
      responses: { 200: { description: 'the pharmacy, or the tries left', schema: professionalVerifyOutcomeSchema } },
      errors: [409, 503],
    },
    async ({ body }) => reply(200, await service.verifyProfessionalPin(body.pin)),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/catalogue',
      tag: 'sale',
      summary: 'Search the catalogue by code prefix, DCI or brand',
      query: catalogueQuery,
      responses: { 200: { description: 'matching products', schema: catalogueSearchSchema } },
    },
    ({ query }) => reply(200, { query: query.q, products: search.search(query.q, query.limit) }),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/catalogue/:code',
      tag: 'sale',
      summary: 'One product',
      params: productCodeSchema,
      responses: { 200: { description: 'the product', schema: productSchema } },
      errors: [404],
    },
    ({ params }) => {
      const p = service.catalogue.get(params.code);
      if (!p) throw new UnknownProductError(params.code, 'code');
      return reply(200, hit(p));
    },
  );

  // GS1 barcodes: the product a scanned GTIN names.
  mountGtinRoute(api, routes, service.catalogue);

  routes.add(
    api,
    {
      method: 'post',
      path: '/quote',
      tag: 'sale',
      summary: "Price a basket from the card's rights (nothing is signed)",
      body: { schema: quoteRequest, what: 'quote request' },
      responses: { 200: { description: 'the split, warnings, and the prescription balance', schema: quoteOutcomeSchema } },
      errors: [404, 409, 503],
    },
    async ({ body }) => reply(200, await service.quote(body)),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/checkout',
      tag: 'sale',
      summary: 'Sign the invoice on the professional card, then write its records on the insured card',
      body: { schema: checkoutRequest, what: 'checkout request' },
      responses: {
        201: { description: 'invoice signed; the card write is done or pending', schema: checkoutOutcomeSchema },
        200: { description: 'this requestId was already done: the same invoice, nothing new signed', schema: checkoutOutcomeSchema },
      },
      errors: [404, 409, 503],
    },
    async ({ body }) => {
      const out = await service.checkout(body);
      return out.replayed ? reply(200, out) : reply(201, out);
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/card-writes',
      tag: 'card writes',
      summary: 'Card writes still pending',
      responses: { 200: { description: 'pending card writes', schema: pendingWritesSchema } },
    },
    () => reply(200, { pending: service.pendingWrites() }),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/card-writes/:number/complete',
      tag: 'card writes',
      summary: 'Retry a pending card write now',
      params: invoiceNumberParams,
      responses: { 200: { description: 'the card write', schema: writeOutcomeSchema } },
      errors: [404, 409, 503],
    },
    async ({ params }) => reply(200, await service.completeWrite(params.number)),
  );

  routes.add(
    api,
    {
      method: 'post',
      path: '/card-writes/:number/cancel',
      tag: 'card writes',
      summary: 'Abandon a pending card write: a credit note cancels the invoice',
      params: invoiceNumberParams,
      body: { schema: cancelRequest, what: 'cancel request', optional: true },
      responses: { 200: { description: 'the card write, cancelled', schema: cancelOutcomeSchema } },
      errors: [404, 409, 503],
    },
    async ({ params, body }) => reply(200, await service.cancelWrite(params.number, body.reason)),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/invoices/rejected',
      tag: 'sync',
      summary: "The fund's rejections, and the backlog",
      responses: { 200: { description: 'rejected invoices', schema: rejectedListSchema } },
    },
    () => reply(200, { rejected: service.rejected(), backlog: service.backlog() }),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/invoices/:number/receipt',
      tag: 'sale',
      summary: 'The receipt of an invoice, from the signed document',
      params: invoiceNumberParams,
      responses: { 200: { description: 'the receipt', schema: receiptSchema } },
      errors: [404],
    },
    ({ params }) => {
      const inv = service.invoiceDocument(params.number);
      return reply(200, buildReceipt({ ...inv, pharmacy: service.pharmacyIdentity() }));
    },
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/sync/backlog',
      tag: 'sync',
      summary: 'What the journal still has to send to the fund',
      responses: { 200: { description: 'the backlog', schema: backlogSchema } },
    },
    () => reply(200, service.backlog()),
  );

  // The batch closed and sent by the pharmacist (src/pos/counter/batch-close.ts).
  routes.add(
    api,
    {
      method: 'post',
      path: '/batches/close',
      tag: 'sync',
      summary: 'Close the open batch, sign it on the professional card and send it to the fund',
      description:
        'Closing and signing happen before the answer (409 `professional-pin-required` or `no-professional-card` when the card cannot sign); the upload then runs as a job: read it back with GET /api/batches/jobs/{id}. While a job uploads, asking again answers with that job.',
      responses: { 202: { description: 'closed and signed; the upload job (already finished without a fund)', schema: batchJobSchema } },
      errors: [409, 503],
    },
    async () => reply(202, await batches.closeAndSend()),
  );

  routes.add(
    api,
    {
      method: 'get',
      path: '/batches/jobs/:id',
      tag: 'sync',
      summary: "A batch job's progress and the fund's answer",
      params: jobIdParams,
      responses: { 200: { description: 'the job', schema: batchJobSchema } },
      errors: [404],
    },
    ({ params }) => reply(200, batches.job(params.id)),
  );

  // Demo mode only: pull out and put back the emulated cards, to show the recovery of a card write.
  routes.add(
    api,
    {
      method: 'post',
      path: '/demo/:which/:action',
      tag: 'demo',
      summary: 'Demo mode only: remove or insert an emulated card',
      params: demoParams,
      responses: { 200: { description: 'the card now', schema: demoCardSchema } },
      errors: [404],
    },
    ({ params }) => {
      const station = service.station;
      if (!(station instanceof EmulatedStation)) throw new HttpError(404, 'not-found', 'demo controls exist only in demo mode');
      const card = station.cards[params.which];
      if (params.action === 'remove') card.remove();
      else card.insert();
      return reply(200, { which: params.which, inserted: card.inserted });
    },
  );

  // The pharmacist's back office: bordereaux, rejects, statistics, register, refills.
  mountBackofficeRoutes(api, routes, new BackOffice(service));

  api.use((req: Request, _res: Response, next: NextFunction) => {
    next(new HttpError(404, 'not-found', `no API endpoint ${clip(req.method)} ${clip(req.path)}`));
  });

  app.use('/api', api);
  app.use(serveSharedModules());
  app.use(
    express.static(options.webDir ?? webDirectory(), {
      index: 'index.html',
      dotfiles: 'ignore',
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body, internal } = toHttpError(err);
    // Only name, code, message and stack: an error object may carry the request body (body-parser
    // keeps it on parse errors) and a body may carry a PIN.
    if (internal) logger.error({ err: safeError(err), method: clip(req.method), path: clip(req.path, 120) }, 'request failed');
    else if (status >= 500) logger.warn({ code: body.error.code, path: clip(req.path, 120) }, body.error.message);
    if (res.headersSent) return;
    res.status(status).json(body);
  });

  return app;
}

function safeError(err: unknown): { name: string; code?: string; message: string; stack?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
    };
  }
  return { name: typeof err, message: String(err) };
}
