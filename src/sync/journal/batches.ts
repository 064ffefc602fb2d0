import type Database from 'better-sqlite3';
import { JournalError } from '../errors';
import { jwsHash, parseProtectedHeader, signCompact } from '../jws';
import { addToTotals, emptyTotals, type BatchManifest, type CloseReason } from '../manifest';
import type { BatchInfo, BatchRow, CurrentBatchRow } from './batch-row';
import type { JournalQueries } from './queries';
import type { Signer } from '../signer';
import type { JournalSigning } from './signing';

/**
 * The batch life cycle: every invoice joins the open batch (a contiguous number range); the batch
 * closes when it reaches `maxCount`, when it is older than `maxAgeMs` (`closeDueBatches`) or on
 * demand (`closeOpenBatch`). Closing seals the range in one transaction and then signs the
 * manifest; a crash in between leaves a sealed batch that the next signer-holding call signs.
 *
 * A manifest the fund refused for its certificate (recorded by the outbox; the fund stored
 * nothing) is signed again, over the same invoices, by the next signer-holding call whose
 * certificate passes the local check and is not the refused one. The invoices are untouched: they
 * are signed and immutable, and the chain does not include manifests. The new manifest joins the
 * batch's history (schema.ts) and, being the newest, is the one uploaded.
 */

export interface BatchPolicy {
  /** Close the open batch when it holds this many invoices. */
  maxCount: number;
  /** Close the open batch when its first invoice is this old (checked by closeDueBatches). */
  maxAgeMs: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = { maxCount: 500, maxAgeMs: 24 * 3600 * 1000 };

/** The idempotency key of a batch: base64url SHA-256 of its manifest JWS. */
export function idempotencyKeyFor(manifestJws: string): string {
  return Buffer.from(jwsHash(manifestJws), 'hex').toString('base64url');
}

/** @internal (the Journal class is the API) */
export interface BatchesOptions {
  batch?: Partial<BatchPolicy> | undefined;
  now: () => Date;
  /** Resolves once no append is in flight: a batch is sealed only between appends. */
  whenIdle: () => Promise<void>;
}

/** @internal (the Journal class is the API) */
export class Batches {
  readonly policy: BatchPolicy;
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly whenIdle: () => Promise<void>;
  private readonly st;

