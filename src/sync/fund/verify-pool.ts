import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifySignature } from '../jws';
import { X509Certificate, type KeyObject } from 'node:crypto';

/**
 * Verifies ES256 compact JWS signatures on worker threads (DESIGN §7: the fund's hot path is the
 * signature check; spread it over the cores). Each worker caches one KeyObject per certificate.
 *
 * The worker's code is a small self-contained script evaluated from a string, so the same pool
 * runs from the compiled `dist/` and from the TypeScript sources under ts-jest. The caller has
 * already parsed each JWS strictly (three parts, canonical base64url, 64-byte signature) and
 * checked the certificate; the worker only checks the signature.
 */

const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = new Map();
parentPort.on('message', (m) => {
  const out = new Uint8Array(m.jws.length);
  for (let i = 0; i < m.jws.length; i++) {
    const kid = m.kids[i];
    let key = keys.get(kid);
    if (key === undefined) {
      const der = m.certs[kid];
      key = der === undefined ? null : new crypto.X509Certificate(Buffer.from(der)).publicKey;
      if (keys.size > 1000) keys.clear();
      keys.set(kid, key);
    }
    const jws = m.jws[i];
    const dot = jws.lastIndexOf('.');
    const sig = Buffer.from(jws.slice(dot + 1), 'base64url');
    out[i] = key !== null && sig.length === 64 &&
      crypto.verify('sha256', Buffer.from(jws.slice(0, dot), 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, sig) ? 1 : 0;
  }
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
});
`;

interface Job {
  resolve: (out: Uint8Array) => void;
  reject: (e: unknown) => void;
}

export interface VerifyItem {
  jws: string;
  /** Certificate thumbprint (x5t#S256). */
  kid: string;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private rr = 0;
  private readonly localKeys = new Map<string, KeyObject>();

  /** `threads` = 0 verifies on the calling thread. Default: one per available core. */
  constructor(threads: number = availableParallelism()) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { id: number; out: Uint8Array }) => {
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        job.resolve(m.out);
      });
      w.on('error', (err) => {
        for (const [, job] of this.jobs) job.reject(err);
        this.jobs.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /**
   * Verifies every item; resolves to one boolean per item (true: the signature verifies with the
   * certificate named by `kid`). `certs` maps kid → DER.
   */
  async verify(items: readonly VerifyItem[], certs: ReadonlyMap<string, Buffer>): Promise<boolean[]> {
    if (this.workers.length === 0 || items.length < 8) return items.map((it) => this.verifyHere(it, certs));
    const certObj: Record<string, Uint8Array> = {};
    for (const [k, v] of certs) certObj[k] = new Uint8Array(v);
    // Chunks small enough to balance two cores, large enough that messaging stays cheap.
    const chunk = Math.max(16, Math.ceil(items.length / (this.workers.length * 4)));
    const parts: Promise<Uint8Array>[] = [];
    for (let start = 0; start < items.length; start += chunk) {
      const slice = items.slice(start, start + chunk);
      const id = this.nextId++;
      const w = this.workers[this.rr++ % this.workers.length]!;
      parts.push(
        new Promise<Uint8Array>((resolve, reject) => {
          this.jobs.set(id, { resolve, reject });
          w.postMessage({ id, jws: slice.map((s) => s.jws), kids: slice.map((s) => s.kid), certs: certObj });
        }),
      );
    }
    const outs = await Promise.all(parts);
    const res: boolean[] = [];
    for (const o of outs) for (const b of o) res.push(b === 1);
    return res;
  }

  private verifyHere(it: VerifyItem, certs: ReadonlyMap<string, Buffer>): boolean {
    let key = this.localKeys.get(it.kid);
    if (key === undefined) {
      const der = certs.get(it.kid);
      if (der === undefined) return false;
      key = new X509Certificate(der).publicKey;
      this.localKeys.set(it.kid, key);
    }
    const dot = it.jws.lastIndexOf('.');
    const sig = Buffer.from(it.jws.slice(dot + 1), 'base64url');
    return sig.length === 64 && verifySignature(it.jws.slice(0, dot), sig, key);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
