import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { VerifyPool } from '../../src/fund/verify-pool';
import { b64uEncode } from '../../src/sync/base64url';
import { canonicalize } from '../../src/sync/canonical';
import { jwsHash, parseCompact, signCompact } from '../../src/sync/jws';
import type { UploadBody } from '../../src/sync/protocol';
import { Uploader } from '../../src/sync/uploader';
import { credentials, signer, tmpDir } from '../sync/helpers';
import { errorOf, journalWithBatches, startFund, upload } from './helpers';

/**
 * The certificates a batch offers, and those its documents name, are the client's: nothing in
 * them may stop the fund from checking the next batch. Before: bytes that were not X.509, named
 * by an invoice, made the signature check throw — 500 on the main thread, and with worker
 * threads an uncaught exception that killed the worker, after which every batch sent to it
 * waited for ever; and an invoice naming a certificate its request did not carry made the worker
 * remember that certificate as "no key", so every later batch signed with it failed
 * BAD_SIGNATURE until the fund restarted.
 */

const GARBAGE = Buffer.from('this is not a DER certificate at all');

/** `body` with its first invoice's header naming the garbage certificate (offered too), and the manifest signed anew over it. */
async function namingGarbage(body: UploadBody): Promise<UploadBody> {
  const [, payload, signature] = body.invoices[0]!.split('.') as [string, string, string];
  const kid = b64uEncode(createHash('sha256').update(GARBAGE).digest());
  const header = b64uEncode(Buffer.from(canonicalize({ alg: 'ES256', typ: 'chifa-invoice+jws', 'x5t#S256': kid })));
  const invoice = `${header}.${payload}.${signature}`;
  const manifest = parseCompact(body.manifest, 'manifest', 'chifa-manifest+jws').payload as { invoices: string[] };
  const resigned = await signCompact(
    { ...manifest, invoices: [jwsHash(invoice), ...manifest.invoices.slice(1)] },
    'chifa-manifest+jws',
    signer(1),
  );
  return {
    certificates: [...body.certificates, GARBAGE.toString('base64')],
    manifest: resigned,
    invoices: [invoice, ...body.invoices.slice(1)],
  };
}

test.each([0, 1])(
  'bytes that are not X.509 among the certificates: 422 BAD_CERTIFICATE naming them, the next batch checked (%i threads)',
  async (threads) => {
    const { dir, url } = await startFund({ verifyThreads: threads });
    const { uploads } = await journalWithBatches(dir, 1, 2, 2);
    const r = await upload(url, signer(1), JSON.stringify(await namingGarbage(uploads[0]!.body)), 'garbage-certificate-0001');
    expect([r.status, errorOf(r).code, errorOf(r).field]).toEqual([422, 'BAD_CERTIFICATE', 'certificates[1]']);
    const next = await upload(url, signer(1), JSON.stringify(uploads[0]!.body), uploads[0]!.key);
    expect(next.status).toBe(200);
  },
);

test('an invoice naming a certificate its request does not carry does not make the next batch fail', async () => {
  const { dir, url } = await startFund({ verifyThreads: 1 });
  const p1 = await journalWithBatches(dir, 1, 1, 1);
  const p2 = await journalWithBatches(dir, 2, 1, 1);
  // Pharmacy 2's manifest and certificate around pharmacy 1's invoice (which names pharmacy 1's certificate).
  const mixed: UploadBody = { ...p2.uploads[0]!.body, invoices: p1.uploads[0]!.body.invoices };
  const r = await upload(url, signer(2), JSON.stringify(mixed), p2.uploads[0]!.key);
  expect(r.status).toBe(422);
  const s = await new Uploader(p1.journal, { fund: url, ...credentials(1), sleep: async () => undefined }).runOnce();
  expect({ error: s.error, accepted: s.accepted }).toEqual({ error: null, accepted: 1 });
});

test('a verification worker that dies is replaced: the next check is answered', async () => {
  const pool = new VerifyPool(1);
  try {
    const { uploads } = await journalWithBatches(tmpDir(), 1, 1, 1);
    const der = signer(1).certificate;
    const items = uploads[0]!.body.invoices.map((jws) => ({ jws, kid: signer(1).keyId }));
    const certs = new Map([[signer(1).keyId, der]]);
    expect((await pool.check(items, certs)).map((x) => x.ok)).toEqual([true]);
    await (pool as unknown as { workers: Worker[] }).workers[0]!.terminate();
    const answer = await Promise.race([
      pool.check(items, certs),
      new Promise((resolve) => setTimeout(() => resolve('no answer in 5 s'), 5000)),
    ]);
    expect(Array.isArray(answer) ? answer.map((x: { ok: boolean }) => x.ok) : answer).toEqual([true]);
  } finally {
    await pool.close();
  }
});
