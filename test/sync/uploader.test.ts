import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { FundServer } from '../../src/fund/server';
import { retryAfterMs } from '../../src/sync/http';
import { Journal } from '../../src/sync/journal/journal';
import { Uploader } from '../../src/sync/uploader';
import { credentials, key, onCleanup, sampleDraft, signer, tmpDir } from './helpers';

/** A fake fund that answers from a script, then proxies to a real one. */
async function scripted(answers: { status: number; headers?: Record<string, string>; body?: unknown }[], realUrl: string) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const a = answers[calls++];
    if (a) {
      req.resume();
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body ?? { error: { code: 'X', message: 'scripted' } }));
      return;
    }
    const up = http.request(new URL(req.url!, realUrl), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function prepared(n = 6) {
  const dir = tmpDir();
  const fund = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0 }));
  const realUrl = await fund.listen();
  const journal = onCleanup(Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 3 } }));
  await journal.appendMany(Array.from({ length: n }, (_, i) => sampleDraft(i)));
  await journal.whenIdle();
  return { dir, fund, realUrl, journal };
}

describe('uploader retries', () => {
  test('exponential backoff with full jitter; Retry-After honoured instead', async () => {
    const { fund, realUrl, journal } = await prepared(3); // one batch: one request at a time
    const fake = onCleanup(
      await scripted(
        [{ status: 500 }, { status: 502 }, { status: 503, headers: { 'retry-after': '2' } }, { status: 429 }, { status: 503 }],
        realUrl,
      ),
    );
    const sleeps: number[] = [];
    const up = new Uploader(journal, {
      fund: fake.url,
      ...credentials(1),
      retry: { baseMs: 100, maxMs: 1000 },
      random: () => 0.999,
      sleep: async (ms) => void sleeps.push(ms),
    });
    const s = await up.runOnce();
    expect(s).toMatchObject({ batches: 1, accepted: 3, retries: 5, error: null });
    // attempt 0: <100, 1: <200, then Retry-After 2 s, 3: <800, 4: capped at 1000
    expect(sleeps).toEqual([99, 199, 2000, 799, 999]);
    await fake.close();
    await journal.close();
    await fund.close();
  });

  test('a final 4xx stops the run, names the reason and keeps the batch queued', async () => {
    const { fund, realUrl, journal } = await prepared();
    const fake = onCleanup(
      await scripted([{ status: 409, body: { error: { code: 'CHAIN_GAP', message: 'expected invoice 1 next', expected: 1 } } }], realUrl),
    );
    const up = new Uploader(journal, { fund: fake.url, ...credentials(1), sleep: async () => undefined });
    const s = await up.runOnce();
    expect(s.error).toMatchObject({ code: 'CHAIN_GAP', expected: 1 });
    expect(s.batches).toBe(0);
    expect(journal.batch(1)).toMatchObject({ state: 'closed', attempts: 1 });
    expect(journal.batch(1)!.lastError).toMatch(/CHAIN_GAP/);
    const s2 = await up.runOnce(); // the script is exhausted: the real fund answers
    expect(s2).toMatchObject({ batches: 2, error: null });
    await fake.close();
    await journal.close();
    await fund.close();
  });

  test('gives up after maxAttempts, and a long Retry-After stops the run', async () => {
    const { fund, realUrl, journal } = await prepared(3);
    const fake = onCleanup(
      await scripted([{ status: 503 }, { status: 503 }, { status: 503, headers: { 'retry-after': '3600' } }], realUrl),
    );
    const up = new Uploader(journal, { fund: fake.url, ...credentials(1), retry: { maxAttempts: 2 }, sleep: async () => undefined });
    expect((await up.runOnce()).error).toMatchObject({ code: 'retries-exhausted' });
    expect((await up.runOnce()).error).toMatchObject({ code: 'fund-busy' });
    expect((await up.runOnce()).error).toBeNull();
    await fake.close();
    await journal.close();
    await fund.close();
  });

  test('Retry-After parsing', () => {
    expect(retryAfterMs('5')).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('HTTPS against the configured CA', () => {
  test('syncs over TLS with the test CA; refuses an untrusted server certificate', async () => {
    const dir = tmpDir();
    const fund = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0 }));
    const url = await fund.listen({
      tls: { cert: fs.readFileSync(key('tls-server.pem')), key: fs.readFileSync(key('tls-server.key.pem')) },
    });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const journal = onCleanup(Journal.open(path.join(dir, 'journal.sqlite'), { signer: signer(2), batch: { maxCount: 2 } }));
    await journal.appendMany([sampleDraft(1), sampleDraft(2)]);
    await journal.whenIdle();
    const untrusted = await new Uploader(journal, { fund: url, ...credentials(2), sleep: async () => undefined }).runOnce();
    expect(untrusted.error).toMatchObject({ code: 'tls-untrusted' });
    const wrongCa = await new Uploader(journal, {
      fund: url,
      ...credentials(2),
      ca: fs.readFileSync(key('fund-ca.pem')),
      sleep: async () => undefined,
    }).runOnce();
    expect(wrongCa.error).toMatchObject({ code: 'tls-untrusted' });
    const ok = await new Uploader(journal, {
      fund: url.replace('127.0.0.1', 'localhost'),
      ...credentials(2),
      ca: fs.readFileSync(key('tls-ca.pem')),
    }).runOnce();
    expect(ok).toMatchObject({ batches: 1, accepted: 2, error: null });
    await journal.close();
    await fund.close();
  });
});
