import type { Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { clip, quoteClipped } from '../common/display';
import { createLogger } from '../common/log';
import { maskId } from '../common/log';
import { isIdentityEncoding, isJsonMediaType } from '../common/media-type';
import { PathTemplates } from '../common/path-templates';
import { testKeyFile } from '../common/paths';
import { loadRules } from '../billing/rules/load';
import type { RuleBook } from '../billing/rules/load';
import { DOWNLINK_CONTENT_TYPES, DOWNLINK_NAMES, type DownlinkName } from '../sync/downlink/format';
import {
  AUTH_SCHEME,
  CERTIFICATE_HEADER,
  FUND_CERTIFICATE_HEADER,
  MAX_BODY_BYTES,
  SIGNATURE_HEADER,
  type ChainTipAnswer,
} from '../sync/protocol';
import type { Signer } from '../sync/signer';
import { AnswerSigner } from './answers';
import { AuthRefusal, RequestVerifier, type AuthenticatedRequest } from './auth';
import { errorBody, handleBatch, PharmacyLocks, type BatchDeps } from './batch';
import { DownlinkFiles } from './downlink';
import { RightsRegistry } from './rights';
import { FaultInjector, NO_FAULTS, type FaultSpec } from './faults';
import { FundStore, type BatchRowDb } from './store';
import { TrustStore } from '../sync/trust';
import { VerifyPool } from './verify-pool';

/**
 * `chifa fund`: the reference fund server for integrators (express + SQLite). It verifies what a
 * pharmacy uploads — certificate against the fund CA, every signature, every chain link, the
 * manifest, duplicates, and each split recomputed with the rules in force — stores it, answers
 * with per-invoice acknowledgements, and serves the downlink. Every route but health
 * authenticates the pharmacy (a token signed by its card: auth.ts) and answers only about that
 * pharmacy; every answer is signed with the fund's key (answers.ts). `faults` makes it misbehave
 * on purpose. Listens on 127.0.0.1 unless told otherwise.
 */

export interface FundServerOptions {
  dataDir: string;
  /** PEM files of the CA(s) that issue professional certificates. Default: the TEST ONLY fund CA. */
  caFiles?: string[];
  /** The fund's signing key (its certificate carries the fund-signing EKU). Default: the TEST ONLY fixtures/keys/fund-signing key. */
  signer?: Signer;
  /** Clock difference tolerated on request tokens, seconds (default 60). */
  clockSkewSeconds?: number;
  rulesDir?: string;
  faults?: FaultSpec;
  /** Signature-verification worker threads (0: on the main thread). Default: one per core. */
  verifyThreads?: number;
  /** Batches are settled this long after their acknowledgement (null: never). Default 0. */
  settleAfterMs?: number | null;
  maxBodyBytes?: number;
  /** How often the downlink files are re-stat'ed, ms (default 1000). */
  downlinkRecheckMs?: number;
  /** Days a signed rights document stays writable to a card (default 7). */
  rightsValidityDays?: number;
  logger?: Logger;
  /** The fund's clock. */
  now?: () => Date;
}

/** Options of FundServer.listen. */
export interface ListenOptions {
  host?: string;
  port?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** A decimal whole number ≥ 1 (`7`, not `07`, `7.0`, `0x7` or `7e0`), or undefined. */
function positiveInteger(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The TEST ONLY fund CA certificate shipped in `fixtures/keys/fund-ca.pem`. */
export function defaultFundCa(): string {
  return testKeyFile('fund-ca.pem');
}

/**
 * The reference fund server (express + SQLite): verifies uploaded batches, stores them,
 * acknowledges per invoice, serves the downlink, and misbehaves on purpose when given faults.
 */
export class FundServer {
  /** @internal The express application. */
  readonly app: express.Express;
  /** @internal The SQLite store. */
  readonly store: FundStore;
  /** The faults in force. */
  readonly faults: FaultInjector;
  private readonly pool: VerifyPool;
  private readonly log: Logger;
  private server: http.Server | https.Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(options: FundServerOptions) {
    this.log = options.logger ?? createLogger({ level: 'silent' });
    const now = options.now ?? (() => new Date());
    const rules: RuleBook = loadRules(options.rulesDir);
    // Configuration first: a bad CA or signing key fails before anything is opened.
    const trust = TrustStore.fromFiles(options.caFiles ?? [defaultFundCa()]);
    const answers = options.signer ? new AnswerSigner(options.signer) : AnswerSigner.testOnly();
    const faults = (this.faults = new FaultInjector(options.faults ?? NO_FAULTS));
    this.store = FundStore.open(options.dataDir, { shortPayment: (_pharmacy, batchId) => faults.shortPayment(batchId) });
    this.pool = new VerifyPool(options.verifyThreads);
    const downlink = new DownlinkFiles(options.dataDir, options.rulesDir, options.downlinkRecheckMs);
    const rightsRegistry = new RightsRegistry(options.dataDir, options.rightsValidityDays);
    const verifier = new RequestVerifier({
      trust,
      store: this.store,
      now,
      ...(options.clockSkewSeconds !== undefined ? { skewSeconds: options.clockSkewSeconds } : {}),
    });
    const deps: BatchDeps = {
      store: this.store,
      trust,
      pool: this.pool,
      rules,
      downlink,
      now,
      forcedOutcome: (doc) => faults.forcedRejection(doc.number),
    };
    const settleAfterMs = options.settleAfterMs === undefined ? 0 : options.settleAfterMs;
    const locks = new PharmacyLocks();
    const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
    const log = this.log;

    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);

    // Faults first: they act before the body is read, as a broken network or fund would.
    app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
      if (!faults.active) return next();
      const go = (): void => {
        if (faults.roll(faults.spec.drop)) {
          log.debug({ url: req.url }, 'fault: drop');
          req.socket.destroy();
          return;
        }
        if (faults.roll(faults.spec.serverError)) {
          const status = faults.pick([500, 502, 503]);
          res.status(status).json(errorBody('FAULT_INJECTED', `injected ${status}`));
          return;
        }
        if (faults.roll(faults.spec.retryAfter)) {
          res.status(503).set('Retry-After', String(faults.spec.retryAfterSeconds)).json(errorBody('BUSY', 'injected: retry later'));
          return;
        }
        res.locals.dropAfter = faults.roll(faults.spec.dropAfter);
        res.locals.partial = faults.roll(faults.spec.partial);
        next();
      };
      const delay = faults.latencyMs();
      if (delay > 0) setTimeout(go, delay);
      else go();
    });

    app.get('/v1/health', (_req: Request, res: Response) => {
      res.json({ ok: true });
    });

    // Everything else: the pharmacy, authenticated by its card (auth.ts).
    const refused = (res: Response, r: AuthRefusal): void => {
      log.warn({ code: r.code, field: r.field }, 'request refused: not authenticated');
      res
        .status(r.status)
        .set('WWW-Authenticate', AUTH_SCHEME)
        .json(errorBody(r.code, r.message, r.field));
    };
    app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
      try {
        res.locals.auth = verifier.check(req.method, req.originalUrl, req.get('Authorization'), req.get(CERTIFICATE_HEADER));
      } catch (err) {
        if (err instanceof AuthRefusal) return refused(res, err);
        return next(err);
      }
      // A request without a body route below has none: its token must say so.
      if (!(req.method === 'POST' && req.path === '/batches')) {
        try {
          verifier.checkBody(res.locals.auth as AuthenticatedRequest, undefined);
        } catch (err) {
          if (err instanceof AuthRefusal) return refused(res, err);
          return next(err);
        }
      }
      next();
    });
    // A path express cannot decode is refused before routing, naming the parameter it holds.
    const paths = new PathTemplates();
    app.use((req: Request, res: Response, next: NextFunction) => {
      const field = paths.badSegment(req.path);
      if (field === undefined) return next();
      res.status(400).json(errorBody('MALFORMED_PATH', `${field}: not valid percent-encoded UTF-8`, field));
    });
    const pharmacyOf = (res: Response): string => (res.locals.auth as AuthenticatedRequest).pharmacyId;
    /** 403 unless the pharmacy in the path is the one authenticated. */
    const own = (req: Request, res: Response): boolean => {
      if (String(req.params.pharmacyId) === pharmacyOf(res)) return true;
      log.warn({ pharmacyId: pharmacyOf(res), asked: String(req.params.pharmacyId) }, "refused: another pharmacy's data");
      res
        .status(403)
        .json(errorBody('FORBIDDEN', `authenticated as ${pharmacyOf(res)}: the fund answers only about that pharmacy`, 'pharmacyId'));
      return false;
    };
    /** The pharmacy's batch the path names, or undefined with the 400 or 404 already sent. */
    const batchOf = (req: Request, res: Response): BatchRowDb | undefined => {
      const batchId = positiveInteger(String(req.params.batchId));
      if (batchId === undefined) {
        res.status(400).json(errorBody('BAD_REQUEST', 'batchId: expected a batch number (a whole number ≥ 1, in decimal)', 'batchId'));
        return undefined;
      }
      const row = this.store.batchById(String(req.params.pharmacyId), batchId);
      if (!row) res.status(404).json(errorBody('UNKNOWN_BATCH', `no batch ${batchId} of ${pharmacyOf(res)}`, 'batchId'));
      return row;
    };

    /** 415 unless the body is uncompressed UTF-8 JSON: its digest (the token's) is over the bytes sent. */
    const jsonBody = (req: Request, res: Response, next: NextFunction): void => {
      if (!isIdentityEncoding(req.get('Content-Encoding'))) {
        res.status(415).json(errorBody('UNSUPPORTED_ENCODING', 'send the batch uncompressed (no Content-Encoding)', 'Content-Encoding'));
        return;
      }
      const type = req.get('Content-Type');
      if (type === undefined || !isJsonMediaType(type)) {
        res
          .status(415)
          .json(
            errorBody(
              'UNSUPPORTED_MEDIA_TYPE',
              'send the batch as Content-Type: application/json (charset utf-8 if given)',
              'Content-Type',
            ),
          );
        return;
      }
      next();
    };

    const raw = express.raw({ type: () => true, limit, inflate: false });
    app.post(paths.add('/v1/batches'), jsonBody, raw, async (req: Request, res: Response, next: NextFunction) => {
      try {
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        try {
          verifier.checkBody(res.locals.auth as AuthenticatedRequest, rawBody);
        } catch (err) {
          if (err instanceof AuthRefusal) return refused(res, err);
          throw err;
        }
        const out = await handleBatch(deps, locks, rawBody, req.get('Idempotency-Key'), pharmacyOf(res));
        const body = out.body;
        if (out.status === 200 && 'results' in body) {
          log.info(
            {
              pharmacyId: body.pharmacyId,
              batchId: body.batchId,
              count: body.count,
              rejected: body.rejected,
              replayed: out.replayed === true,
            },
            'batch acknowledged',
          );
        } else if ('error' in body) {
          log.warn({ status: out.status, code: body.error.code, field: body.error.field }, 'batch refused');
        }
        if (res.locals.dropAfter === true) {
          log.debug('fault: drop after processing');
          req.socket.destroy();
          return;
        }
        if (out.replayed) res.set('Idempotent-Replayed', 'true');
        if (!('results' in body)) {
          res.status(out.status).json(body);
          return;
        }
        // Signed after the partial fault has cut the results, as a fund answering in part would.
        const partial = res.locals.partial === true && body.results.length > 1;
        const ack = partial
          ? { ...body, complete: false, results: body.results.slice(0, Math.floor(faults.random() * body.results.length)) }
          : body;
        res.status(out.status).json(await answers.answer(ack, 'chifa-ack+jws'));
      } catch (err) {
        next(err);
      }
    });

    app.get(paths.add('/v1/batches/:pharmacyId/:batchId'), async (req: Request, res: Response) => {
      if (!own(req, res)) return;
      const row = batchOf(req, res);
      if (!row) return;
      res.json(await answers.answer(this.store.ack(row, now(), settleAfterMs), 'chifa-ack+jws'));
    });

    // What the fund transferred for a settled batch, and what it kept back invoice by invoice.
    app.get(paths.add('/v1/batches/:pharmacyId/:batchId/payment'), async (req: Request, res: Response) => {
      if (!own(req, res)) return;
      const row = batchOf(req, res);
      if (!row) return;
      const notice = this.store.paymentNotice(row, now(), settleAfterMs);
      if (!notice) {
        res.status(409).json(errorBody('NOT_SETTLED', `batch ${row.batch_id} is not paid yet`, 'batchId'));
        return;
      }
      res.json(await answers.answer(notice, 'chifa-payment+jws'));
    });

    app.get(paths.add('/v1/pharmacies/:pharmacyId/batches'), async (req: Request, res: Response) => {
      if (!own(req, res)) return;
      const q = req.query.from;
      const from = q === undefined ? 1 : typeof q === 'string' ? positiveInteger(q) : undefined;
      if (from === undefined) {
        res.status(400).json(errorBody('BAD_REQUEST', 'from: expected one batch number (a whole number ≥ 1, in decimal)', 'from'));
        return;
      }
      const pharmacyId = String(req.params.pharmacyId);
      const batches = this.store.listBatches(pharmacyId, from, 1000, now(), settleAfterMs);
      res.json(await answers.answer({ pharmacyId, batches }, 'chifa-batches+jws'));
    });

    app.get(paths.add('/v1/pharmacies/:pharmacyId/chain'), async (req: Request, res: Response) => {
      if (!own(req, res)) return;
      const pharmacyId = String(req.params.pharmacyId);
      const tip: ChainTipAnswer = { pharmacyId, ...this.store.tip(pharmacyId) };
      res.json(await answers.answer(tip, 'chifa-chain+jws'));
    });

    // A card's current rights, signed: what a counter writes to an expired card (docs/sync.md, "Rights").
    app.get(paths.add('/v1/rights/:cardSerial'), async (req: Request, res: Response) => {
      const serial = String(req.params.cardSerial);
      if (!/^[A-Z0-9-]{4,20}$/.test(serial)) {
        res.status(400).json(errorBody('BAD_REQUEST', 'expected a card serial (4 to 20 of A-Z, 0-9, -)', 'cardSerial'));
        return;
      }
      let doc;
      try {
        doc = rightsRegistry.document(serial, now().toISOString().slice(0, 10));
      } catch (err) {
        log.error({ err }, 'rights registry');
        res.status(500).json(errorBody('RIGHTS_UNAVAILABLE', (err as Error).message));
        return;
      }
      if (!doc) {
        res.status(404).json(errorBody('UNKNOWN_CARD', 'the fund has no rights for this card', 'cardSerial'));
        return;
      }
      log.info({ pharmacyId: pharmacyOf(res), card: maskId(serial), sequence: doc.sequence }, 'rights document signed');
      res.set('Cache-Control', 'no-store').json(await answers.answer(doc, 'chifa-rights+jws'));
    });

    app.get(paths.add('/v1/downlink/:name'), async (req: Request, res: Response) => {
      const name = String(req.params.name);
      if (!(DOWNLINK_NAMES as readonly string[]).includes(name)) {
        res
          .status(404)
          .json(errorBody('UNKNOWN_DOCUMENT', `no downlink document ${quoteClipped(name)} (${DOWNLINK_NAMES.join(', ')})`, 'name'));
        return;
      }
      let doc;
      try {
        doc = downlink.get(name as DownlinkName);
      } catch (err) {
        log.error({ err }, 'downlink file');
        res.status(500).json(errorBody('DOWNLINK_UNAVAILABLE', (err as Error).message));
        return;
      }
      if (!doc) {
        res.status(404).json(errorBody('UNKNOWN_DOCUMENT', `the fund publishes no ${name}`, 'name'));
        return;
      }
      res.set('ETag', doc.etag).set('Cache-Control', 'no-cache');
      if (req.get('If-None-Match') === doc.etag) {
        res.status(304).end();
        return;
      }
      res
        .set(SIGNATURE_HEADER, await answers.downlinkSignature(name, doc))
        .set(FUND_CERTIFICATE_HEADER, answers.certificate)
        .type(DOWNLINK_CONTENT_TYPES[name as DownlinkName])
        .send(doc.body);
    });

    app.use((req: Request, res: Response) => {
      res.status(404).json(errorBody('NOT_FOUND', `no endpoint ${clip(req.method)} ${clip(req.path, 120)}`, 'path'));
    });

    // Body-parser failures (too large, truncated, aborted) and anything unexpected.
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const e = err as { type?: string; status?: number; message?: string };
      if (e.type === 'entity.too.large') {
        res.status(413).json(errorBody('BODY_TOO_LARGE', `the body exceeds ${limit} bytes`, 'body'));
        return;
      }
      if (e.type === 'request.aborted') {
        req.socket.destroy();
        return;
      }
      if (e.type === 'request.size.invalid') {
        res.status(400).json(errorBody('TRUNCATED_BODY', 'the body is shorter or longer than its Content-Length', 'body'));
        return;
      }
      // Other errors of express and its body reader that blame the request: their message may
      // quote it, so it is not repeated.
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
        res.status(e.status).json(errorBody('BAD_REQUEST', 'the request could not be read', 'request'));
        return;
      }
      log.error({ err }, 'unexpected error');
      res.status(500).json(errorBody('INTERNAL', 'internal error'));
    });
    this.app = app;
  }

  /** Starts listening; resolves with the base URL. */
  listen(options: ListenOptions = {}): Promise<string> {
    const host = options.host ?? '127.0.0.1';
    const server = options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, this.app)
      : http.createServer(this.app);
    server.keepAliveTimeout = 5000;
    server.requestTimeout = 120_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        const a = server.address() as AddressInfo;
        const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        resolve(`${options.tls ? 'https' : 'http'}://${h}:${a.port}`);
      });
    });
  }

  /** Stops listening (open connections are cut), stops the workers and closes the store. */
  async close(): Promise<void> {
    if (this.server) {
      const s = this.server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const sock of this.sockets) sock.destroy();
      });
    }
    await this.pool.close();
    this.store.close();
  }
}
