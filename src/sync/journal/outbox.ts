import type Database from 'better-sqlite3';
import { FundError, JournalError } from '../errors';
import { parseProtectedHeader } from '../jws';
import { errorBodySchema, type BatchAck, type InvoiceResult, type UploadBody } from '../protocol';
import { toBatchInfo, type BatchInfo } from './batch-row';
import type { JournalQueries } from './queries';

/** A signed answer of the fund as received: its compact JWS and the fund's certificate (DER). */
export interface SignedProof {
  jws: string;
  certificate: Buffer;
}

/**
 * The fund's codes for a certificate it does not accept (sync/trust.ts codes, upper-cased, and
 * its pharmacy check): when they name the manifest, a manifest signed with another certificate
 * can succeed where this one cannot.
 */
const CERTIFICATE_REFUSALS = new Set([
  'CERT_UNTRUSTED',
  'CERT_EXPIRED',
  'BAD_CERTIFICATE',
  'BAD_CERTIFICATE_SUBJECT',
  'CERT_PHARMACY_MISMATCH',
]);

/** The code of `error` if it is the fund refusing a manifest for its certificate. */
function manifestCertificateRefusal(error: string | Error): string | null {
  if (!(error instanceof FundError) || error.status !== 422 || !CERTIFICATE_REFUSALS.has(error.code)) return null;
  const body = errorBodySchema.safeParse(error.body);
  const field = body.success ? body.data.error.field : undefined;
  return field === 'manifest' || field?.startsWith('manifest.') ? error.code : null;
}

