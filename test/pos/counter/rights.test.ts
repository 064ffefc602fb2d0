import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { ChifaCard } from '../../../src/card/chifa';
import { InProcessTransport } from '../../../src/emulator/in-process-transport';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { FundServer } from '../../../src/fund/server';
import { FundRightsSource } from '../../../src/pos/counter/rights-source';
import { FundVerifier } from '../../../src/sync/fund-verifier';
import { fundEndpoint } from '../../../src/sync/http';
import { SoftwareSigner, type Signer } from '../../../src/sync/signer';
import { Uploader } from '../../../src/sync/uploader';
import { RequestAuthenticator } from '../../../src/sync/request-auth';
import { basket, DEMO_PIN, NOW, openHarness, PRO_PIN, tmpDir, type Harness } from './harness';

/**
 * An expired card at the counter (docs/counter.md, "Expired cards"): with a fund, the counter
 * fetches the card's current rights, verifies the fund's signature, writes them to the card — which
 * verifies them again — and prices with what the card then holds; the invoice that follows is
 * accepted by the fund. Without a fund, or when the fund cannot be reached or does not sign with
 * its key, the card is served without third-party payment and the counter says why.
 */

const ROOT = path.resolve(__dirname, '../../..');
const EXPIRED = path.join(ROOT, 'fixtures/cards/expired.json');
const key = (n: string) => path.join(ROOT, 'fixtures/keys', n);
const clock = () => NOW;

const opened: { close(): Promise<unknown> | unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function startFund(options: { signer?: Signer; now?: () => Date } = {}): Promise<{ url: string; server: FundServer }> {
  const server = new FundServer({
    dataDir: tmpDir('chifa-fund-'),
    verifyThreads: 0,
    now: options.now ?? clock,
    ...(options.signer ? { signer: options.signer } : {}),
  });
  opened.push(server);
  return { url: await server.listen(), server };
}

function source(url: string, now = clock): FundRightsSource {
  return new FundRightsSource(fundEndpoint(url, { verifier: FundVerifier.fromFiles([key('fund-ca.pem')], { now }), timeoutMs: 2000 }), now);
}

async function counter(options: { rights?: FundRightsSource; cardClock?: () => Date; now?: () => Date } = {}): Promise<Harness> {
  const h = await openHarness(tmpDir(), {
    insuredImage: EXPIRED,
    cardClock: options.cardClock ?? clock,
    ...(options.now ? { now: options.now } : {}),
    ...(options.rights ? { rights: options.rights } : {}),
    batch: { maxCount: 1 },
  });
  opened.push(h);
  // The pharmacist's card first: the fund is asked with it.
  expect((await h.service.verifyProfessionalPin(PRO_PIN)).result).toBe('ok');
  await h.service.openCard();
  return h;
}

/** EF.RIGHTS of the card as the card itself holds it now (a copy of its memory, read with the SDK). */
async function cardRights(card: VirtualCard) {
  const c = await ChifaCard.open(new InProcessTransport(new VirtualCard(card.snapshot(), { clock })));
  expect((await c.verifyPin(DEMO_PIN)).kind).toBe('ok');
  return c.readRights();
}

const ONE_LINE = basket([['N02BE01-01', 2, 5]]);

test('an expired card with a fund: rights fetched, verified, written to the card, priced with; the fund accepts the invoice', async () => {
  const { url } = await startFund();
  const h = await counter({ rights: source(url) });
  expect(await cardRights(h.insured)).toMatchObject({ rightsEnd: '2024-02-29', sequence: 0 });

  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'updated', code: null, sequence: 1 });
  expect(v.card.rights).toMatchObject({ rightsEnd: '2030-12-31', cardValidUntil: '2030-12-31', sequence: 1, issuedOn: '2025-06-15' });
  expect(v.card.rights).toMatchObject({ category: 'ordinary', categoryLabel: { fr: 'Assuré ordinaire', ar: 'مؤمن له عادي' } });
  // On the card itself, not only in the counter's memory.
  expect(await cardRights(h.insured)).toMatchObject({ rightsEnd: '2030-12-31', cardValidUntil: '2030-12-31', sequence: 1 });

  const q = await h.service.quote(ONE_LINE);
  expect(q.quote).toMatchObject({ thirdPartyPayment: true, reason: null, fund: 7200 });
  expect(q.rights?.status).toBe('updated');

  const out = await h.service.checkout({ ...ONE_LINE, requestId: 'rights-0001' });
  expect(out.cardWrite.state).toBe('done');
  const doc = h.journal.invoice(out.invoice.number)!.document;
  expect(doc.context).toMatchObject({ rightsEnd: '2030-12-31', cardExpiry: '2030-12-31' });
  // The fund recomputes the split from what the invoice says and agrees.
  const ep = fundEndpoint(url, {
    auth: new RequestAuthenticator(SoftwareSigner.fromFiles(key('pharmacy-1.key.pem'), key('pharmacy-1.cert.pem')), { now: clock }),
    verifier: FundVerifier.fromFiles([key('fund-ca.pem')], { now: clock }),
  });
  expect(await new Uploader(h.journal.syncJournal, { fund: ep }).runOnce()).toMatchObject({ accepted: 1, rejected: 0 });
});

