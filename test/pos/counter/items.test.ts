import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRuleFile, RuleBook } from '../../../src/billing/rules/load';
import { assessInvoice } from '../../../src/fund/checks';
import { FundServer } from '../../../src/fund/server';
import { dispensingFingerprint } from '../../../src/sync/invoice';
import { buildReceipt } from '../../../src/pos/counter/receipt';
import { DownlinkStore, refreshDownlink } from '../../../src/sync/downlink/client';
import { FundVerifier } from '../../../src/sync/fund-verifier';
import { fundEndpoint } from '../../../src/sync/http';
import { RequestAuthenticator } from '../../../src/sync/request-auth';
import { SoftwareSigner } from '../../../src/sync/signer';
import { Uploader } from '../../../src/sync/uploader';
import { basket, DEMO_PIN, NOW, openHarness, PRO_PIN, tmpDir, type Harness } from './harness';

/**
 * Amount items and the fund's downlink: a rules version with a 5 DA per-invoice fee, sent down by
 * the fund, prices the counter's next quote; the fee is a line of its own on the invoice and the
 * receipt; the fund, pricing with the same rules, accepts the invoice — and the fund's check with
 * the fee at 0 in the same rule version rejects it, naming the item.
 */

const ROOT = path.resolve(__dirname, '../../..');
const key = (n: string) => path.join(ROOT, 'fixtures/keys', n);
const clock = () => NOW;

function rulesWithFee(): string {
  const dir = tmpDir('chifa-rules-');
  for (const f of ['2023-01-01.json', '2023-12-19.json']) {
    const r = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/rules', f), 'utf8'));
    if (f === '2023-12-19.json') {
      r.version = 'tp-2023-12-19-fee';
      for (const it of r.amountItems) if (it.id === 'invoice-fee') it.amountCentimes = 500;
    }
    fs.writeFileSync(path.join(dir, f), JSON.stringify(r));
  }
  return dir;
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

function endpoint(url: string) {
  return fundEndpoint(url, {
    auth: new RequestAuthenticator(SoftwareSigner.fromFiles(key('pharmacy-1.key.pem'), key('pharmacy-1.cert.pem')), { now: clock }),
    verifier: FundVerifier.fromFiles([key('fund-ca.pem')], { now: clock }),
  });
}

test('a fee sent down by the fund: priced, shown on its own line of the invoice and the receipt, accepted by the fund', async () => {
  const rulesDir = rulesWithFee();
  const fund = new FundServer({ dataDir: tmpDir('chifa-fund-'), verifyThreads: 0, now: clock, rulesDir, downlinkRecheckMs: 0 });
  opened.push(fund);
  const url = await fund.listen();
  const terminal = tmpDir('chifa-terminal-');
  const downlink = DownlinkStore.open(terminal);
  opened.push(downlink);
  const r = await refreshDownlink(endpoint(url), downlink, { names: ['rules'] });
  expect(r[0]!.status).toBe('updated');
  const rules = downlink.ruleBook()!;
  expect(rules.rulesFor('2025-06-15').amountItems.find((i) => i.id === 'invoice-fee')).toMatchObject({ amountCentimes: 500 });

  const h: Harness = await openHarness(terminal, { rules, batch: { maxCount: 1 } });
  opened.push(h);
  expect((await h.service.verifyProfessionalPin(PRO_PIN)).result).toBe('ok');
  await h.service.openCard();
  expect((await h.service.verifyPin(DEMO_PIN)).result).toBe('ok');
  const order = basket([['N02BE01-01', 2, 5]]);
  const q = await h.service.quote(order);
  expect(q.quote).toMatchObject({ ruleVersion: 'tp-2023-12-19-fee', total: 10900, fund: 7700, patient: 3200 });
  expect(q.quote.items.find((i) => i.id === 'invoice-fee')).toMatchObject({ amount: 500, fund: 500, label: { fr: 'Frais par facture' } });

  const out = await h.service.checkout(order);
  const inv = h.journal.invoice(out.invoice.number)!;
  expect(inv.document.items).toEqual([{ id: 'invoice-fee', label: 'Frais par facture', amount: 500, fund: 500, patient: 0 }]);
  const receipt = buildReceipt({
    document: inv.document,
    hash: inv.hash,
    cardWrite: null,
    creditNote: null,
    ack: null,
    pharmacy: null,
    rules,
  });
  expect(receipt.categoryLabel).toEqual({ fr: 'Assuré ordinaire', ar: 'مؤمن له عادي' });
  expect(receipt.items).toEqual([{ id: 'invoice-fee', label: 'Frais par facture', amount: 500, fund: 500, patient: 0 }]);
  expect(receipt.totals).toEqual({ total: 10900, base: 9000, fund: 7700, patient: 3200 });
  expect(await new Uploader(h.journal.syncJournal, { fund: endpoint(url) }).runOnce()).toMatchObject({ accepted: 1, rejected: 0 });

  // The fund's own check, with the same rule version but the fee at 0: the invoice is rejected, naming the item.
  const zero = new RuleBook(rules.versions.map((v) => parseRuleFile(JSON.stringify(withFee(0, rulesDir, v.version)), v.source)));
  const verdict = assessInvoice(inv.document, dispensingFingerprint(inv.document), {
    rules: zero,
    isBlacklisted: () => false,
    lookup: () => undefined,
    credited: () => ({ total: 0, fund: 0 }),
    correctedBy: () => undefined,
    isDuplicate: () => false,
  });
  expect(verdict).toMatchObject({ status: 'rejected', code: 'SPLIT_MISMATCH' });
  expect(verdict.reason).toContain('items: the invoice has 1 non-zero amount items, the fund computes 0');
});

/** The rules file of `version` in `dir`, its per-invoice fee set to `fee`. */
function withFee(fee: number, dir: string, version: string): unknown {
  for (const f of fs.readdirSync(dir)) {
    const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    if (r.version !== version) continue;
    for (const it of r.amountItems) if (it.id === 'invoice-fee') it.amountCentimes = fee;
    return r;
  }
  throw new Error(version);
}
