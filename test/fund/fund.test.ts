import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { auditFundStore } from '../../src/fund/audit';
import { parseFaults } from '../../src/fund/faults';
import { FundServer } from '../../src/fund/server';
import { fundEndpoint } from '../../src/sync/http';
import { Journal } from '../../src/sync/journal/journal';
import { verifyJournal } from '../../src/sync/journal/verify';
import { b64uEncode } from '../../src/sync/base64url';
import { signCompact } from '../../src/sync/jws';
import type { BatchManifest } from '../../src/sync/manifest';
import { Uploader } from '../../src/sync/uploader';
import { RequestAuthenticator } from '../../src/sync/request-auth';
import type { Signer } from '../../src/sync/signer';
import { credentials, key, onCleanup, rogueSigner, sampleDraft, signedPayload, signer, tmpDir, wrongSplitDraft } from '../sync/helpers';

const noSleep = { sleep: async () => undefined };

async function setup(options: { maxCount?: number; faults?: string; settleAfterMs?: number | null } = {}) {
  const dir = tmpDir();
  const fund = onCleanup(
    new FundServer({
      dataDir: path.join(dir, 'fund'),
      verifyThreads: 1,
      downlinkRecheckMs: 0,
      ...(options.faults ? { faults: parseFaults(options.faults) } : {}),
      ...(options.settleAfterMs !== undefined ? { settleAfterMs: options.settleAfterMs } : {}),
    }),
  );
  const url = await fund.listen();
  const journal = onCleanup(
    Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: options.maxCount ?? 10, maxAgeMs: 3600_000 } }),
  );
  const uploader = new Uploader(journal, { fund: url, ...credentials(1), ...noSleep });
  return { dir, fund, url, journal, uploader };
}

