import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { FundServer } from '../../src/fund/server';
import { b64uEncode } from '../../src/sync/base64url';
import { canonicalize } from '../../src/sync/canonical';
import { BlacklistStore } from '../../src/sync/downlink/blacklist';
import { DownlinkStore, refreshDownlink } from '../../src/sync/downlink/client';
import { Journal } from '../../src/sync/journal/journal';
import { SCHEMA_VERSION } from '../../src/sync/journal/schema';
import { signCompact } from '../../src/sync/jws';
import type { BatchAck, DownlinkSignature, SignedAnswer } from '../../src/sync/protocol';
import { sha256b64u } from '../../src/sync/request-auth';
import type { Signer } from '../../src/sync/signer';
import { Uploader } from '../../src/sync/uploader';
import {
  credentials,
  fundVerifier,
  onCleanup,
  wrongSplitDraft,
  pharmacyEndpoint,
  rogueSigner,
  sampleDraft,
  signer,
  tmpDir,
} from './helpers';

/**
 * The terminal acts on nothing the fund says before checking the fund's signature: a tampered
 * or forged acknowledgement leaves the batch unacknowledged (to be sent again), a blacklist
 * signed by anyone but the fund is not applied, and the signed acknowledgements are kept in the
 * journal as the pharmacy's proof.
 */

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A man in the middle: forwards to the real fund and lets `edit` rewrite each answer. */
async function mitm(realUrl: string, edit: (url: string, a: Answer) => Answer | Promise<Answer>) {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = http.request(new URL(req.url!, realUrl), { method: req.method, headers: req.headers }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          void Promise.resolve(edit(req.url!, { status: r.statusCode!, headers: r.headers, body: Buffer.concat(body) })).then((a) => {
            const headers = { ...a.headers, 'content-length': String(a.body.length) };
            delete headers['transfer-encoding'];
            res.writeHead(a.status, headers);
            res.end(a.body);
          });
        });
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Rewrites the payload of a signed answer, keeping the header and the signature. */
function rewritePayload(a: Answer, change: (ack: BatchAck) => void): Answer {
  const env = JSON.parse(a.body.toString()) as SignedAnswer;
  const [h, p, s] = env.jws.split('.') as [string, string, string];
  const ack = JSON.parse(Buffer.from(p, 'base64url').toString()) as BatchAck;
  change(ack);
  return { ...a, body: Buffer.from(JSON.stringify({ ...env, jws: `${h}.${b64uEncode(canonicalize(ack))}.${s}` })) };
}

/** Re-signs a signed answer's payload with `by` (a key that is not the fund's). */
async function resign(a: Answer, by: Signer, change: (ack: BatchAck) => void = () => undefined): Promise<Answer> {
  const env = JSON.parse(a.body.toString()) as SignedAnswer;
  const ack = JSON.parse(Buffer.from(env.jws.split('.')[1]!, 'base64url').toString()) as BatchAck;
  change(ack);
  const jws = await signCompact(ack, 'chifa-ack+jws', by);
  return { ...a, body: Buffer.from(JSON.stringify({ jws, certificate: by.certificate.toString('base64') })) };
}

const isUpload = (url: string): boolean => url === '/v1/batches';

/** A journal whose batch 1 holds three invoices, the second with a wrong split (the fund rejects it). */
async function setup() {
  const dir = tmpDir('chifa-signed-');
  const fund = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, downlinkRecheckMs: 0 }));
  const realUrl = await fund.listen();
  const journal = onCleanup(Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 3 } }));
  const { bad } = wrongSplitDraft();
  await journal.appendMany([sampleDraft(1), bad, sampleDraft(2)]);
  await journal.whenIdle();
  return { dir, fund, realUrl, journal };
}

const upload = (journal: Journal, url: string) =>
  new Uploader(journal, { fund: url, ...credentials(1), sleep: async () => undefined }).runOnce();

/** Nothing of batch 1 recorded: still closed, no per-invoice result, no signed answer kept. */
function nothingRecorded(journal: Journal): void {
  expect(journal.batch(1)).toMatchObject({ state: 'closed', accepted: null });
  expect(journal.invoice(2)!.ack).toBeNull();
  expect(journal.signedAnswers(1)).toEqual([]);
}

