import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { ChifaError } from '../common/errors';
import { clip } from '../common/display';
import { zodIssues } from '../common/zod-issues';
import type { RuleBook } from '../billing/rules/load';
import { b64uDecode } from '../sync/base64url';
import { canonicalize } from '../sync/canonical';
import type { InvoiceDocument } from '../sync/invoice';
import { jwsHash, parseCompact, verifySignature } from '../sync/jws';
import { checkInvoiceJws } from './validate';
import { addToTotals, checkManifest, emptyTotals, type BatchManifest } from '../sync/manifest';
import { MAX_BATCH_INVOICES, type BatchAck, type ErrorBody, type InvoiceResult } from '../sync/protocol';
import { certificateThumbprint } from '../sync/signer';
import { assessInvoice, type CheckContext } from './checks';
import type { DownlinkFiles } from './downlink';
import type { ChainTip, FundStore, NewInvoiceRow } from './store';
import type { TrustStore, TrustedCertificate } from '../sync/trust';
import type { VerifyPool } from './verify-pool';

/**
 * The fund's handling of one uploaded batch, independent of HTTP: every check, then one
 * transaction. Refusals of the whole request (nothing stored) come back as an error body with a
 * code, the offending field and, for chain gaps, the number the fund expects next. Business
 * refusals of single invoices are results inside the acknowledgement.
 */

export interface BatchOutcome {
  status: number;
  body: BatchAck | ErrorBody;
  /** True when the answer is a stored acknowledgement replayed for a repeated request. */
  replayed?: boolean;
}

export interface BatchDeps {
  store: FundStore;
  trust: TrustStore;
  pool: VerifyPool;
  rules: RuleBook;
  downlink: DownlinkFiles;
  now: () => Date;
  /** Largest time an invoice may claim to be issued in the future (clock skew), ms. */
  maxFutureSkewMs?: number;
  /** An outcome imposed on an invoice, whatever it holds (fault injection: `reject-invoice`). */
  forcedOutcome?: (doc: InvoiceDocument) => Pick<InvoiceResult, 'status' | 'code' | 'reason'> | undefined;
}

const bodySchema = z.strictObject({
  certificates: z.array(z.string().min(1).max(8192)).min(1).max(4),
  manifest: z.string().min(1).max(2_000_000),
  invoices: z.array(z.string().min(1).max(200_000)).min(1).max(MAX_BATCH_INVOICES),
});

const KEY = /^[A-Za-z0-9_.:-]{16,128}$/;

/** Longest message and field of a refusal, in code points. */
const MAX_MESSAGE = 400;
const MAX_FIELD = 120;

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly expected?: number,
  ) {
    super(message);
  }
}

const refuse = (status: number, code: string, message: string, field?: string, expected?: number): never => {
  throw new Refusal(status, code, message, field, expected);
};

/**
 * A refusal's body. Messages and fields quote what the client sent (a JSON parser's excerpt, an
 * unknown key, a path): cut here, once for every refusal, so none is echoed whole or carries a
 * character that would reorder or hide the rest where it is shown.
 */
export function errorBody(code: string, message: string, field?: string, expected?: number): ErrorBody {
  return {
    error: {
      code,
      message: clip(message, MAX_MESSAGE),
      ...(field !== undefined ? { field: clip(field, MAX_FIELD) } : {}),
      ...(expected !== undefined ? { expected } : {}),
    },
  };
}

/**
 * Per pharmacy: a mutex for the part that reads and extends the chain, and the batches being
 * checked right now. A batch waits for the lower-numbered batches of its pharmacy that are still
 * in flight before it takes the mutex, so an uploader may have the next batch on the wire while
 * the previous one is being stored (the expensive checks of both then overlap), yet the chain is
 * always extended in order.
 */
export class PharmacyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly inflight = new Map<string, Map<number, Promise<void>>>();

  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(id, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }

  /** Marks batch `batchId` of `id` in flight until the returned function is called. */
  enter(id: string, batchId: number): () => void {
    let done!: () => void;
    const p = new Promise<void>((r) => (done = r));
    let m = this.inflight.get(id);
    if (!m) this.inflight.set(id, (m = new Map()));
    const mine = m;
    mine.set(batchId, p);
    return () => {
      if (mine.get(batchId) === p) mine.delete(batchId);
      if (mine.size === 0 && this.inflight.get(id) === mine) this.inflight.delete(id);
      done();
    };
  }

  /** Resolves when no batch of `id` numbered below `batchId` is in flight. */
  async predecessors(id: string, batchId: number): Promise<void> {
    for (;;) {
      const waits = [...(this.inflight.get(id) ?? new Map<number, Promise<void>>())].filter(([b]) => b < batchId).map(([, p]) => p);
      if (waits.length === 0) return;
      await Promise.all(waits);
    }
  }
}

