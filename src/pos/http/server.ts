import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ChifaError } from '../../common/errors';
import { maskId } from '../../common/log';
import { ensurePrivateDir, loosePermissions, looseWarning } from '../../common/private-files';
import { DownlinkStore } from '../../sync/downlink/client';
import { fundCaFor, FundVerifier } from '../../sync/fund-verifier';
import { fundEndpoint } from '../../sync/http';
import { FundRightsSource } from '../counter/rights-source';
import { TrustStore } from '../../sync/trust';
import type { BatchPolicy } from '../../sync/journal/journal';
import type { SyncProgress } from '../../sync/uploader';
import { CatalogueStore } from '../../billing/catalogue/store';
import { BatchCloser } from '../counter/batch-close';
import { CounterJournal, journalPath } from '../counter/journal';
import { openStation } from '../counter/open-station';
import { CounterService } from '../counter/service';
import type { CardStation } from '../counter/station';
import { SyncLoop } from '../counter/sync-loop';
import { loadRules, type RuleBook } from '../../billing/rules/load';
import { createApp } from './app';
import { resolveToken, TOKEN_FILE } from './auth';
import { isLoopbackHost } from '../../common/loopback';

/** How long the counter waits for the fund's answer on a card's rights (the pharmacist is waiting). */
const RIGHTS_TIMEOUT_MS = 8000;

/**
 * Starts the counter: data directory (catalogue, journal with card_writes, downlink), the card
 * station (PC/SC or the demo cards), the service, the HTTP server — and stops it all cleanly.
 */

export interface CounterServerOptions {
  host?: string;
  port?: number;
  dataDir: string;
  /** API token; else `DATA/token` (created with a random token, mode 0600). */
  token?: string;
  /** Needed to bind a non-loopback address. */
  allowRemote?: boolean;
  demo?: boolean;
  /** Demo cards only: a timing profile (none, iso-default, typical, FILE.json), so the demo waits like a real card. */
  timing?: string;
  /** Demo cards only: the insured card's image. */
  demoInsuredImage?: string;
  insuredReader?: string;
  professionalReader?: string;
  /** Fund base URL: upload batches and fetch the downlink in the background. */
  fund?: string;
  /** PEM file of the CA of the fund's TLS certificate. */
  fundCa?: string;
  /**
   * PEM file of the fund CA that issues the fund's signing certificate (default: TEST ONLY, for a
   * fund on loopback only) — and the professional cards: the journal signs only with a card
   * whose certificate chains to it (default: the TEST ONLY one, with a warning unless demo).
   */
  fundSignerCa?: string;
  syncIntervalMs?: number;
  /** When the journal closes a batch (default: 500 invoices or 24 hours). */
  batch?: Partial<BatchPolicy>;
  logger: Logger;
  /** Tests: a given card station (e.g. emulated cards with fault injection) and clock. */
  station?: CardStation;
  now?: () => Date;
  rules?: RuleBook;
}

export interface RunningCounter {
  /** `http://host:port` */
  url: string;
  /** The page, with the token in the fragment (never sent to the server by the browser). */
  pageUrl: string;
  token: string;
  tokenSource: 'given' | 'file' | 'generated';
  tokenFile: string | undefined;
  service: CounterService;
  station: CardStation;
  /** The background sync with the fund (with `fund`). */
  sync: SyncLoop | undefined;
  /** The batch closed on the professional card and sent ("Clôturer et transmettre"); its `job` events report progress. */
  batches: BatchCloser;
  close(): Promise<void>;
}

export class RemoteBindRefusedError extends ChifaError {
  constructor(host: string) {
    super(
      'remote-refused',
      `refusing to listen on ${host}: the counter binds to loopback only; pass --allow-remote to expose it on the network (the API token is then the only protection)`,
    );
  }
}

