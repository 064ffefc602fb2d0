import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CatalogueSearch, hit } from '../counter/catalogue-search';
import { EmulatedStation } from '../counter/emulated-station';
import { buildReceipt } from '../counter/receipt';
import { cancelSchema, checkoutSchema, counterQuoteSchema, parseBody, pinSchema, productCodeSchema } from '../counter/request';
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

/**
 * The counter's HTTP API (JSON, express 5) and its static page. Request bodies are never logged:
 * the request log holds method, path, status and duration only, because a body may carry a PIN.
 */

export interface AppOptions {
  service: CounterService;
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

/** One query parameter, at most once (`?q=a&q=b` is refused rather than half read). */
function queryParam(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new HttpError(400, 'invalid-input', `${name}: expected one value`, name);
}

function numberParam(value: unknown, field = 'number'): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value))
    throw new HttpError(400, 'invalid-input', `${field}: expected an invoice number (a whole number ≥ 1)`, field);
  return Number(value);
}

export function createApp(options: AppOptions): express.Express {
  const { service, logger } = options;
  const search = new CatalogueSearch(service.catalogue.db);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Request log: no bodies, no headers, no query strings.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      if (req.path === '/api/status' || req.path === '/api/health') return; // frequent: the page asks after each card event, monitors poll health
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
  api.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.get('/health', (_req, res) => {
    res.json({ ok: true, mode: service.station.mode });
  });
  // The event stream checks the token itself: a browser's EventSource sends a ticket instead.
  const events = eventStream({
    events: service.events,
    token: options.token,
    logger,
    ...(options.eventHeartbeatMs !== undefined ? { heartbeatMs: options.eventHeartbeatMs } : {}),
  });
  api.get('/events', events.stream);

  api.use(requireToken(options.token));
  api.use(paths.middleware());
  api.use(requireJsonBody());
  api.use(express.json({ limit: BODY_LIMIT, strict: true, type: 'application/json', inflate: false }));

  api.get('/status', (_req, res) => {
    res.json(service.status());
  });

  api.post('/events/ticket', events.ticket);

  api.post('/card/open', async (_req, res) => {
    res.json(await service.openCard());
  });

  api.post('/card/verify', async (req, res) => {
    const { pin } = parseBody(pinSchema, req.body, 'PIN request');
    res.json(await service.verifyPin(pin));
  });

  api.get('/card', (_req, res) => {
    res.json(service.card());
  });

  // Asks the fund again for the current rights of an expired card (after the fund was unreachable).
  api.post('/card/rights', async (_req, res) => {
    res.json({ rights: await service.refreshRights(), card: service.card() });
  });

  api.post('/card/history', async (_req, res) => {
    res.json(await service.readHistory());
  });

  api.post('/professional/verify', async (req, res) => {
    const { pin } = parseBody(pinSchema, req.body, 'PIN request');
    res.json(await service.verifyProfessionalPin(pin));
  });

  api.get('/catalogue', (req, res) => {
    const q = queryParam(req, 'q') ?? '';
    if (q.length > 64) throw new HttpError(400, 'invalid-input', 'q: at most 64 characters', 'q');
    let limit = 20;
    const limitParam = queryParam(req, 'limit');
    if (limitParam !== undefined) {
      const l = /^\d{1,3}$/.test(limitParam) ? Number(limitParam) : NaN;
      if (!(l >= 1 && l <= 100)) throw new HttpError(400, 'invalid-input', 'limit: expected a whole number from 1 to 100', 'limit');
      limit = l;
    }
    res.json({ query: q, products: search.search(q, limit) });
  });

  api.get(paths.add('/catalogue/:code'), (req, res) => {
    const { code } = parseBody(productCodeSchema, { code: req.params.code }, 'product code');
    const p = service.catalogue.get(code);
    if (!p) throw new UnknownProductError(code, 'code');
    res.json(hit(p));
  });

  // GS1 barcodes: the product a scanned GTIN names.
  mountGtinRoute(api, paths, service.catalogue);

  api.post('/quote', async (req, res) => {
    res.json(await service.quote(parseBody(counterQuoteSchema, req.body, 'quote request')));
  });

  api.post('/checkout', async (req, res) => {
    const out = await service.checkout(parseBody(checkoutSchema, req.body, 'checkout request'));
    res.status(out.replayed ? 200 : 201).json(out);
  });

  api.get('/card-writes', (_req, res) => {
    res.json({ pending: service.pendingWrites() });
  });

  api.post(paths.add('/card-writes/:number/complete'), async (req, res) => {
    res.json(await service.completeWrite(numberParam(req.params.number)));
  });

  api.post(paths.add('/card-writes/:number/cancel'), async (req, res) => {
    const { reason } = parseBody(cancelSchema, req.body, 'cancel request');
    res.json(await service.cancelWrite(numberParam(req.params.number), reason));
  });

  api.get('/invoices/rejected', (_req, res) => {
    res.json({ rejected: service.rejected(), backlog: service.backlog() });
  });

  api.get(paths.add('/invoices/:number/receipt'), (req, res) => {
    const inv = service.invoiceDocument(numberParam(req.params.number));
    res.json(buildReceipt({ ...inv, pharmacy: service.pharmacyIdentity(), rules: service.rules }));
  });

  api.get('/sync/backlog', (_req, res) => {
    res.json(service.backlog());
  });

  // Demo mode only: pull out and put back the emulated cards, to show the recovery of a card write.
  api.post(paths.add('/demo/:which/:action'), (req, res) => {
    const station = service.station;
    if (!(station instanceof EmulatedStation)) throw new HttpError(404, 'not-found', 'demo controls exist only in demo mode');
    const which = req.params.which;
    const action = req.params.action;
    if ((which !== 'insured' && which !== 'professional') || (action !== 'remove' && action !== 'insert')) {
      throw new HttpError(400, 'invalid-input', 'expected /demo/(insured|professional)/(remove|insert)', 'path');
    }
    const card = station.cards[which];
    if (action === 'remove') card.remove();
    else card.insert();
    res.json({ which, inserted: card.inserted });
  });

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