test('without a fund the counter says why it cannot serve the card with third-party payment', async () => {
  const h = await counter();
  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'unavailable', code: 'no-fund' });
  const q = await h.service.quote(ONE_LINE);
  expect(q.quote).toMatchObject({ thirdPartyPayment: false, reason: 'card-expired', fund: 0, patient: 10400 });
  expect(q.reasonText).toMatch(/^the card has expired; no fund is configured: the counter cannot ask for the current rights/);
  expect(h.service.status().insured.rights?.code).toBe('no-fund');
  expect(await cardRights(h.insured)).toMatchObject({ sequence: 0, rightsEnd: '2024-02-29' });
});

test('a fund that cannot be reached: refused with the reason; asked again once it is back, the card is updated', async () => {
  const { url, server } = await startFund();
  await server.close(); // the fund is down
  const h = await counter({ rights: source(url) });
  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'failed', code: 'fund-unreachable' });
  const q = await h.service.quote(ONE_LINE);
  expect(q.quote.reason).toBe('card-expired');
  expect(q.reasonText).toContain('the fund cannot be reached');
  expect(await cardRights(h.insured)).toMatchObject({ sequence: 0 });

  // The fund is back on the same address: the pharmacist asks again (POST /api/card/rights).
  const back = new FundServer({ dataDir: tmpDir('chifa-fund-'), verifyThreads: 0, now: clock });
  opened.push(back);
  await back.listen({ port: Number(new URL(url).port) });
  expect(await h.service.refreshRights()).toMatchObject({ status: 'updated', sequence: 1 });
  expect((await h.service.quote(ONE_LINE)).quote.thirdPartyPayment).toBe(true);
  expect(await cardRights(h.insured)).toMatchObject({ sequence: 1 });
});

test("an answer not signed by the fund's key is refused: nothing reaches the card", async () => {
  const fundSigning = SoftwareSigner.fromFiles(key('fund-signing.key.pem'), key('fund-signing.cert.pem'));
  const other = createPrivateKey(fs.readFileSync(key('pharmacy-1.key.pem')));
  const forger: Signer = {
    certificate: fundSigning.certificate,
    keyId: fundSigning.keyId,
    sign: (_d: Buffer, message?: Buffer) => Promise.resolve(cryptoSign('sha256', message!, { key: other, dsaEncoding: 'ieee-p1363' })),
  };
  const { url } = await startFund({ signer: forger });
  const h = await counter({ rights: source(url) });
  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'failed', code: 'bad-fund-signature' });
  expect((await h.service.quote(ONE_LINE)).reasonText).toContain("the answer is not signed by the fund's key");
  expect(await cardRights(h.insured)).toMatchObject({ sequence: 0, rightsEnd: '2024-02-29' });
});

test('the card refuses a document past its validity on its own clock: the counter does not price with rights the card did not take', async () => {
  const { url } = await startFund();
  const later = () => new Date('2025-07-15T10:00:00Z'); // the card's clock a month after the fund signed
  const h = await counter({ rights: source(url), cardClock: later });
  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'failed', code: 'card-refused-rights' });
  expect(v.rights?.message).toContain('not-current');
  expect((await h.service.quote(ONE_LINE)).quote.reason).toBe('card-expired');
});

test("once updated, the same rights are 'current' when they expire again: the fund has nothing newer", async () => {
  const { url } = await startFund();
  const h = await counter({ rights: source(url) });
  expect(((await h.service.verifyPin(DEMO_PIN)) as { rights: { status: string } }).rights.status).toBe('updated');
  await h.close();
  opened.splice(opened.indexOf(h), 1);
  // Years later, the same card (its state) and the same fund registry.
  const when = () => new Date('2031-02-01T10:00:00Z');
  const { url: url2 } = await startFund({ now: when });
  const h2 = await openHarness(h.dir, { insuredImage: EXPIRED, cardClock: when, now: when, rights: source(url2, when) });
  opened.push(h2);
  expect((await h2.service.verifyProfessionalPin(PRO_PIN)).result).toBe('ok');
  await h2.service.openCard();
  const v = await h2.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('PIN');
  expect(v.rights).toMatchObject({ status: 'current', sequence: 1 });
});