/**
 * The upload state: which signed batches the fund has still to acknowledge, what to send for
 * each, and what the fund answered. Nothing moves forward before the fund's answer is recorded,
 * so a crash at any point leaves a batch the next upload sends again (the fund answers a repeat
 * from its idempotency record). The fund's signed answers are kept (`fund_acks`) with what was
 * recorded from them, as the pharmacy's proof of what the fund said.
 *
 * @internal (the Journal class is the API)
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly insertAck: Database.Statement;
  private readonly ackCount: Database.Statement;
  private readonly insertProof: Database.Statement;
  private readonly insertRefusal: Database.Statement;

  constructor(
    private readonly queries: JournalQueries,
    private readonly now: () => Date,
  ) {
    const db = (this.db = queries.db);
    this.insertAck = db.prepare(
      'INSERT OR IGNORE INTO acks (invoice_number, batch_id, status, code, reason, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.ackCount = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(status = 'accepted'), 0) AS accepted FROM acks WHERE batch_id = ?");
    this.insertProof = db.prepare('INSERT INTO fund_acks (batch_id, received_at, jws, certificate) VALUES (?, ?, ?, ?)');
    this.insertRefusal = db.prepare(
      'INSERT INTO manifest_refusals (idempotency_key, batch_id, code, reason, refused_at) VALUES (?, ?, ?, ?, ?)',
    );
  }

  /** Signed batches the fund has not fully acknowledged, in order: the upload queue. */
  uploadQueue(): BatchInfo[] {
    return this.queries.batchRows("WHERE b.state IN ('closed', 'sent') AND b.manifest_jws IS NOT NULL ORDER BY b.id").map(toBatchInfo);
  }

  /** Acknowledged batches whose settlement is still to be learnt. */
  awaitingSettlement(): BatchInfo[] {
    return this.queries.batchRows("WHERE b.state = 'acknowledged' ORDER BY b.id").map(toBatchInfo);
  }

  /** The request body and idempotency key for uploading batch `id`. */
  uploadRequest(id: number): { idempotencyKey: string; body: UploadBody } {
    const b = this.queries.batchRow(id);
    if (!b || b.manifest_jws === null || b.idempotency_key === null)
      throw new JournalError('batch-not-ready', `batch ${id} is not closed and signed`);
    const invoices = this.queries.rangeRows(b.first_number, b.last_number).map((r) => r.jws);
    // Key ids from the protected headers; invoices signed by one card share one header text.
    const headers = new Set<string>([b.manifest_jws.slice(0, b.manifest_jws.indexOf('.'))]);
    for (const j of invoices) headers.add(j.slice(0, j.indexOf('.')));
    const kids = new Set<string>();
    for (const h of headers) kids.add(parseProtectedHeader(h)['x5t#S256']);
    const certificates = [...kids].map((k) => {
      const der = this.queries.certificate(k);
      if (!der) throw new JournalError('journal-corrupt', `no certificate with thumbprint ${k} in the journal`);
      return der.toString('base64');
    });
    return { idempotencyKey: b.idempotency_key, body: { certificates, manifest: b.manifest_jws, invoices } };
  }

  /**
   * Records an attempt that failed (for the backlog display); does not change the state. When the
   * fund refused the batch's manifest for its certificate (a FundError naming the manifest), the
   * refusal is recorded too: it lets a signer the fund accepts sign the batch a new manifest.
   */
  recordAttemptFailure(id: number, error: string | Error): void {
    const message = (typeof error === 'string' ? error : error.message).slice(0, 500);
    const refusal = manifestCertificateRefusal(error);
    this.db
      .transaction(() => {
        this.db.prepare('UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE id = ?').run(message, id);
        const b = refusal === null ? undefined : this.queries.batchRow(id);
        if (b && b.state === 'closed' && b.idempotency_key !== null && b.refusal_code === null)
          this.insertRefusal.run(b.idempotency_key, id, refusal, message, this.now().toISOString());
      })
      .immediate();
  }

  /**
   * Records the fund's answer for batch `id`: marks it sent, stores each invoice's result, and
   * moves it to acknowledged once every invoice has one (and to settled if the fund says so).
   * Idempotent: a result already stored is kept. `signed`, the fund's signed answer it was read
   * from (already verified by the caller), is kept in `fund_acks` in the same transaction.
   */
  recordAck(id: number, ack: BatchAck, signed?: SignedProof): BatchInfo {
    const at = this.now().toISOString();
    this.db
      .transaction(() => {
        const b = this.queries.batchRow(id);
        if (!b) throw new JournalError('unknown-batch', `no batch ${id}`);
        if (ack.batchId !== id) throw new JournalError('ack-mismatch', `the fund acknowledged batch ${ack.batchId}, not ${id}`);
        if (signed) this.insertProof.run(id, at, signed.jws, signed.certificate);
        const byNumber = new Map<number, { hash: string }>();
        for (const r of this.queries.rangeRows(b.first_number, b.last_number)) byNumber.set(r.number, r);
        for (const r of ack.results as InvoiceResult[]) {
          const inv = byNumber.get(r.number);
          if (!inv || inv.hash !== r.hash)
            throw new JournalError('ack-mismatch', `the fund acknowledged invoice ${r.number} with a hash that is not ours`);
          this.insertAck.run(r.number, id, r.status, r.code ?? null, r.reason ?? null, at);
        }
        if (b.state === 'closed')
          this.db.prepare("UPDATE batches SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?").run(at, id);
        const c = this.ackCount.get(id) as { n: number; accepted: number };
        if (c.n === b.count && (b.state === 'closed' || b.state === 'sent')) {
          this.db
            .prepare("UPDATE batches SET state = 'acknowledged', acknowledged_at = ?, accepted = ?, rejected = ?, paid = ? WHERE id = ?")
            .run(at, c.accepted, c.n - c.accepted, ack.paid, id);
        }
        if (ack.state === 'settled' && c.n === b.count) {
          this.db
            .prepare("UPDATE batches SET state = 'settled', settled_at = ?, paid = ? WHERE id = ? AND state <> 'settled'")
            .run(ack.settledAt ?? at, ack.paid, id);
        }
      })
      .immediate();
    return this.queries.batch(id)!;
  }

  /** Records that the fund settled (paid) acknowledged batch `id`; `signed` as in recordAck. */
  recordSettlement(id: number, paid: number, settledAt: string, signed?: SignedProof): BatchInfo | null {
    this.db
      .transaction(() => {
        const r = this.db
          .prepare("UPDATE batches SET state = 'settled', settled_at = ?, paid = ? WHERE id = ? AND state = 'acknowledged'")
          .run(settledAt, paid, id);
        if (signed && r.changes > 0) this.insertProof.run(id, this.now().toISOString(), signed.jws, signed.certificate);
      })
      .immediate();
    return this.queries.batch(id);
  }
}
