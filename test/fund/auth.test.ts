import * as path from 'node:path';
import { FundServer } from '../../src/fund/server';
import { b64uEncode } from '../../src/sync/base64url';
import { fundEndpoint, request, type HttpResponse } from '../../src/sync/http';
import { Journal } from '../../src/sync/journal/journal';
import { signCompact } from '../../src/sync/jws';
import type { RequestToken } from '../../src/sync/protocol';
import { EMPTY_BODY_SHA256, RequestAuthenticator, sha256b64u } from '../../src/sync/request-auth';
import { SoftwareSigner, type Signer } from '../../src/sync/signer';
import { Uploader } from '../../src/sync/uploader';
import { credentials, key, onCleanup, rogueSigner, sampleDraft, signedPayload, signer, tmpDir } from '../sync/helpers';

/**
 * Request authentication at the fund: every route but health wants a token signed by the
 * pharmacist's card, answers only about that pharmacy, and takes each token once. Before the
 * fund authenticated anything, every refusal below was a 200 (or a 404 for the unknown batch).
 */

const P1 = 'DZ16-PH-00001';

async function fund(dir = tmpDir('chifa-auth-')) {
  const server = onCleanup(new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0 }));
  const url = await server.listen();
  return { dir, server, url, ep: fundEndpoint(url) };
}

/** Sends `method target` with exactly `headers` (no authentication added). */
function raw(
  url: string,
  method: 'GET' | 'POST',
  target: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<HttpResponse> {
  return request(fundEndpoint(url), method, target, { headers, ...(body ? { body } : {}) });
}

const json = (r: HttpResponse): { error?: { code: string; field?: string } } & Record<string, unknown> =>
  JSON.parse(r.body.toString('utf8')) as { error?: { code: string; field?: string } } & Record<string, unknown>;

const headersFor = (s: Signer, method: string, target: string, options: { now?: () => Date; body?: Buffer } = {}) =>
  new RequestAuthenticator(s, options.now ? { now: options.now } : {}).headers(method, target, options.body);

/** A token with a chosen payload, signed by `s`. */
async function forged(s: Signer, token: Partial<RequestToken>): Promise<Record<string, string>> {
  const iat = Math.floor(Date.now() / 1000);
  const t: RequestToken = {
    v: 1,
    pharmacyId: P1,
    method: 'GET',
    path: `/v1/pharmacies/${P1}/chain`,
    bodySha256: EMPTY_BODY_SHA256,
    iat,
    exp: iat + 60,
    jti: b64uEncode(Buffer.from(String(Math.random()))).slice(0, 22),
    ...token,
  };
  return { authorization: `Chifa ${await signCompact(t, 'chifa-request+jws', s)}`, 'chifa-certificate': s.certificate.toString('base64') };
}

/** Pharmacy 1 with two batches at the fund. */
async function withBatches() {
  const f = await fund();
  const journal = onCleanup(Journal.open(path.join(f.dir, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 3 } }));
  await journal.appendMany(Array.from({ length: 6 }, (_, i) => sampleDraft(i)));
  await journal.whenIdle();
  const s = await new Uploader(journal, { fund: f.url, ...credentials(1), sleep: async () => undefined }).runOnce();
  expect(s).toMatchObject({ batches: 2, accepted: 6, error: null });
  return { ...f, journal };
}