export async function startCounter(o: CounterServerOptions): Promise<RunningCounter> {
  const log = o.logger;
  const host = o.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback && !o.allowRemote) throw new RemoteBindRefusedError(host);
  if (!loopback)
    log.warn(
      { host },
      'WARNING: the counter listens on a non-loopback address (--allow-remote); anyone on the network who has the token can use it. Put TLS in front of it.',
    );
  const loose = loosePermissions(o.dataDir).filter((e) => path.basename(e.path) !== TOKEN_FILE);
  if (loose.length > 0) log.warn({ loose }, looseWarning(loose));
  ensurePrivateDir(o.dataDir);
  const tok = resolveToken(o.dataDir, o.token);
  if (tok.tightenedFrom)
    log.warn(
      { file: tok.file, mode: tok.tightenedFrom },
      'the API token file was readable by other users: made it 0600; delete it and restart to get a new token if someone may have read it',
    );

  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ error: (err as Error).message }, 'error while stopping');
      }
    }
    log.info('counter stopped');
  };
  try {
    const catalogue = CatalogueStore.open(o.dataDir);
    closers.push(() => catalogue.close());
    const journal = CounterJournal.open(journalPath(o.dataDir), {
      ...(o.now ? { now: o.now } : {}),
      ...(o.batch ? { batch: o.batch } : {}),
      ...(o.fundSignerCa ? { trust: TrustStore.fromFiles([o.fundSignerCa]) } : {}),
    });
    closers.push(() => journal.close());
    const downlink = DownlinkStore.open(o.dataDir);
    closers.push(() => downlink.close());
    const rules = o.rules ?? downlink.ruleBook() ?? loadRules();

    let station = o.station;
    if (!station) {
      station = (
        await openStation({
          dataDir: o.dataDir,
          logger: log,
          ...(o.demo ? { demo: true } : {}),
          ...(o.timing !== undefined ? { timing: o.timing } : {}),
          ...(o.demoInsuredImage !== undefined ? { demoInsuredImage: o.demoInsuredImage } : {}),
          ...(o.insuredReader ? { insuredReader: o.insuredReader } : {}),
          ...(o.professionalReader ? { professionalReader: o.professionalReader } : {}),
        })
      ).station;
    }
    const st = station;
    closers.push(() => st.close());
    if (!o.fundSignerCa && st.mode !== 'demo')
      log.warn('the journal trusts the TEST ONLY fund CA for professional cards; configure the fund CA (--fund-signer-ca)');

    // With a fund, the counter asks it for the current rights of an expired card (checked against
    // the fund CA, like every answer of the fund); the sync loop below uses the same trust.
    const signerCa = o.fund ? fundCaFor(o.fund, o.fundSignerCa, '--fund-signer-ca') : undefined;
    const rights = o.fund
      ? new FundRightsSource(
          fundEndpoint(o.fund, {
            ...(o.fundCa ? { ca: fs.readFileSync(o.fundCa) } : {}),
            verifier: new FundVerifier([fs.readFileSync(signerCa!.file)], o.now ? { now: o.now } : {}),
            timeoutMs: RIGHTS_TIMEOUT_MS,
          }),
          o.now,
        )
      : undefined;
    const service: CounterService = new CounterService({
      station: st,
      catalogue,
      rules,
      journal,
      isBlacklisted: (serial: string, date: string): boolean => downlink.blacklist.isBlacklisted(serial, date),
      ...(rights ? { rights } : {}),
      logger: log,
      ...(o.now ? { now: o.now } : {}),
    });
    closers.push(() => service.close());
    service.reconcile();
    const pending = service.pendingWrites();
    if (pending.length > 0) {
      log.warn(
        { pending: pending.map((w) => ({ invoice: w.invoiceNumber, card: maskId(w.cardSerial) })) },
        'card writes pending: insert those cards and verify their PIN to complete them',
      );
    }
    if (st.mode === 'demo' && st.demoHints?.professionalPin) {
      // The demo pharmacist card is TEST ONLY data: unlock it so the demo works out of the box.
      try {
        const r = await service.verifyProfessionalPin(st.demoHints.professionalPin);
        if (r.result === 'ok') log.info({ pharmacy: r.pharmacy.pharmacyId }, 'demo professional card unlocked');
      } catch (err) {
        log.warn({ error: (err as Error).message }, 'cannot unlock the demo professional card');
      }
    } else {
      await service.refreshProfessional();
    }

    let sync: SyncLoop | undefined;
    if (o.fund && signerCa) {
      if (signerCa.testOnly)
        log.warn({ ca: signerCa.file }, "verifying the fund's signatures with the TEST ONLY fund CA (the fund is on loopback)");
      const loop = new SyncLoop({
        fund: o.fund,
        ...(o.fundCa ? { ca: fs.readFileSync(o.fundCa) } : {}),
        fundCa: fs.readFileSync(signerCa.file),
        ...(o.now ? { now: o.now } : {}),
        ...(o.syncIntervalMs !== undefined ? { intervalMs: o.syncIntervalMs } : {}),
        journal,
        downlink,
        service,
        logger: log,
      });
      loop.start();
      closers.push(() => loop.stop());
      sync = loop;
    }

    const loop = sync;
    const batches = new BatchCloser({
      service,
      logger: log,
      ...(loop
        ? {
            upload: async (onProgress: (p: SyncProgress) => void) => {
              const summary = await loop.runNow({ onProgress });
              if (summary === null) throw new ChifaError('sync-failed', loop.lastRun?.error ?? 'the sync run failed');
              return summary;
            },
          }
        : {}),
    });
    const app = createApp({ service, batches, token: tok.token, logger: log, checkHost: loopback });
    const server = http.createServer(app);
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 8080, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const addr = server.address() as AddressInfo;
    const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${shownHost}:${addr.port}`;
    log.info({ url, mode: st.mode, data: o.dataDir }, 'counter listening');
    let closed: Promise<void> | undefined;
    return {
      url,
      pageUrl: `${url}/#token=${encodeURIComponent(tok.token)}`,
      token: tok.token,
      tokenSource: tok.source,
      tokenFile: tok.file,
      service,
      station: st,
      sync,
      batches,
      close: () => (closed ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