/**
 * Handles one upload from pharmacy `caller` (the one the request authenticated): a batch of
 * another pharmacy, or a key or manifest that is another pharmacy's, is refused with 403.
 */
export async function handleBatch(
  deps: BatchDeps,
  locks: PharmacyLocks,
  rawBody: Buffer,
  idempotencyKey: string | undefined,
  caller: string,
): Promise<BatchOutcome> {
  try {
    return await handle(deps, locks, rawBody, idempotencyKey, caller);
  } catch (err) {
    if (err instanceof Refusal) return { status: err.status, body: errorBody(err.code, err.message, err.field, err.expected) };
    // A typed error from a parser (JWS, canonical JSON, invoice or manifest schema): bad input.
    // Anything else (SQLite, a worker thread that failed) is the fund's own failure.
    if (err instanceof ChifaError)
      return { status: 422, body: errorBody(err.code.toUpperCase().replace(/-/g, '_'), err.message, err.field ?? 'body') };
    throw err;
  }
}

const notYours = (caller: string, owner: string, what: string, field: string): never =>
  refuse(403, 'FORBIDDEN', `${what} belongs to pharmacy ${owner}; the request is authenticated as ${caller}`, field);

async function handle(
  deps: BatchDeps,
  locks: PharmacyLocks,
  rawBody: Buffer,
  key: string | undefined,
  caller: string,
): Promise<BatchOutcome> {
  if (key === undefined || !KEY.test(key))
    refuse(
      400,
      'IDEMPOTENCY_KEY_REQUIRED',
      'the Idempotency-Key header is required (16–128 characters of [A-Za-z0-9_.:-])',
      'Idempotency-Key',
    );
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch (err) {
    refuse(400, 'MALFORMED_BODY', `the body is not JSON (truncated?): ${(err as Error).message}`, 'body');
  }
  const parsed = bodySchema.safeParse(json);
  if (!parsed.success) {
    const i = zodIssues(parsed.error)[0]!;
    refuse(400, 'MALFORMED_BODY', `${i.field || 'body'}: ${i.message}`, i.field || 'body');
  }
  const body = parsed.data!;
  const manifestHash = jwsHash(body.manifest);

  // Idempotency: the same key (the caller's: keys are per pharmacy), or the same manifest, gets
  // the stored answer again.
  const byKey = deps.store.batchByKey(caller, key!);
  if (byKey) {
    if (byKey.manifest_hash !== manifestHash)
      refuse(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another batch', 'Idempotency-Key');
    return { status: 200, body: deps.store.ack(byKey, deps.now(), null), replayed: true };
  }
  const byManifest = deps.store.batchByManifest(manifestHash);
  if (byManifest && byManifest.pharmacy_id !== caller) notYours(caller, byManifest.pharmacy_id, 'this manifest', 'manifest');
  if (byManifest) return { status: 200, body: deps.store.ack(byManifest, deps.now(), null), replayed: true };

  // Certificates offered, by thumbprint.
  const certs = new Map<string, Buffer>();
  // Each must at least be X.509: the signature checks (worker threads included) parse them.
  body.certificates.forEach((c, i) => {
    const field = `certificates[${i}]`;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(c)) refuse(400, 'MALFORMED_BODY', `${field}: not base64`, field);
    const der = Buffer.from(c, 'base64');
    try {
      new X509Certificate(der);
    } catch {
      refuse(422, 'BAD_CERTIFICATE', `${field}: not an X.509 certificate (base64 DER)`, field);
    }
    certs.set(certificateThumbprint(der), der);
  });
  const trusted = new Map<string, TrustedCertificate>();
  const trust = (kid: string, at: string, field: string): TrustedCertificate => {
    const der = certs.get(kid);
    if (!der) refuse(422, 'UNKNOWN_KEY', `signed with certificate ${kid}, which the request does not carry`, field);
    try {
      const t = deps.trust.check(der!, new Date(at));
      trusted.set(kid, t);
      return t;
    } catch (err) {
      const e = err as { code: string; message: string };
      return refuse(422, e.code.toUpperCase().replace(/-/g, '_'), e.message, field);
    }
  };

  // The manifest: signature, shape, signer's pharmacy.
  const mp = parseCompact(body.manifest, 'manifest', 'chifa-manifest+jws');
  const manifest: BatchManifest = checkManifest(mp.payload, 'manifest.payload');
  if (manifest.pharmacyId !== caller) notYours(caller, manifest.pharmacyId, 'this batch', 'manifest.payload.pharmacyId');
  const mcert = trust(mp.header['x5t#S256'], manifest.closedAt, 'manifest');
  if (!verifySignature(mp.signingInput, mp.signature, mcert.publicKey))
    refuse(422, 'BAD_SIGNATURE', 'the manifest signature does not verify', 'manifest');
  if (manifest.pharmacyId !== mcert.pharmacyId)
    refuse(
      422,
      'CERT_PHARMACY_MISMATCH',
      `the manifest is for ${manifest.pharmacyId}, the certificate for ${mcert.pharmacyId}`,
      'manifest.payload.pharmacyId',
    );
  if (body.invoices.length !== manifest.count)
    refuse(422, 'MANIFEST_MISMATCH', `the manifest lists ${manifest.count} invoices, the body carries ${body.invoices.length}`, 'invoices');
  const pharmacyId = manifest.pharmacyId;

  const leave = locks.enter(pharmacyId, manifest.batchId);
  try {
    // The expensive, chain-independent checks first, outside the mutex.
    const checked = await checkInvoices(deps, body.invoices, certs);
    await locks.predecessors(pharmacyId, manifest.batchId);
    return await locks.run(pharmacyId, async () => {
      const tip = deps.store.tip(pharmacyId);
      // A request that lost the race with its own retry: answer as a replay.
      const again = deps.store.batchByManifest(manifestHash);
      if (again) return { status: 200, body: deps.store.ack(again, deps.now(), null), replayed: true };
      if (manifest.batchId !== tip.lastBatch + 1) {
        if (manifest.batchId <= tip.lastBatch)
          refuse(
            409,
            'BATCH_REPLAY',
            `batch ${manifest.batchId} was already received with another manifest`,
            'manifest.payload.batchId',
            tip.lastBatch + 1,
          );
        refuse(
          409,
          'BATCH_OUT_OF_ORDER',
          `expected batch ${tip.lastBatch + 1} next, got ${manifest.batchId}`,
          'manifest.payload.batchId',
          tip.lastBatch + 1,
        );
      }
      if (manifest.from !== tip.lastNumber + 1) {
        if (manifest.from <= tip.lastNumber)
          refuse(
            409,
            'ALREADY_RECEIVED',
            `invoices from ${manifest.from} were already received; expected ${tip.lastNumber + 1} next`,
            'manifest.payload.from',
            tip.lastNumber + 1,
          );
        refuse(
          409,
          'CHAIN_GAP',
          `expected invoice ${tip.lastNumber + 1} next, the batch starts at ${manifest.from}`,
          'manifest.payload.from',
          tip.lastNumber + 1,
        );
      }
      return chainAndStore(deps, checked, body.invoices, manifest, body.manifest, manifestHash, key!, tip, pharmacyId, trust, trusted);
    });
  } finally {
    leave();
  }
}