describe('the uploader verifies the signed acknowledgement before recording anything', () => {
  test('one byte of the signature changed: refused, nothing acknowledged; the next run records the genuine answer', async () => {
    const { realUrl, journal } = await setup();
    const proxy = onCleanup(
      await mitm(realUrl, (url, a) => {
        if (!isUpload(url) || a.status !== 200) return a;
        const env = JSON.parse(a.body.toString()) as SignedAnswer;
        const i = env.jws.length - 10;
        const jws = env.jws.slice(0, i) + (env.jws[i] === 'A' ? 'B' : 'A') + env.jws.slice(i + 1);
        return { ...a, body: Buffer.from(JSON.stringify({ ...env, jws })) };
      }),
    );
    const s = await upload(journal, proxy.url);
    expect(s.error).toMatchObject({ code: 'bad-fund-signature', batchId: 1 });
    expect(s.batches).toBe(0);
    nothingRecorded(journal);
    expect(journal.batch(1)!.lastError).toMatch(/signature does not verify/);

    // The fund did store the batch; the next run is answered from its idempotency record.
    const again = await upload(journal, realUrl);
    expect(again).toMatchObject({ batches: 1, accepted: 2, rejected: 1, replayed: 1, error: null });
    expect(journal.invoice(2)!.ack).toMatchObject({ status: 'rejected', code: 'SPLIT_MISMATCH' });
  });

  test('a payload saying accepted for the rejected invoice (signature kept): refused, nothing acknowledged', async () => {
    const { realUrl, journal } = await setup();
    const proxy = onCleanup(
      await mitm(realUrl, (url, a) =>
        isUpload(url) && a.status === 200
          ? rewritePayload(a, (ack) => {
              const r = ack.results.find((x) => x.status === 'rejected')!;
              r.status = 'accepted';
              delete r.code;
              delete r.reason;
              ack.accepted++;
              ack.rejected--;
            })
          : a,
      ),
    );
    const s = await upload(journal, proxy.url);
    expect(s.error).toMatchObject({ code: 'bad-fund-signature', batchId: 1 });
    nothingRecorded(journal);
  });

  test("an acknowledgement signed by another key — a pharmacist's card of the same CA, a rogue CA — is refused", async () => {
    const { realUrl, journal } = await setup();
    for (const by of [signer(2), rogueSigner()]) {
      const p = onCleanup(
        await mitm(realUrl, (url, a) =>
          isUpload(url) && a.status === 200
            ? resign(a, by, (ack) => {
                for (const r of ack.results) {
                  r.status = 'accepted';
                  delete r.code;
                  delete r.reason;
                }
                ack.accepted = ack.count;
                ack.rejected = 0;
              })
            : a,
        ),
      );
      const s = await upload(journal, p.url);
      expect(s.error).toMatchObject({ code: 'fund-cert-untrusted', batchId: 1 });
      nothingRecorded(journal);
    }
  });

  test("the fund's genuine acknowledgement of another batch is refused as not about this one", async () => {
    const { realUrl, journal } = await setup();
    expect(await upload(journal, realUrl)).toMatchObject({ batches: 1, error: null });
    const kept = journal.signedAnswers(1)[0]!;
    const batch1: SignedAnswer = { jws: kept.jws, certificate: kept.certificate.toString('base64') };
    await journal.appendMany([sampleDraft(20), sampleDraft(21), sampleDraft(22)]);
    await journal.whenIdle();
    // Batch 2 is answered with batch 1's signed acknowledgement.
    const proxy = onCleanup(
      await mitm(realUrl, (url, a) => (isUpload(url) && a.status === 200 ? { ...a, body: Buffer.from(JSON.stringify(batch1)) } : a)),
    );
    const s = await upload(journal, proxy.url);
    expect(s.error).toMatchObject({ code: 'ack-mismatch', batchId: 2 });
    expect(journal.batch(2)).toMatchObject({ state: 'closed', accepted: null });
    expect(journal.signedAnswers(2)).toEqual([]);
  });

  test('the signed acknowledgements are kept in the journal: the pharmacy can prove what the fund said', async () => {
    const { realUrl, journal, dir } = await setup();
    expect(await upload(journal, realUrl)).toMatchObject({ accepted: 2, rejected: 1, error: null });
    const kept = journal.signedAnswers(1);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    const proof = fundVerifier().verify(kept[0]!.jws, kept[0]!.certificate.toString('base64'), 'chifa-ack+jws', 'proof');
    expect(proof.payload).toMatchObject({
      pharmacyId: 'DZ16-PH-00001',
      batchId: 1,
      idempotencyKey: journal.batch(1)!.idempotencyKey,
      rejected: 1,
      results: [{ status: 'accepted' }, { status: 'rejected', code: 'SPLIT_MISMATCH' }, { status: 'accepted' }],
    });
    // Immutable like the rest of the journal.
    const db = new Database(path.join(dir, 'journal.sqlite'));
    expect(() => db.prepare('DELETE FROM fund_acks').run()).toThrow(/never deleted/);
    expect(() => db.prepare("UPDATE fund_acks SET jws = 'x'").run()).toThrow(/immutable/);
    db.close();
  });

  test('a journal of schema 1 is migrated on opening: the proofs table is added, nothing else changes', async () => {
    const dir = tmpDir('chifa-migrate-');
    const file = path.join(dir, 'journal.sqlite');
    const j = Journal.open(file, { signer: signer(1), batch: { maxCount: 2 } });
    await j.appendMany([sampleDraft(1), sampleDraft(2)]);
    await j.close();
    // Make it what a schema-1 program wrote.
    const db = new Database(file);
    db.exec('DROP TRIGGER fund_acks_no_update; DROP TRIGGER fund_acks_no_delete; DROP TABLE fund_acks');
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    db.close();
    const again = onCleanup(Journal.open(file));
    expect(again.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(SCHEMA_VERSION));
    expect(again.signedAnswers(1)).toEqual([]);
    expect(again.tip().number).toBe(2);
    // A schema-1 journal missing one of its own triggers is still refused, not repaired.
    await again.close();
    const db2 = new Database(file);
    db2.exec('DROP TRIGGER fund_acks_no_update; DROP TRIGGER fund_acks_no_delete; DROP TABLE fund_acks; DROP TRIGGER acks_no_delete');
    db2.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    db2.close();
    expect(() => Journal.open(file)).toThrow(expect.objectContaining({ code: 'journal-tampered' }));
    expect(fs.existsSync(file)).toBe(true);
  });
});