/** POSTs raw bytes to the fund (for bad-input tests), authenticated as `as`'s pharmacy. */
async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
  as: Signer = signer(1),
): Promise<{ status: number; json: any }> {
  const auth = await new RequestAuthenticator(as).headers('POST', '/v1/batches', Buffer.from(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL('/v1/batches', url),
      { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const storedCount = (fund: FundServer): number => fund.store.db.prepare('SELECT COUNT(*) FROM invoices').pluck().get() as number;

describe('fund server + uploader (in-process, loopback HTTP)', () => {
  test('30 invoices in 3 batches: accepted, acknowledged, settled; the fund store verifies', async () => {
    const { fund, journal, uploader, dir } = await setup();
    await journal.appendMany(Array.from({ length: 30 }, (_, i) => sampleDraft(i)));
    await journal.whenIdle();
    const progress: number[] = [];
    const u2 = new Uploader(journal, { fund: uploader.endpoint, onProgress: (p) => progress.push(p.doneInvoices), ...noSleep });
    const s = await u2.runOnce();
    expect(s).toMatchObject({ batches: 3, invoices: 30, accepted: 30, rejected: 0, error: null, settledBatches: 3 });
    expect(progress).toEqual([10, 20, 30]);
    expect(journal.batches().map((b) => b.state)).toEqual(['settled', 'settled', 'settled']);
    expect(s.paid).toBe(journal.batches().reduce((n, b) => n + (b.paid ?? 0), 0));
    const again = await u2.runOnce();
    expect(again).toMatchObject({ batches: 0, error: null });
    const audit = auditFundStore(path.join(dir, 'fund'));
    expect(audit.ok).toBe(true);
    expect(audit.pharmacies[0]).toMatchObject({
      pharmacyId: 'DZ16-PH-00001',
      invoices: 30,
      accepted: 30,
      batches: 3,
      lastNumber: 30,
      chainComplete: true,
    });
    expect(audit.pharmacies[0]!.lastHash).toBe(journal.tip().hash);
    await journal.close();
    await fund.close();
  });

  test('a wrong split is rejected with a reason; the corrected invoice is recycled in a new batch', async () => {
    const { fund, journal, uploader } = await setup({ maxCount: 3 });
    const { good, bad, line: i } = wrongSplitDraft();
    await journal.appendMany([sampleDraft(1), bad, sampleDraft(2)]);
    await journal.whenIdle();
    const s = await uploader.runOnce();
    expect(s).toMatchObject({ accepted: 2, rejected: 1, error: null });
    const rejected = journal.rejectedInvoices();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ number: 2, code: 'SPLIT_MISMATCH', correctedBy: null });
    expect(rejected[0]!.reason).toMatch(new RegExp(`lines\\[${i}\\]\\.fund`));

    await expect(journal.correct(1, good)).rejects.toMatchObject({ code: 'not-rejected' });
    const fixed = await journal.correct(2, good, 'fund share recomputed');
    expect(fixed.document).toMatchObject({ kind: 'corrected-invoice', references: { number: 2, reason: 'fund share recomputed' } });
    await expect(journal.correct(2, good)).rejects.toMatchObject({ code: 'already-corrected' });
    await journal.closeOpenBatch();
    const s2 = await uploader.runOnce();
    expect(s2).toMatchObject({ accepted: 1, rejected: 0, error: null });
    expect(journal.rejectedInvoices()[0]).toMatchObject({ number: 2, correctedBy: 4 });
    expect(journal.rejectedInvoices({ pendingOnly: true })).toHaveLength(0);
    expect(journal.backlog().rejectedPending).toBe(0);
    expect(verifyJournal(journal.file).ok).toBe(true);
    await journal.close();
    await fund.close();
  });

  test('exact duplicates are refused; credit notes are accepted once, not beyond the original', async () => {
    const { fund, journal, uploader } = await setup({ maxCount: 100 });
    const d = sampleDraft(3);
    await journal.appendMany([d, d]);
    await journal.closeOpenBatch();
    let s = await uploader.runOnce();
    expect(s).toMatchObject({ accepted: 1, rejected: 1 });
    expect(journal.rejectedInvoices()[0]).toMatchObject({ number: 2, code: 'DUPLICATE_INVOICE' });
    await journal.creditNote(1, undefined, 'returned');
    await journal.creditNote(1);
    await journal.closeOpenBatch();
    s = await uploader.runOnce();
    expect(s).toMatchObject({ accepted: 1, rejected: 1 });
    expect(journal.invoice(4)!.ack).toMatchObject({ status: 'rejected', code: 'CREDIT_EXCEEDS_ORIGINAL' });
    expect(s.paid).toBe(-d.totals.fund);
    await journal.close();
    await fund.close();
  });

  test('blacklist: the fund refuses third-party payment; the terminal learns the list by downlink', async () => {
    const { fund, journal, uploader, dir } = await setup({ maxCount: 100 });
    fs.mkdirSync(path.join(dir, 'fund', 'downlink'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'fund', 'downlink', 'blacklist.json'),
      JSON.stringify({ cards: [{ cardSerial: 'C999999', since: '2024-01-01', reason: 'fraud' }] }),
    );
    const d = sampleDraft(5, { cardSerial: 'C999999' });
    expect(d.totals.fund).toBeGreaterThan(0);
    await journal.append(d);
    await journal.closeOpenBatch();
    await uploader.runOnce();
    expect(journal.rejectedInvoices()[0]).toMatchObject({ code: 'BLACKLISTED_CARD' });
    expect(journal.rejectedInvoices()[0]!.reason).not.toContain('C999999');
    await journal.close();
    await fund.close();
  });

  test('bad input is refused with a reason and nothing is stored', async () => {
    const { fund, url, journal } = await setup({ maxCount: 5 });
    await journal.appendMany(Array.from({ length: 10 }, (_, i) => sampleDraft(i)));
    await journal.whenIdle();
    const r1 = journal.uploadRequest(1);
    const r2 = journal.uploadRequest(2);
    const send = (body: unknown, k = r1.idempotencyKey) => post(url, JSON.stringify(body), { 'idempotency-key': k });

    // Reordered: batch 2 before batch 1.
    expect(await send(r2.body, r2.idempotencyKey)).toMatchObject({
      status: 409,
      json: { error: { code: 'BATCH_OUT_OF_ORDER', expected: 1 } },
    });
    // Tampered payload (an amount changed, signature kept).
    const [h, p, sg] = r1.body.invoices[2]!.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(p, 'base64url')
      .toString()
      .replace(/"patient":(\d+)/, (_m, x: string) => `"patient":${Number(x) + 1}`);
    const tampered = { ...r1.body, invoices: r1.body.invoices.map((j, k) => (k === 2 ? `${h}.${b64uEncode(forgedPayload)}.${sg}` : j)) };
    const t = await send(tampered);
    expect(t.status).toBe(422);
    expect(t.json.error.field).toMatch(/invoices\[2\]|manifest/);
    // A forged signature (valid shape).
    const flipped = sg.slice(0, 10) + (sg[10] === 'A' ? 'B' : 'A') + sg.slice(11);
    expect(await send({ ...r1.body, invoices: r1.body.invoices.map((j, k) => (k === 1 ? `${h}.${p}.${flipped}` : j)) })).toMatchObject({
      status: 422,
      json: { error: { code: expect.stringMatching(/BAD_SIGNATURE|MANIFEST_MISMATCH/) } },
    });
    // Unknown key: the certificate is not carried.
    const other = fs.readFileSync(key('pharmacy-2.cert.der')).toString('base64');
    expect(await send({ ...r1.body, certificates: [other] })).toMatchObject({ status: 422, json: { error: { code: 'UNKNOWN_KEY' } } });
    // Forged key: a certificate from a CA the fund does not trust, for the same pharmacy id.
    const rogue = rogueSigner();
    const m = JSON.parse(Buffer.from(r1.body.manifest.split('.')[1]!, 'base64url').toString()) as BatchManifest;
    const rogueManifest = await signCompact(m, 'chifa-manifest+jws', rogue);
    expect(
      await send({ ...r1.body, certificates: [rogue.certificate.toString('base64')], manifest: rogueManifest }, 'rogue-key-0000000001'),
    ).toMatchObject({
      status: 422,
      json: { error: { code: 'CERT_UNTRUSTED' } },
    });
    // A manifest signed by another (genuine) pharmacy for these invoices.
    const other2 = await signCompact(m, 'chifa-manifest+jws', signer(2));
    expect(
      await send(
        { ...r1.body, certificates: [...r1.body.certificates, signer(2).certificate.toString('base64')], manifest: other2 },
        'other-pharmacy-000001',
      ),
    ).toMatchObject({
      status: 422,
      json: { error: { code: 'CERT_PHARMACY_MISMATCH' } },
    });
    // Truncated body, huge body, not JSON, no idempotency key.
    const full = JSON.stringify(r1.body);
    expect(await post(url, full.slice(0, full.length - 100), { 'idempotency-key': r1.idempotencyKey })).toMatchObject({
      status: 400,
      json: { error: { code: 'MALFORMED_BODY' } },
    });
    expect(await post(url, Buffer.alloc(17 * 1024 * 1024, 0x20), { 'idempotency-key': r1.idempotencyKey })).toMatchObject({
      status: 413,
      json: { error: { code: 'BODY_TOO_LARGE' } },
    });
    expect(await post(url, full, {})).toMatchObject({ status: 400, json: { error: { code: 'IDEMPOTENCY_KEY_REQUIRED' } } });
    expect(await post(url, full, { 'idempotency-key': r1.idempotencyKey, 'content-type': 'text/plain' })).toMatchObject({ status: 415 });
    // Manifest says other hashes than the invoices.
    expect(await send({ ...r1.body, invoices: [...r1.body.invoices.slice(1), r1.body.invoices[0]] })).toMatchObject({ status: 422 });
    expect(storedCount(fund)).toBe(0);

    // The real batch 1 goes in; a replay with the same key is answered from the record.
    const ok = await send(r1.body);
    expect(ok.status).toBe(200);
    expect(signedPayload(ok.json)).toMatchObject({ batchId: 1, accepted: 5, complete: true });
    const replay = await send(r1.body);
    expect(replay.status).toBe(200);
    expect(signedPayload(replay.json).results).toEqual(signedPayload(ok.json).results);
    // The same key for another batch is refused; an old invoice range replayed under a new manifest too.
    expect(await send(r2.body, r1.idempotencyKey)).toMatchObject({ status: 422, json: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    const m1 = JSON.parse(Buffer.from(r1.body.manifest.split('.')[1]!, 'base64url').toString()) as BatchManifest;
    const replayManifest = await signCompact({ ...m1, batchId: 2, closedAt: '2024-03-16T00:00:00.000Z' }, 'chifa-manifest+jws', signer(1));
    expect(await send({ ...r1.body, manifest: replayManifest }, 'replay-000000000000001')).toMatchObject({
      status: 409,
      json: { error: { code: 'ALREADY_RECEIVED', expected: 6 } },
    });
    expect(storedCount(fund)).toBe(5);
    await journal.close();
    await fund.close();
  });

  test('faults: drops (before and after storing), 5xx, Retry-After, latency and partial acks — everything arrives once', async () => {
    const { fund, url, journal, dir } = await setup({
      maxCount: 7,
      faults: 'drop=0.15,drop-after=0.15,5xx=0.15,retry-after=0.1:0,latency=0.3:1-5,partial=0.3,seed=11',
    });
    await journal.appendMany(Array.from({ length: 70 }, (_, i) => sampleDraft(i)));
    await journal.whenIdle();
    const sleeps: number[] = [];
    const up = new Uploader(journal, {
      fund: url,
      ...credentials(1),
      retry: { maxAttempts: 50 },
      sleep: async (ms) => void sleeps.push(ms),
    });
    const s = await up.runOnce();
    expect(s.error).toBeNull();
    expect(s).toMatchObject({ batches: 10, invoices: 70, accepted: 70 });
    expect(s.retries).toBeGreaterThan(0);
    expect(sleeps.length).toBe(s.retries);
    expect(journal.backlog()).toMatchObject({ unsentBatches: 0, invoices: 70 });
    const audit = auditFundStore(path.join(dir, 'fund'));
    expect(audit.ok).toBe(true);
    expect(audit.pharmacies[0]).toMatchObject({ invoices: 70, lastNumber: 70, batches: 10, chainComplete: true });
    await journal.close();
    await fund.close();
  });

  test('two pharmacies sync to one fund at the same time; each chain is complete', async () => {
    const { fund, url, journal, dir } = await setup({ maxCount: 7 });
    const j2 = onCleanup(Journal.open(path.join(dir, 'journal-2.sqlite'), { signer: signer(2), batch: { maxCount: 5 } }));
    await journal.appendMany(Array.from({ length: 40 }, (_, i) => sampleDraft(i)));
    await j2.appendMany(Array.from({ length: 33 }, (_, i) => sampleDraft(1000 + i)));
    await journal.closeOpenBatch();
    await j2.closeOpenBatch();
    const [a, b] = await Promise.all([
      new Uploader(journal, { fund: url, ...credentials(1), ...noSleep }).runOnce(),
      new Uploader(j2, { fund: url, ...credentials(2), ...noSleep }).runOnce(),
    ]);
    expect(a).toMatchObject({ invoices: 40, accepted: 40, error: null });
    expect(b).toMatchObject({ invoices: 33, accepted: 33, error: null });
    const audit = auditFundStore(path.join(dir, 'fund'));
    expect(audit.ok).toBe(true);
    expect(audit.pharmacies.map((p) => [p.pharmacyId, p.invoices, p.chainComplete])).toEqual([
      ['DZ16-PH-00001', 40, true],
      ['DZ31-PH-00002', 33, true],
    ]);
    void fund;
  });

  test('plain HTTP is refused to anything but loopback', () => {
    expect(() => fundEndpoint('http://fund.example.dz/')).toThrow(expect.objectContaining({ code: 'insecure-fund-url' }));
    expect(() => fundEndpoint('http://10.0.0.1:8080/')).toThrow(expect.objectContaining({ code: 'insecure-fund-url' }));
    expect(() => fundEndpoint('ftp://127.0.0.1/')).toThrow(expect.objectContaining({ code: 'bad-fund-url' }));
    expect(fundEndpoint('http://127.0.0.1:9/').base.href).toBe('http://127.0.0.1:9/');
    expect(fundEndpoint('http://[::1]:9/').base.hostname).toBe('[::1]');
    expect(fundEndpoint('http://localhost:9').base.href).toBe('http://localhost:9/');
  });

  test('fault spec syntax', () => {
    expect(parseFaults('drop=0.1,drop-after=0.05,5xx=0.2,retry-after=0.1:3,latency=0.5:10-20ms,partial=1,seed=4')).toEqual({
      drop: 0.1,
      dropAfter: 0.05,
      serverError: 0.2,
      retryAfter: 0.1,
      retryAfterSeconds: 3,
      latency: 0.5,
      latencyMinMs: 10,
      latencyMaxMs: 20,
      partial: 1,
      seed: 4,
      rejectInvoices: [],
      shortPayments: [],
    });
    expect(parseFaults('reject-invoice=2:SPLIT_MISMATCH,reject-invoice=9:PRESCRIPTION_MISSING,short-pay=1:1234')).toMatchObject({
      rejectInvoices: [
        { number: 2, code: 'SPLIT_MISMATCH' },
        { number: 9, code: 'PRESCRIPTION_MISSING' },
      ],
      shortPayments: [{ batchId: 1, centimes: 1234 }],
    });
    expect(() => parseFaults('reject-invoice=0:X1')).toThrow(/reject-invoice: expected an invoice number/);
    expect(() => parseFaults('reject-invoice=3')).toThrow(/reject-invoice: expected a reason code/);
    expect(() => parseFaults('reject-invoice=3:lower')).toThrow(/reject-invoice: expected a reason code/);
    expect(() => parseFaults('short-pay=1:0')).toThrow(/short-pay: expected whole centimes/);
    expect(() => parseFaults('short-pay=x:10')).toThrow(/short-pay: expected a batch number/);
    expect(() => parseFaults('drop=2')).toThrow(/drop: rate "2"/);
    expect(() => parseFaults('explode=0.1')).toThrow(/unknown fault/);
    expect(() => parseFaults('latency=0.1:20-10')).toThrow(/MIN-MAX/);
    expect(() => parseFaults('drop')).toThrow(/name=rate/);
  });
});
