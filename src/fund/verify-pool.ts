import { X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { verifySignature } from '../sync/jws';
import type { WorkerResult } from './validate';

/**
 * Spreads the fund's per-invoice work over worker threads (the signature check is the fund's hot
 * path, `npm run bench -- sync`; use every core). Each worker caches one KeyObject per certificate.
 *
 * Two modes, chosen by what is on disk:
 * - `full` (the compiled `dist/`): workers run `verify-worker.js`, i.e. every self-contained check
 *   of an invoice (strict parse, canonical form, schema, arithmetic, signature, digests), and the
 *   main thread keeps only what needs the store (chain, trust window, duplicates, split);
 * - `signature` (the TypeScript sources under ts-jest, where a worker cannot load `.ts`): workers
 *   evaluate a small inline script that checks signatures only, and the main thread runs the
 *   other checks itself — the same `checkInvoiceJws` function.
 * With 0 threads everything runs on the calling thread.
 */

const INLINE_SIGNATURE_WORKER = `
'use strict';
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = new Map();
const verify = (m, i) => {
  const kid = m.kids[i];
  let key = keys.get(kid);
  if (key === undefined) {
    const der = m.certs[kid];
    if (der === undefined) return false; // not cached: the next request may carry it
    key = new crypto.X509Certificate(Buffer.from(der)).publicKey;
    if (keys.size > 1000) keys.clear();
    keys.set(kid, key);
  }
  const jws = m.jws[i];
  const dot = jws.lastIndexOf('.');
  const sig = Buffer.from(jws.slice(dot + 1), 'base64url');
  return sig.length === 64 &&
    crypto.verify('sha256', Buffer.from(jws.slice(0, dot), 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, sig);
};
parentPort.on('message', (m) => {
  const results = new Array(m.jws.length);
  for (let i = 0; i < m.jws.length; i++) {
    let ok = false;
    try {
      ok = verify(m, i);
    } catch {
      ok = false;
    }
    results[i] = ok ? { ok: true, hash: '', fingerprint: '' } : { ok: false, code: 'bad-signature', message: 'the signature does not verify' };
  }
  parentPort.postMessage({ id: m.id, results });
});
`;

export interface VerifyItem {
  jws: string;
  /** Certificate thumbprint (x5t#S256) read from the JWS header. */
  kid: string;
}

export type PoolMode = 'full' | 'signature' | 'main';

interface Job {
  resolve: (out: WorkerResult[]) => void;
  reject: (e: unknown) => void;
}

export class VerifyPool {
  readonly mode: PoolMode;
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private rr = 0;
  private readonly localKeys = new Map<string, KeyObject>();
  /** The compiled worker (`full` mode), or null for the inline signature worker. */
  private readonly file: string | null;
  private closing = false;

  /** `threads`: worker threads (0: none). Default: one per available core. */
  constructor(threads: number = availableParallelism()) {
    const file = path.join(__dirname, 'verify-worker.js');
    const full = __filename.endsWith('.js') && fs.existsSync(file);
    this.mode = threads === 0 ? 'main' : full ? 'full' : 'signature';
    this.file = full ? file : null;
    for (let i = 0; i < threads; i++) this.spawn(i);
  }

  /**
   * Starts worker `i`. A worker that fails (an exception it did not catch, out of memory) fails
   * the jobs in flight and is replaced when it exits: a dead worker would otherwise leave every
   * later batch sent to it waiting for ever.
   */
  private spawn(i: number): void {
    const w = this.file !== null ? new Worker(this.file) : new Worker(INLINE_SIGNATURE_WORKER, { eval: true });
    w.on('message', (m: { id: number; results: WorkerResult[] }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      this.jobs.delete(m.id);
      job.resolve(m.results);
    });
    // Replaced at once, so that no job is posted to it while it dies.
    const replace = (): void => {
      if (!this.closing && this.workers[i] === w) this.spawn(i);
    };
    w.on('error', (err) => {
      for (const [, job] of this.jobs) job.reject(err);
      this.jobs.clear();
      replace();
    });
    w.on('exit', replace);
    w.unref();
    this.workers[i] = w;
  }

  get threads(): number {
    return this.workers.length;
  }

  /**
   * Checks every item: in `full` mode everything `checkInvoiceJws` checks, otherwise the
   * signature only (`hash`/`fingerprint` then come back empty). One result per item, in order.
   * `certs` maps kid → DER.
   */
  async check(items: readonly VerifyItem[], certs: ReadonlyMap<string, Buffer>): Promise<WorkerResult[]> {
    if (this.workers.length === 0) return items.map((it) => this.verifyHere(it, certs));
    const certObj: Record<string, Uint8Array> = {};
    for (const [k, v] of certs) certObj[k] = new Uint8Array(v);
    // Chunks small enough to balance the cores, large enough that messaging stays cheap.
    const chunk = Math.max(8, Math.ceil(items.length / (this.workers.length * 4)));
    const parts: Promise<WorkerResult[]>[] = [];
    for (let start = 0; start < items.length; start += chunk) {
      const slice = items.slice(start, start + chunk);
      const id = this.nextId++;
      const w = this.workers[this.rr++ % this.workers.length]!;
      parts.push(
        new Promise<WorkerResult[]>((resolve, reject) => {
          this.jobs.set(id, { resolve, reject });
          w.postMessage({ id, offset: start, jws: slice.map((s) => s.jws), kids: slice.map((s) => s.kid), certs: certObj });
        }),
      );
    }
    return (await Promise.all(parts)).flat();
  }

  private verifyHere(it: VerifyItem, certs: ReadonlyMap<string, Buffer>): WorkerResult {
    let key = this.localKeys.get(it.kid);
    if (key === undefined) {
      const der = certs.get(it.kid);
      if (der === undefined) return { ok: false, code: 'bad-signature', message: 'unknown key' };
      try {
        key = new X509Certificate(der).publicKey;
      } catch {
        return { ok: false, code: 'bad-certificate', message: 'the certificate it names is not X.509' };
      }
      if (this.localKeys.size > 1000) this.localKeys.clear();
      this.localKeys.set(it.kid, key);
    }
    const dot = it.jws.lastIndexOf('.');
    const sig = Buffer.from(it.jws.slice(dot + 1), 'base64url');
    const ok = sig.length === 64 && verifySignature(it.jws.slice(0, dot), sig, key);
    return ok ? { ok: true, hash: '', fingerprint: '' } : { ok: false, code: 'bad-signature', message: 'the signature does not verify' };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
