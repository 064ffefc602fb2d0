import * as path from 'node:path';
import { FundServer, type FundServerOptions } from '../../src/fund/server';
import { Journal } from '../../src/sync/journal/journal';
import type { UploadBody } from '../../src/sync/protocol';
import { RequestAuthenticator } from '../../src/sync/request-auth';
import type { Signer } from '../../src/sync/signer';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { onCleanup, sampleDraft, signer, tmpDir } from '../sync/helpers';

/** Requests to a real fund over raw node:http, each with a valid token for exactly the bytes sent. */

export const P1 = 'DZ16-PH-00001';
export const P2 = 'DZ31-PH-00002';

export async function startFund(options: Partial<FundServerOptions> = {}): Promise<{ dir: string; server: FundServer; url: string }> {
  const dir = tmpDir('chifa-fund-');
  const server = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, ...options }));
  return { dir, server, url: await server.listen() };
}

export interface Sent {
  body?: Buffer | string;
  headers?: Record<string, string | string[]>;
}

/** `method target` signed by `s` (the token covers the exact body bytes); the answer, or what happened instead. */
export async function send(url: string, s: Signer, method: string, target: string, sent: Sent = {}): Promise<RawResponse> {
  const body = sent.body === undefined ? undefined : Buffer.from(sent.body);
  const auth = await new RequestAuthenticator(s).headers(method, target, body);
  const r = await rawRequest(url, {
    method,
    path: target,
    headers: { ...sent.headers, ...auth },
    ...(body ? { body } : {}),
    timeoutMs: 10_000,
  });
  if (typeof r === 'string') throw new Error(`${method} ${target}: ${r}`);
  return r;
}

/** A batch upload by `s` with Content-Type: application/json (unless `headers` says otherwise). */
export function upload(url: string, s: Signer, body: Buffer | string, key: string | undefined, headers: Record<string, string> = {}) {
  return send(url, s, 'POST', '/v1/batches', {
    body,
    headers: { 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}), ...headers },
  });
}

/** The `error` member of a refusal. */
export function errorOf(r: RawResponse): { code: string; message: string; field?: string; expected?: number } {
  return (JSON.parse(r.text) as { error: { code: string; message: string; field?: string; expected?: number } }).error;
}

/** Pharmacy `n`'s journal (in `dir`) with `invoices` invoices closed in batches of `perBatch`, and its upload requests. */
export async function journalWithBatches(
  dir: string,
  n: 1 | 2,
  invoices: number,
  perBatch: number,
): Promise<{ journal: Journal; uploads: { key: string; body: UploadBody }[] }> {
  const journal = onCleanup(Journal.open(path.join(dir, `journal-${n}.sqlite`), { signer: signer(n), batch: { maxCount: perBatch } }));
  await journal.appendMany(Array.from({ length: invoices }, (_, i) => sampleDraft(n * 1000 + i)));
  await journal.whenIdle();
  await journal.closeOpenBatch('on-demand');
  const uploads = journal.uploadQueue().map((b) => {
    const r = journal.uploadRequest(b.id);
    return { key: r.idempotencyKey, body: r.body };
  });
  return { journal, uploads };
}
