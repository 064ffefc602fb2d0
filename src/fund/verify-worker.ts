import { X509Certificate, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { checkInvoiceJws, type WorkerResult } from './validate';

/**
 * Worker thread of the fund's VerifyPool (compiled form only: `dist/src/fund/verify-worker.js`).
 * Runs every self-contained check of an invoice JWS, signature included; one KeyObject is
 * cached per certificate.
 */

interface Request {
  id: number;
  offset: number;
  jws: string[];
  kids: string[];
  certs: Record<string, Uint8Array>;
}

const keys = new Map<string, KeyObject>();

/**
 * The key of certificate `kid` from this request's certificates. Only keys are cached, never
 * their absence: a request that names a certificate it does not carry must not make the next
 * request, which carries it, fail.
 */
function keyFor(kid: string, certs: Record<string, Uint8Array>): KeyObject | null {
  let key = keys.get(kid);
  if (key === undefined) {
    const der = certs[kid];
    if (der === undefined) return null;
    key = new X509Certificate(Buffer.from(der)).publicKey;
    if (keys.size > 1000) keys.clear();
    keys.set(kid, key);
  }
  return key;
}

parentPort!.on('message', (m: Request) => {
  const results: WorkerResult[] = new Array(m.jws.length);
  for (let i = 0; i < m.jws.length; i++) {
    const field = `invoices[${m.offset + i}]`;
    try {
      const key = keyFor(m.kids[i]!, m.certs);
      if (key === null) {
        results[i] = { ok: false, code: 'unknown-key', message: `${field}: signed with a certificate the request does not carry`, field };
        continue;
      }
      const r = checkInvoiceJws(m.jws[i]!, field, key);
      results[i] =
        r.kid === m.kids[i]
          ? { ok: true, hash: r.hash, fingerprint: r.fingerprint }
          : { ok: false, code: 'malformed-jws', message: `${field}: inconsistent header`, field };
    } catch (err) {
      const e = err as { code?: unknown; message?: string; field?: unknown };
      results[i] = {
        ok: false,
        code: typeof e.code === 'string' ? e.code : 'invalid-invoice',
        message: e.message ?? String(err),
        ...(typeof e.field === 'string' ? { field: e.field } : {}),
      };
    }
  }
  parentPort!.postMessage({ id: m.id, results });
});