describe('the fund authenticates every request but health', () => {
  test('no token: 401 AUTH_MISSING with WWW-Authenticate, on every route; health stays open', async () => {
    const { url } = await fund();
    expect((await raw(url, 'GET', 'v1/health')).status).toBe(200);
    for (const [method, target] of [
      ['GET', `v1/pharmacies/${P1}/chain`],
      ['GET', `v1/pharmacies/${P1}/batches?from=1`],
      ['GET', `v1/batches/${P1}/1`],
      ['GET', 'v1/downlink/blacklist'],
      ['GET', 'v1/downlink/catalogue'],
      ['GET', 'v1/downlink/rules'],
      ['POST', 'v1/batches'],
      ['GET', 'v1/no-such-route'],
    ] as const) {
      const r = await raw(url, method, target, { 'content-type': 'application/json' }, method === 'POST' ? Buffer.from('{}') : undefined);
      expect([target, r.status, json(r).error?.code]).toEqual([target, 401, 'AUTH_MISSING']);
      expect(r.headers['www-authenticate']).toBe('Chifa');
    }
    // A certificate alone, or a token without its certificate, is not enough either.
    const h = await headersFor(signer(1), 'GET', `/v1/pharmacies/${P1}/chain`);
    expect(json(await raw(url, 'GET', `v1/pharmacies/${P1}/chain`, { 'chifa-certificate': h['chifa-certificate']! })).error).toMatchObject({
      code: 'AUTH_MISSING',
      field: 'Authorization',
    });
    expect(json(await raw(url, 'GET', `v1/pharmacies/${P1}/chain`, { authorization: h.authorization! })).error).toMatchObject({
      code: 'AUTH_MISSING',
      field: 'Chifa-Certificate',
    });
    expect(
      json(await raw(url, 'GET', `v1/pharmacies/${P1}/chain`, { authorization: 'Bearer abc', 'chifa-certificate': 'AAAA' })).error?.code,
    ).toBe('AUTH_MALFORMED');
  });

  test('an authenticated request is answered, signed by the fund', async () => {
    const { url } = await withBatches();
    const r = await raw(url, 'GET', `v1/pharmacies/${P1}/chain`, await headersFor(signer(1), 'GET', `/v1/pharmacies/${P1}/chain`));
    expect(r.status).toBe(200);
    expect(signedPayload(json(r), 'chifa-chain+jws')).toMatchObject({ pharmacyId: P1, lastNumber: 6, lastBatch: 2 });
  });

  test('expired, not yet valid, too long-lived: 401 AUTH_EXPIRED / AUTH_NOT_YET_VALID / AUTH_MALFORMED', async () => {
    const { url } = await fund();
    const target = `/v1/pharmacies/${P1}/chain`;
    const past = await headersFor(signer(1), 'GET', target, { now: () => new Date(Date.now() - 10 * 60_000) });
    expect(json(await raw(url, 'GET', target, past)).error?.code).toBe('AUTH_EXPIRED');
    expect((await raw(url, 'GET', target, past)).status).toBe(401);
    const future = await headersFor(signer(1), 'GET', target, { now: () => new Date(Date.now() + 10 * 60_000) });
    expect(json(await raw(url, 'GET', target, future)).error?.code).toBe('AUTH_NOT_YET_VALID');
    const iat = Math.floor(Date.now() / 1000);
    expect(json(await raw(url, 'GET', target, await forged(signer(1), { iat, exp: iat + 301 }))).error?.code).toBe('AUTH_MALFORMED');
    // Within the clock tolerance (60 s) a slightly late token still passes.
    const late = await headersFor(signer(1), 'GET', target, { now: () => new Date(Date.now() - 150_000) });
    expect((await raw(url, 'GET', target, late)).status).toBe(200);
  });

  test('a token is good for one request: replayed, 401 AUTH_REPLAYED — also after the fund restarts', async () => {
    const { dir, server, url } = await fund();
    const target = `/v1/pharmacies/${P1}/chain`;
    const h = await headersFor(signer(1), 'GET', target);
    expect((await raw(url, 'GET', target, h)).status).toBe(200);
    const again = await raw(url, 'GET', target, h);
    expect([again.status, json(again).error?.code]).toEqual([401, 'AUTH_REPLAYED']);
    await server.close();
    const { url: url2 } = await fund(dir);
    expect(json(await raw(url2, 'GET', target, h)).error?.code).toBe('AUTH_REPLAYED');
  });

  test('a token is for one method, path and body', async () => {
    const { url } = await fund();
    const chain = `/v1/pharmacies/${P1}/chain`;
    const h = await headersFor(signer(1), 'GET', chain);
    expect(json(await raw(url, 'GET', `v1/pharmacies/${P1}/batches?from=1`, h)).error?.code).toBe('AUTH_WRONG_REQUEST');
    const list = await headersFor(signer(1), 'GET', `/v1/pharmacies/${P1}/batches?from=1`);
    expect(json(await raw(url, 'GET', `v1/pharmacies/${P1}/batches?from=2`, list)).error?.code).toBe('AUTH_WRONG_REQUEST');
    const post = await headersFor(signer(1), 'POST', '/v1/batches', { body: Buffer.from('{"a":1}') });
    const r = await raw(
      url,
      'POST',
      'v1/batches',
      { ...post, 'content-type': 'application/json', 'idempotency-key': 'x'.repeat(16) },
      Buffer.from('{"a":2}'),
    );
    expect([r.status, json(r).error?.code]).toEqual([401, 'AUTH_BODY_MISMATCH']);
    // A GET whose token claims a body.
    expect(json(await raw(url, 'GET', chain, await forged(signer(1), { bodySha256: sha256b64u(Buffer.from('{}')) }))).error?.code).toBe(
      'AUTH_BODY_MISMATCH',
    );
  });

  test('signatures and certificates: bad signature, another key, untrusted CA, the fund’s own key', async () => {
    const { url } = await fund();
    const target = `/v1/pharmacies/${P1}/chain`;
    const h = await headersFor(signer(1), 'GET', target);
    const sig = h.authorization!.slice(-20);
    const flipped = h.authorization!.slice(0, -20) + (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(json(await raw(url, 'GET', target, { ...h, authorization: flipped })).error?.code).toBe('AUTH_BAD_SIGNATURE');
    // Pharmacy 2's certificate with pharmacy 1's token: the token names another key.
    expect(json(await raw(url, 'GET', target, { ...h, 'chifa-certificate': signer(2).certificate.toString('base64') })).error?.code).toBe(
      'AUTH_BAD_SIGNATURE',
    );
    // Same pharmacy id, certificate from a CA the fund does not trust.
    const rogue = await headersFor(rogueSigner(), 'GET', target);
    const r = await raw(url, 'GET', target, rogue);
    expect([r.status, json(r).error?.code]).toEqual([401, 'CERT_UNTRUSTED']);
    // The fund's signing certificate (same CA) does not speak for a pharmacy.
    const fundKey = SoftwareSigner.fromFiles(key('fund-signing.key.pem'), key('fund-signing.cert.pem'));
    expect(json(await raw(url, 'GET', target, await forged(fundKey, {}))).error?.code).toBe('CERT_UNTRUSTED');
    // A token claiming another pharmacy than its certificate.
    expect(json(await raw(url, 'GET', target, await forged(signer(2), {}))).error?.code).toBe('AUTH_BAD_SIGNATURE');
  });
});

test("the fund signs only with a key whose certificate carries the fund-signing usage, never a pharmacist's", () => {
  expect(() => new FundServer({ dataDir: path.join(tmpDir('chifa-auth-'), 'fund'), verifyThreads: 0, signer: signer(1) })).toThrow(
    expect.objectContaining({ code: 'bad-fund-signing-cert' }),
  );
});

describe('the fund answers only about the authenticated pharmacy', () => {
  test("another pharmacy's chain, batches, acknowledgements and manifests: 403 FORBIDDEN", async () => {
    const { url, journal } = await withBatches();
    for (const target of [
      `/v1/pharmacies/${P1}/chain`,
      `/v1/pharmacies/${P1}/batches?from=1`,
      `/v1/batches/${P1}/1`,
      `/v1/batches/${P1}/99`,
    ]) {
      const r = await raw(url, 'GET', target.slice(1), await headersFor(signer(2), 'GET', target));
      expect([target, r.status, json(r).error?.code]).toEqual([target, 403, 'FORBIDDEN']);
    }
    // Pharmacy 1 itself is answered.
    const mine = await raw(url, 'GET', `v1/batches/${P1}/1`, await headersFor(signer(1), 'GET', `/v1/batches/${P1}/1`));
    expect(signedPayload(json(mine))).toMatchObject({ pharmacyId: P1, batchId: 1, count: 3 });

    // Pharmacy 2 replays pharmacy 1's upload (to read its acknowledgement): refused for its
    // manifest, under pharmacy 1's key (which, being pharmacy 1's, means nothing for pharmacy 2) or any other.
    const { idempotencyKey, body } = journal.uploadRequest(1);
    const bytes = Buffer.from(JSON.stringify(body));
    const send = async (k: string) =>
      raw(
        url,
        'POST',
        'v1/batches',
        {
          ...(await headersFor(signer(2), 'POST', '/v1/batches', { body: bytes })),
          'content-type': 'application/json',
          'idempotency-key': k,
        },
        bytes,
      );
    for (const k of [idempotencyKey, 'another-key-0000000001']) {
      const r = await send(k);
      expect([r.status, json(r).error?.code]).toEqual([403, 'FORBIDDEN']);
    }
    // A new batch of pharmacy 1 sent by pharmacy 2.
    await journal.appendMany([sampleDraft(100)]);
    await journal.closeOpenBatch();
    const next = journal.uploadRequest(3);
    const nb = Buffer.from(JSON.stringify(next.body));
    const r = await raw(
      url,
      'POST',
      'v1/batches',
      {
        ...(await headersFor(signer(2), 'POST', '/v1/batches', { body: nb })),
        'content-type': 'application/json',
        'idempotency-key': next.idempotencyKey,
      },
      nb,
    );
    expect([r.status, json(r).error?.code]).toEqual([403, 'FORBIDDEN']);
  });
});
