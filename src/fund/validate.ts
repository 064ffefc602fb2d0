import type { KeyObject } from 'node:crypto';
import { JwsError } from '../sync/errors';
import { checkDocument, dispensingFingerprint, type InvoiceDocument } from '../sync/invoice';
import { jwsHash, parseCompact, verifySignature } from '../sync/jws';

/**
 * The per-invoice checks that need nothing but the JWS and the signer's key: strict compact-JWS
 * parse, canonical payload, invoice schema and arithmetic, signature (when `key` is given), and
 * the two digests the fund keeps (chain hash, dispensing fingerprint). The fund runs this on its
 * worker threads (or on the main thread when it has none); chain, trust and business checks
 * that need the store stay on the main thread.
 */
export interface CheckedInvoice {
  doc: InvoiceDocument;
  kid: string;
  hash: string;
  fingerprint: string;
}

export function checkInvoiceJws(jws: string, field: string, key: KeyObject | null): CheckedInvoice {
  const p = parseCompact(jws, field, 'chifa-invoice+jws');
  const doc = checkDocument(p.payload, `${field}.payload`);
  if (key !== null && !verifySignature(p.signingInput, p.signature, key)) {
    throw new JwsError('bad-signature', `${field}: the signature of invoice ${doc.number} does not verify`, field);
  }
  return { doc, kid: p.header['x5t#S256'], hash: jwsHash(jws), fingerprint: dispensingFingerprint(doc) };
}

/** What a worker sends back per invoice. */
export type WorkerResult = { ok: true; hash: string; fingerprint: string } | { ok: false; code: string; message: string; field?: string };
