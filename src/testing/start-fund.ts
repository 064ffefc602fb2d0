import { AssertionError } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { auditFundStore, type FundAudit } from '../fund/audit';
import { NO_FAULTS, parseFaults, type FaultSpec } from '../fund/faults';
import { FundServer } from '../fund/server';
import type { FundVerifier } from '../sync/fund-verifier';
import { RequestAuthenticator } from '../sync/request-auth';
import type { Signer } from '../sync/signer';
import { track, untrack } from './cleanup';
import { testFundVerifier, testKeys } from './fixtures';

/**
 * `startFund`: the reference fund server on a free loopback port, with its store in a temporary
 * directory that `stop()` removes, and its store audit as an assertion.
 */

/** Options of {@link startFund}. */
export interface StartFundOptions {
  /**
   * Faults: the `chifa fund --faults` text (`'drop=0.05,5xx=0.1,seed=7'`) or a partial spec.
   * Default: none.
   */
  readonly faults?: string | Partial<FaultSpec>;
  /** Keep the store here (not removed by `stop()`). Default: a new temporary directory. */
  readonly dataDir?: string;
  /** Serve HTTPS with the test TLS certificate; clients must trust `testKeys.tlsCa`. */
  readonly tls?: boolean;
  /** Signature-checking worker threads. Default 0: everything on the test's own thread. */
  readonly verifyThreads?: number;
  /** Batches are settled this long after their acknowledgement (null: never). Default 0. */
  readonly settleAfterMs?: number | null;
  /** CA certificates (PEM files) trusted for pharmacists' certificates. Default: the test fund CA. */
  readonly caFiles?: string[];
  /** The fund's clock. */
  readonly now?: () => Date;
}

/** What {@link TestFund.expectAudit} checks besides "the store is complete" (totals over all pharmacies). */
export interface ExpectedAudit {
  /** Invoices stored (accepted + rejected). */
  readonly invoices?: number;
  /** Invoices accepted. */
  readonly accepted?: number;
  /** Invoices rejected. */
  readonly rejected?: number;
  /** Batches stored. */
  readonly batches?: number;
  /** Pharmacies that uploaded. */
  readonly pharmacies?: number;
}

/**
 * What a pharmacy's client needs to talk to the test fund (an `UploaderOptions` subset; also
 * `fundEndpoint(options.fund, options)`): its URL, the TLS CA with `tls`, the request
 * authenticator signing with the pharmacy's key, and the verifier of the fund's signed answers
 * (trusting the TEST ONLY fund CA).
 */
export interface FundClientOptions {
  /** The fund's base URL. */
  readonly fund: string;
  /** With `tls`: the CA (PEM) of the fund's TLS certificate. */
  readonly ca?: Buffer;
  /** Signs every request with the pharmacy's key (the fund answers 401 without it). */
  readonly auth: RequestAuthenticator;
  /** Checks the fund's signed answers. */
  readonly verifier: FundVerifier;
}

/** A running reference fund. */
export interface TestFund {
  /** Its base URL, e.g. `http://127.0.0.1:41237` (give it to the uploader as `fund`). */
  readonly url: string;
  /** Where its store is. */
  readonly dataDir: string;
  /** With `tls`: the CA (PEM) a client must trust. */
  readonly ca: Buffer | undefined;
  /** The server (faults can be changed through `server.faults`). */
  readonly server: FundServer;
  /**
   * Client options for a pharmacy whose requests `signer` signs (a professional card's signer, or
   * `testSigner()`): `new Uploader(journal, fund.client(signer))`.
   */
  client(signer: Signer): FundClientOptions;
  /** Audits the store: every invoice exactly once, chains without gaps, every signature and manifest. */
  audit(): FundAudit;
  /**
   * Asserts the audit passes (and the totals, when given); throws an `AssertionError` listing the
   * problems otherwise. Returns the audit.
   */
  expectAudit(expected?: ExpectedAudit): FundAudit;
  /** Stops the server and removes its temporary store. Safe to call twice. */
  stop(): Promise<void>;
}

function faultSpec(faults: StartFundOptions['faults']): FaultSpec {
  if (faults === undefined) return { ...NO_FAULTS };
  if (typeof faults === 'string') return parseFaults(faults);
  return { ...NO_FAULTS, ...faults };
}

function totals(audit: FundAudit): Required<ExpectedAudit> {
  const sum = (f: (p: FundAudit['pharmacies'][number]) => number): number => audit.pharmacies.reduce((n, p) => n + f(p), 0);
  return {
    invoices: sum((p) => p.invoices),
    accepted: sum((p) => p.accepted),
    rejected: sum((p) => p.rejected),
    batches: sum((p) => p.batches),
    pharmacies: audit.pharmacies.length,
  };
}

/**
 * Starts the reference fund for a test.
 *
 * ```ts
 * const fund = await startFund({ faults: '5xx=0.3,drop-after=0.2,seed=7' });
 * await new Uploader(journal, fund.client(testSigner())).runOnce();
 * fund.expectAudit({ accepted: 3 });
 * await fund.stop();
 * ```
 */
export async function startFund(options: StartFundOptions = {}): Promise<TestFund> {
  const own = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-test-fund-'));
  let server: FundServer;
  try {
    server = new FundServer({
      dataDir,
      faults: faultSpec(options.faults),
      verifyThreads: options.verifyThreads ?? 0,
      ...(options.settleAfterMs !== undefined ? { settleAfterMs: options.settleAfterMs } : {}),
      ...(options.caFiles !== undefined ? { caFiles: options.caFiles } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
  } catch (err) {
    if (own) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let url: string;
  try {
    url = await server.listen(
      options.tls ? { tls: { cert: fs.readFileSync(testKeys.tlsServer.cert), key: fs.readFileSync(testKeys.tlsServer.key) } } : {},
    );
  } catch (err) {
    await server.close();
    if (own) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const fund: TestFund = {
    url,
    dataDir,
    ca: options.tls ? fs.readFileSync(testKeys.tlsCa) : undefined,
    server,
    client: (signer) => ({
      fund: url,
      ...(options.tls ? { ca: fs.readFileSync(testKeys.tlsCa) } : {}),
      auth: new RequestAuthenticator(signer),
      verifier: testFundVerifier(),
    }),
    audit: () => auditFundStore(dataDir),
    expectAudit: (expected = {}) => {
      const audit = auditFundStore(dataDir);
      const problems = [...audit.problems, ...audit.pharmacies.flatMap((p) => p.problems)];
      const got = totals(audit);
      for (const k of Object.keys(expected) as (keyof ExpectedAudit)[]) {
        const want = expected[k];
        if (want !== undefined && got[k] !== want) problems.push(`${k}: expected ${want}, the store holds ${got[k]}`);
      }
      if (problems.length > 0) {
        throw new AssertionError({
          message: `the fund's store audit failed:\n  ${problems.join('\n  ')}`,
          actual: got,
          expected: { ...got, ...expected },
          operator: 'expectAudit',
        });
      }
      return audit;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      untrack(fund);
      await server.close();
      if (own) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  track(fund);
  return fund;
}
