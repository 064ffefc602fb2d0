/**
 * The reference fund server, for integrators: it verifies what a pharmacy uploads (certificate
 * against the fund CA, every signature and chain link, the manifest, duplicates, each split
 * recomputed), stores it, acknowledges per invoice, serves the downlink, and can misbehave on
 * purpose (drops, 5xx, Retry-After, latency, partial acknowledgements).
 *
 * ```ts
 * import { FundServer, parseFaults, auditFundStore } from 'chifa-terminal/fund';
 *
 * const fund = new FundServer({ dataDir: './var/fund', faults: parseFaults('5xx=0.1,seed=7') });
 * const url = await fund.listen(); // http://127.0.0.1:<free port>
 * // … upload …
 * await fund.close();
 * auditFundStore('./var/fund').ok; // every invoice exactly once, chains without gaps
 * ```
 *
 * It trusts the TEST ONLY fund CA of `fixtures/keys/` unless given other CAs.
 * `chifa-terminal/testing` has `startFund`, which also cleans up.
 *
 * @packageDocumentation
 * @module chifa-terminal/fund
 */

export { FundServer, defaultFundCa, type FundServerOptions, type ListenOptions } from './server';
export { parseFaults, FaultSpecError, type FaultInjector, type FaultSpec } from './faults';
export { auditFundStore, type FundAudit, type PharmacyAudit } from './audit';