interface CheckedInvoices {
  kids: string[];
  docs: InvoiceDocument[];
  hashes: string[];
  fingerprints: string[];
}

/**
 * Everything that needs only the invoices themselves: strict parse, canonical form, schema,
 * arithmetic, signature, digests. Spread over the worker threads (see VerifyPool).
 */
async function checkInvoices(deps: BatchDeps, invoices: string[], certs: Map<string, Buffer>): Promise<CheckedInvoices> {
  // Key ids from a cheap look at each header (one card: one header text); the full header
  // check is part of the per-invoice checks.
  const headerKid = new Map<string, string>();
  const items = invoices.map((jws, i) => {
    const dot = jws.indexOf('.');
    const h = dot > 0 ? jws.slice(0, dot) : '';
    let kid = headerKid.get(h);
    if (kid === undefined) {
      try {
        const hdr = JSON.parse(b64uDecode(h, `invoices[${i}].header`).toString('utf8')) as Record<string, unknown>;
        kid = typeof hdr['x5t#S256'] === 'string' ? hdr['x5t#S256'] : '';
      } catch {
        kid = '';
      }
      headerKid.set(h, kid);
    }
    return { jws, kid };
  });
  const checks = deps.pool.check(items, certs);
  checks.catch(() => undefined);

  // Meanwhile, on this thread: with a `full` pool the workers validate the documents and here
  // they are only decoded (and used once the workers said they are valid); otherwise this
  // thread runs the same checks itself and the workers check the signatures.
  const n = invoices.length;
  const out: CheckedInvoices = { kids: items.map((it) => it.kid), docs: new Array(n), hashes: new Array(n), fingerprints: new Array(n) };
  if (deps.pool.mode === 'full') {
    const decoded: (InvoiceDocument | undefined)[] = invoices.map((jws) => {
      try {
        const a = jws.indexOf('.');
        return JSON.parse(Buffer.from(jws.slice(a + 1, jws.indexOf('.', a + 1)), 'base64url').toString('utf8')) as InvoiceDocument;
      } catch {
        return undefined; // the worker reports why
      }
    });
    const results = await checks;
    for (let i = 0; i < n; i++) {
      const r = results[i]!;
      if (!r.ok) refuse(422, r.code.toUpperCase().replace(/-/g, '_'), r.message, r.field ?? `invoices[${i}]`);
      else {
        out.docs[i] = decoded[i]!;
        out.hashes[i] = r.hash;
        out.fingerprints[i] = r.fingerprint;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = checkInvoiceJws(invoices[i]!, `invoices[${i}]`, null);
      if (c.kid !== items[i]!.kid) refuse(422, 'MALFORMED_JWS', 'inconsistent header', `invoices[${i}].header`);
      out.docs[i] = c.doc;
      out.hashes[i] = c.hash;
      out.fingerprints[i] = c.fingerprint;
    }
    const results = await checks;
    const bad = results.findIndex((r) => !r.ok);
    if (bad >= 0)
      refuse(
        422,
        'BAD_SIGNATURE',
        `invoices[${bad}]: the signature of invoice ${out.docs[bad]!.number} does not verify`,
        `invoices[${bad}]`,
      );
  }
  return out;
}

/** Under the pharmacy's mutex: chain, certificate windows, manifest, business checks, commit. */
function chainAndStore(
  deps: BatchDeps,
  checked: CheckedInvoices,
  invoices: string[],
  manifest: BatchManifest,
  manifestJws: string,
  manifestHash: string,
  key: string,
  tip: ChainTip,
  pharmacyId: string,
  trust: (kid: string, at: string, field: string) => TrustedCertificate,
  trusted: Map<string, TrustedCertificate>,
): BatchOutcome {
  const { docs, hashes, fingerprints } = checked;
  const n = invoices.length;
  // The chain, the signer's certificate at each issue time, the manifest.
  const now = deps.now();
  const maxIssued = now.getTime() + (deps.maxFutureSkewMs ?? 24 * 3600 * 1000);
  const rows: NewInvoiceRow[] = new Array(n);
  const totals = emptyTotals();
  let prev = tip.lastHash;
  for (let i = 0; i < n; i++) {
    const field = `invoices[${i}]`;
    const doc = docs[i]!;
    const kid = checked.kids[i]!;
    const cert = trusted.get(kid);
    const issued = Date.parse(doc.issuedAt);
    if (!cert || !(issued >= cert.validFrom && issued <= cert.validTo)) trust(kid, doc.issuedAt, field);
    if (issued > maxIssued)
      refuse(422, 'ISSUED_IN_FUTURE', `issued at ${doc.issuedAt}, later than the fund's clock allows`, `${field}.payload.issuedAt`);
    if (doc.pharmacyId !== pharmacyId)
      refuse(422, 'CERT_PHARMACY_MISMATCH', `invoice for ${doc.pharmacyId} in a batch of ${pharmacyId}`, `${field}.payload.pharmacyId`);
    if (trusted.get(kid)!.pharmacyId !== pharmacyId)
      refuse(422, 'CERT_PHARMACY_MISMATCH', `signed by a certificate of ${trusted.get(kid)!.pharmacyId}`, field);
    if (doc.number !== manifest.from + i)
      refuse(
        422,
        'MANIFEST_MISMATCH',
        `expected invoice ${manifest.from + i} at this position, found ${doc.number}`,
        `${field}.payload.number`,
      );
    if (doc.prev !== prev) {
      refuse(
        i === 0 ? 409 : 422,
        'CHAIN_BROKEN',
        `invoice ${doc.number} does not link to the hash of invoice ${doc.number - 1}`,
        `${field}.payload.prev`,
        i === 0 ? tip.lastNumber + 1 : undefined,
      );
    }
    const hash = hashes[i]!;
    if (manifest.invoices[i] !== hash)
      refuse(422, 'MANIFEST_MISMATCH', `the manifest's hash of invoice ${doc.number} differs`, `manifest.payload.invoices[${i}]`);
    prev = hash;
    addToTotals(totals, doc.fund, doc.kind === 'credit-note', doc.totals);
    rows[i] = {
      number: doc.number,
      hash,
      prev: doc.prev,
      kind: doc.kind,
      fund: doc.fund,
      date: doc.date,
      cardSerial: doc.beneficiary.cardSerial,
      total: doc.totals.total,
      fundAmount: doc.totals.fund,
      refNumber: doc.references?.number ?? null,
      fingerprint: fingerprints[i]!,
      result: { number: doc.number, hash, status: 'accepted' },
      jws: invoices[i]!,
    };
  }
  if (canonicalize(totals) !== canonicalize(manifest.totals))
    refuse(422, 'MANIFEST_MISMATCH', 'the manifest totals are not the sums of its invoices', 'manifest.payload.totals');

  // Business checks, in order, seeing the earlier invoices of this batch as stored.
  const inBatch = new Map<number, { row: NewInvoiceRow; doc: InvoiceDocument }>();
  const batchFingerprints = new Set<string>();
  const batchCredits = new Map<number, { total: number; fund: number }>();
  const batchCorrections = new Map<number, number>();
  const ctx: CheckContext = {
    rules: deps.rules,
    isBlacklisted: (serial, date) => deps.downlink.isBlacklisted(serial, date),
    lookup: (n) => {
      const b = inBatch.get(n);
      if (b) return { hash: b.row.hash, kind: b.row.kind, status: b.row.result.status, total: b.row.total, fund: b.row.fundAmount };
      const s = deps.store.invoice(pharmacyId, n);
      return s ? { hash: s.hash, kind: s.kind, status: s.status, total: s.total, fund: s.fund_amount } : undefined;
    },
    credited: (n) => {
      const s = deps.store.credited(pharmacyId, n);
      const b = batchCredits.get(n);
      return { total: s.total + (b?.total ?? 0), fund: s.fund + (b?.fund ?? 0) };
    },
    correctedBy: (n) => batchCorrections.get(n) ?? deps.store.correctedBy(pharmacyId, n),
    isDuplicate: (fp) => batchFingerprints.has(fp) || deps.store.hasAcceptedFingerprint(fp),
  };
  let paid = 0;
  const results: InvoiceResult[] = [];
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    const row = rows[i]!;
    const outcome = deps.forcedOutcome?.(doc) ?? assessInvoice(doc, row.fingerprint, ctx);
    row.result = { number: doc.number, hash: row.hash, ...outcome };
    results.push(row.result);
    inBatch.set(doc.number, { row, doc });
    if (outcome.status === 'accepted') {
      batchFingerprints.add(row.fingerprint);
      if (doc.kind === 'credit-note') {
        const n = doc.references!.number;
        const c = batchCredits.get(n) ?? { total: 0, fund: 0 };
        batchCredits.set(n, { total: c.total + doc.totals.total, fund: c.fund + doc.totals.fund });
        paid -= doc.totals.fund;
      } else {
        if (doc.kind === 'corrected-invoice') batchCorrections.set(doc.references!.number, doc.number);
        paid += doc.totals.fund;
      }
    }
  }

  const receivedAt = now.toISOString();
  const stored = deps.store.commit(
    {
      pharmacyId,
      batchId: manifest.batchId,
      idempotencyKey: key,
      manifestHash,
      manifestJws,
      from: manifest.from,
      to: manifest.to,
      receivedAt,
      paid,
      certificates: [...trusted.values()].map((t) => ({ keyId: t.keyId, der: t.der })),
      invoices: rows,
    },
    tip,
  );
  if (!stored)
    refuse(
      409,
      'CONFLICT',
      'the chain moved while this batch was checked; retry',
      'manifest.payload.from',
      deps.store.tip(pharmacyId).lastNumber + 1,
    );
  const accepted = results.filter((r) => r.status === 'accepted').length;
  const ack: BatchAck = {
    pharmacyId,
    batchId: manifest.batchId,
    idempotencyKey: key,
    receivedAt,
    complete: true,
    state: 'acknowledged',
    count: results.length,
    accepted,
    rejected: results.length - accepted,
    paid,
    results,
  };
  return { status: 200, body: ack };
}
