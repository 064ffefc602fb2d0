import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeSplit, loadRules } from '../../src/billing';
import { ChifaError } from '../../src/card';
import { auditFundStore, defaultFundCa, FaultSpecError, FundServer, parseFaults } from '../../src/fund';
import {
  BlacklistStore,
  certificateThumbprint,
  CertificateError,
  checkDraft,
  DownlinkStore,
  draftFromSplit,
  fundEndpoint,
  FundVerifier,
  InvalidInvoiceError,
  Journal,
  JournalError,
  refreshDownlink,
  RequestAuthenticator,
  SoftwareSigner,
  SyncError,
  TrustStore,
  Uploader,
  verifyJournal,
  type InvoiceDraft,
} from '../../src/sync';
import { blacklistedSerials, startFund, stopAll, testFundVerifier, testKeys, testSigner } from '../../src/testing';

/** chifa-terminal/sync and chifa-terminal/fund from a vendor's side: journal, signer, upload, downlink, and their errors. */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-pkg-sync-'));
});
afterEach(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

function draft(quantity = 1): InvoiceDraft {
  const basket = {
    date: '2025-06-01',
    lines: [{ code: 'N02BE01-01', quantity, unitPrice: 5200, referencePrice: 4500, reimbursable: true, priorApproval: false }],
  };
  const context = { category: 'ordinary' as const, rightsEnd: '2030-12-31' };
  return draftFromSplit({
    split: computeSplit(basket, loadRules(), context),
    basket,
    context,
    fund: 'CNAS',
    beneficiary: { cardSerial: 'CH2-2024-000001', rank: 1 },
  });
}

describe('journal, signer, verification', () => {
  it('signs and chains invoices; verifyJournal rechecks them from the file', async () => {
    const signer = testSigner('pharmacy-2');
    expect(signer.keyId).toBe(certificateThumbprint(signer.certificate));
    expect(signer.keyId).toBe(createHash('sha256').update(signer.certificate).digest('base64url'));
    const file = path.join(dir, 'journal.sqlite');
    const journal = Journal.open(file, { signer });
    const [a, b] = await journal.appendMany([draft(1), draft(2)]);
    expect([a!.number, b!.number]).toEqual([1, 2]);
    expect(journal.pharmacyId()).toBe(testKeys.pharmacy('pharmacy-2').pharmacyId);
    await journal.close();
    expect(verifyJournal(file)).toMatchObject({ ok: true, invoices: 2, firstBreak: null });
  });

  it('the journal never signs with a certificate the fund would refuse (trust: the fund CA)', async () => {
    const rogue = SoftwareSigner.fromFiles(
      path.join(path.dirname(testKeys.fundCa), 'rogue-pharmacy.key.pem'),
      path.join(path.dirname(testKeys.fundCa), 'rogue-pharmacy.cert.pem'),
    );
    const journal = Journal.open(path.join(dir, 'rogue.sqlite'), { signer: rogue, trust: TrustStore.fromFiles([defaultFundCa()]) });
    const err = await journal.append(draft()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChifaError);
    expect((err as Error).message).toMatch(/fund/i);
    expect(journal.tip().number).toBe(0);
    await journal.close();
  });

  it('bad drafts, bad certificates, bad settings: typed errors naming what is wrong', async () => {
    const bad = (() => {
      try {
        checkDraft({ ...draft(), totals: { total: 1, base: 1, fund: 1, patient: 0 } });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(InvalidInvoiceError);
    expect(bad).toBeInstanceOf(SyncError);
    expect(() => SoftwareSigner.fromPem(fs.readFileSync(testKeys.pharmacy('pharmacy-1').key), 'not a certificate')).toThrow(
      CertificateError,
    );
    expect(() => Journal.open(path.join(dir, 'j.sqlite'), { batch: { maxCount: 0 } })).toThrow(JournalError);
    expect(() => fundEndpoint('http://192.0.2.1:8090')).toThrow(SyncError); // plain HTTP off loopback
    expect(() => fundEndpoint('http://192.0.2.1:8090')).toThrow(/only allowed to a loopback address/);
  });
});

describe('upload and downlink against the reference fund', () => {
  it('FundServer, Uploader, auditFundStore', async () => {
    const fundDir = path.join(dir, 'fund');
    expect(auditFundStore(fundDir)).toMatchObject({ ok: false, problems: [expect.stringMatching(/does not exist/)] });
    expect(fs.existsSync(defaultFundCa())).toBe(true);
    const server = new FundServer({ dataDir: fundDir, verifyThreads: 0, faults: parseFaults('latency=1:1-2,seed=3') });
    const url = await server.listen();
    const journal = Journal.open(path.join(dir, 'journal.sqlite'), { signer: testSigner() });
    await journal.append(draft());
    await journal.closeOpenBatch();
    // Every request is signed with the pharmacy's key; every answer is checked against the fund CA.
    const uploader = new Uploader(journal, {
      fund: url,
      auth: new RequestAuthenticator(testSigner()),
      verifier: FundVerifier.fromFiles([defaultFundCa()]),
    });
    expect(await uploader.runOnce()).toMatchObject({ accepted: 1, error: null });
    uploader.endpoint.agent.destroy();
    await journal.close();
    await server.close();
    expect(auditFundStore(fundDir)).toMatchObject({
      ok: true,
      pharmacies: [expect.objectContaining({ invoices: 1, chainComplete: true })],
    });
    expect(() => parseFaults('drop=2')).toThrow(FaultSpecError);
    expect(() => parseFaults('drop=2')).toThrow(ChifaError);
  });

  it('refreshDownlink stores the blacklist and rules the fund publishes; BlacklistStore answers', async () => {
    const fund = await startFund();
    const store = DownlinkStore.open(dir);
    const endpoint = fundEndpoint(fund.url, { auth: new RequestAuthenticator(testSigner()), verifier: testFundVerifier() });
    const results = await refreshDownlink(endpoint, store);
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['blacklist', 'updated'],
      ['catalogue', 'updated'],
      ['rules', 'updated'],
    ]);
    expect((await refreshDownlink(endpoint, store, { names: ['rules'] }))[0]!.status).toBe('unchanged');
    expect(store.blacklist.isBlacklisted(blacklistedSerials()[0]!)).toBe(true);
    expect(store.ruleBook()?.rulesFor('2025-06-01').version).toBeDefined();
    store.close();
    endpoint.agent.destroy();
    const blacklist = BlacklistStore.open(dir);
    expect(blacklist.count()).toBe(blacklistedSerials().length);
    expect(blacklist.isBlacklisted('CH2-2024-000001')).toBe(false);
    blacklist.close();
  });
});