describe('the downlink client verifies the signature before applying a document', () => {
  async function downlinkSetup() {
    const dir = tmpDir('chifa-dl-signed-');
    const fundDir = path.join(dir, 'fund');
    fs.mkdirSync(path.join(fundDir, 'downlink'), { recursive: true });
    fs.writeFileSync(path.join(fundDir, 'downlink', 'blacklist.json'), JSON.stringify({ cards: [{ cardSerial: 'C100001' }] }));
    const fund = onCleanup(new FundServer({ dataDir: fundDir, verifyThreads: 0, downlinkRecheckMs: 0 }));
    const realUrl = await fund.listen();
    const terminal = path.join(dir, 'terminal');
    const store = onCleanup(DownlinkStore.open(terminal));
    const bl = onCleanup(BlacklistStore.open(terminal));
    expect((await refreshDownlink(pharmacyEndpoint(realUrl), store, { names: ['blacklist'] }))[0]!.status).toBe('updated');
    expect(bl.isBlacklisted('C100001')).toBe(true);
    // The fund publishes a new list; the man in the middle swaps it for his own.
    fs.writeFileSync(path.join(fundDir, 'downlink', 'blacklist.json'), JSON.stringify({ cards: [{ cardSerial: 'C100002' }] }));
    return { realUrl, store, bl };
  }

  const evil = Buffer.from(JSON.stringify({ cards: [{ cardSerial: 'C100001' }, { cardSerial: 'C999999', reason: 'competitor' }] }));

  test('a blacklist signed by a rogue key is not applied; the previous list stays in force', async () => {
    const { realUrl, store, bl } = await downlinkSetup();
    const before = bl.etag();
    for (const by of [rogueSigner(), signer(2)]) {
      const forgedSig = async (etag: string): Promise<string> => {
        const payload: DownlinkSignature = { v: 1, name: 'blacklist', etag, sha256: sha256b64u(evil) };
        return signCompact(payload, 'chifa-downlink+jws', by);
      };
      const sig = await forgedSig('"evil"');
      const proxy = onCleanup(
        await mitm(realUrl, (url, a) =>
          url === '/v1/downlink/blacklist' && a.status === 200
            ? {
                ...a,
                headers: {
                  ...a.headers,
                  etag: '"evil"',
                  'chifa-signature': sig,
                  'chifa-fund-certificate': by.certificate.toString('base64'),
                },
                body: evil,
              }
            : a,
        ),
      );
      const r = await refreshDownlink(pharmacyEndpoint(proxy.url), store, { names: ['blacklist'] });
      expect(r[0]).toMatchObject({ name: 'blacklist', status: 'failed', detail: expect.stringMatching(/^fund-cert-untrusted: /) });
      expect(bl.etag()).toBe(before);
      expect(bl.isBlacklisted('C999999')).toBe(false);
      expect(bl.isBlacklisted('C100001')).toBe(true);
    }
  });

  test("the fund's signature kept over another body, or no signature: not applied", async () => {
    const { realUrl, store, bl } = await downlinkSetup();
    const before = bl.etag();
    for (const strip of [false, true]) {
      const proxy = onCleanup(
        await mitm(realUrl, (url, a) => {
          if (url !== '/v1/downlink/blacklist' || a.status !== 200) return a;
          const headers = { ...a.headers };
          if (strip) delete headers['chifa-signature'];
          return { ...a, headers, body: evil };
        }),
      );
      const r = await refreshDownlink(pharmacyEndpoint(proxy.url), store, { names: ['blacklist'] });
      expect(r[0]).toMatchObject({
        status: 'failed',
        detail: expect.stringMatching(strip ? /unsigned/ : /differs from what the fund signed/),
      });
      expect(bl.etag()).toBe(before);
    }
    // The genuine new version applies.
    expect((await refreshDownlink(pharmacyEndpoint(realUrl), store, { names: ['blacklist'] }))[0]!.status).toBe('updated');
    expect(bl.isBlacklisted('C100002')).toBe(true);
    expect(bl.isBlacklisted('C100001')).toBe(false);
  });
});