  constructor(
    private readonly queries: JournalQueries,
    private readonly signing: JournalSigning,
    options: BatchesOptions,
  ) {
    this.policy = { ...DEFAULT_BATCH_POLICY, ...options.batch };
    if (!Number.isInteger(this.policy.maxCount) || this.policy.maxCount < 1 || this.policy.maxCount > 5000) {
      throw new JournalError('bad-batch-policy', 'batch.maxCount must be an integer from 1 to 5000', 'batch.maxCount');
    }
    this.now = options.now;
    this.whenIdle = options.whenIdle;
    const db = (this.db = queries.db);
    this.st = {
      maxBatch: db.prepare('SELECT COALESCE(MAX(id), 0) FROM batches').pluck(),
      newBatch: db.prepare("INSERT INTO batches (id, state, opened_at, first_number, last_number, count) VALUES (?, 'open', ?, ?, ?, 1)"),
      growBatch: db.prepare('UPDATE batches SET last_number = ?, count = count + 1 WHERE id = ?'),
      seal: db.prepare("UPDATE batches SET state = 'closed', closed_at = ?, close_reason = ? WHERE id = ? AND state = 'open'"),
      unsigned: db.prepare("SELECT * FROM batches WHERE state = 'closed' AND manifest_jws IS NULL ORDER BY id"),
      setManifest: db.prepare('UPDATE batches SET manifest_jws = ?, idempotency_key = ? WHERE id = ? AND manifest_jws IS NULL'),
      resign: db.prepare(
        'INSERT INTO resigned_manifests (batch_id, seq, manifest_jws, idempotency_key, replaces, signed_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
  }

  /**
   * Inside the append's write transaction: puts invoice `number` in the open batch (opening one if
   * needed), and seals the batch when it is full (its id then goes to `sealed`).
   */
  admit(number: number, at: string, sealed: number[]): number {
    const open = this.queries.openBatchRow();
    let id: number;
    let count: number;
    if (!open) {
      id = (this.st.maxBatch.get() as number) + 1;
      this.st.newBatch.run(id, at, number, number);
      count = 1;
    } else {
      id = open.id;
      this.st.growBatch.run(number, id);
      count = open.count + 1;
    }
    if (count >= this.policy.maxCount) {
      this.st.seal.run(at, 'count', id);
      sealed.push(id);
    }
    return id;
  }

  /** Closes the open batch now (if it holds anything) and signs its manifest. */
  async closeOpenBatch(reason: CloseReason = 'on-demand'): Promise<BatchInfo | null> {
    const signer = this.signing.require('closing a batch');
    await this.whenIdle();
    const now = this.now();
    // Refused before sealing: a batch is sealed only when it can be signed.
    this.signing.check(signer, now);
    const at = now.toISOString();
    const id = this.db
      .transaction(() => {
        const open = this.queries.openBatchRow();
        if (!open) return null;
        this.st.seal.run(at, reason, open.id);
        return open.id;
      })
      .immediate();
    await this.signPendingManifests();
    return id === null ? null : this.queries.batch(id);
  }

  /** Closes the open batch if it is older than the policy's maxAgeMs. */
  async closeDueBatches(): Promise<BatchInfo | null> {
    const open = this.queries.openBatchRow();
    if (open && this.now().getTime() - Date.parse(open.opened_at) >= this.policy.maxAgeMs) return this.closeOpenBatch('age');
    if (this.signing.signer) await this.signPendingManifests();
    return null;
  }

  /**
   * Signs the manifests of sealed batches (after a crash between sealing and signing), and new
   * manifests for batches whose manifest the fund refused for its certificate. Returns how many.
   */
  async signPendingManifests(): Promise<number> {
    const signer = this.signing.require('closing a batch');
    let pharmacyId = this.signing.pharmacyOf(signer);
    let n = 0;
    for (const b of this.st.unsigned.all() as BatchRow[]) {
      // The fund judges a manifest's certificate on its closedAt; we also sign it now.
      pharmacyId = this.signing.check(signer, this.now(), new Date(b.closed_at!));
      const manifest = this.buildManifest(b, pharmacyId);
      const jws = await signCompact(manifest, 'chifa-manifest+jws', signer);
      this.db
        .transaction(() => {
          this.signing.keepCertificate(signer, pharmacyId, this.now().toISOString());
          this.st.setManifest.run(jws, idempotencyKeyFor(jws), b.id);
        })
        .immediate();
      n++;
    }
    for (const b of this.queries.batchRows("WHERE b.state = 'closed' AND r.code IS NOT NULL ORDER BY b.id")) {
      if (await this.resign(b, signer)) n++;
    }
    return n;
  }

  /** A new manifest for refused batch `b`, unless `signer` holds the refused certificate. */
  private async resign(b: CurrentBatchRow, signer: Signer): Promise<boolean> {
    const refused = b.manifest_jws!;
    // The same certificate would be refused again.
    if (parseProtectedHeader(refused.slice(0, refused.indexOf('.')))['x5t#S256'] === signer.keyId) return false;
    const now = this.now();
    const pharmacyId = this.signing.check(signer, now, new Date(b.closed_at!));
    const jws = await signCompact(this.buildManifest(b, pharmacyId), 'chifa-manifest+jws', signer);
    this.db
      .transaction(() => {
        this.signing.keepCertificate(signer, pharmacyId, now.toISOString());
        this.st.resign.run(b.id, b.manifests + 1, jws, idempotencyKeyFor(jws), b.idempotency_key, now.toISOString());
      })
      .immediate();
    return true;
  }

  private buildManifest(b: BatchRow, pharmacyId: string): BatchManifest {
    const rows = this.queries.rangeRows(b.first_number, b.last_number);
    if (rows.length !== b.count)
      throw new JournalError('journal-corrupt', `batch ${b.id}: expected ${b.count} invoices, found ${rows.length}`);
    const totals = emptyTotals();
    for (const r of rows)
      addToTotals(totals, r.fund, r.kind === 'credit-note', { total: r.total, fund: r.fund_amount, patient: r.patient_amount });
    return {
      v: 1,
      kind: 'batch-manifest',
      pharmacyId,
      batchId: b.id,
      from: b.first_number,
      to: b.last_number,
      count: b.count,
      totals,
      invoices: rows.map((r) => r.hash),
      closedAt: b.closed_at!,
      closeReason: b.close_reason as CloseReason,
    };
  }
}
