import { AssertionError } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CatalogueStore, computeSplit, loadRules, type Basket, type SplitContext } from '../../src/billing';
import { ChifaError } from '../../src/card';
import { draftFromSplit, fundEndpoint, Journal, Uploader, type InvoiceDraft } from '../../src/sync';
import { startFund, stopAll, testKeys, testSigner } from '../../src/testing';

/** startFund: a real reference fund on a free port, a real journal and uploader, through the public entries. */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-kit-fund-'));
});
afterEach(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

function drafts(n: number): InvoiceDraft[] {
  const catalogue = CatalogueStore.open(dir);
  const p = catalogue.get('N02BE01-01')!;
  catalogue.close();
  const rules = loadRules();
  return Array.from({ length: n }, (_, i) => {
    const basket: Basket = {
      date: '2025-06-01',
      lines: [
        {
          code: p.code,
          quantity: 1 + i,
          unitPrice: p.unitPrice,
          referencePrice: p.referencePrice,
          reimbursable: p.reimbursable,
          priorApproval: p.priorApproval,
        },
      ],
    };
    const context: SplitContext = { category: 'ordinary', rightsEnd: '2030-12-31', cardExpiry: '2034-01-14' };
    const split = computeSplit(basket, rules, context);
    return draftFromSplit({ split, basket, context, fund: 'CNAS', beneficiary: { cardSerial: 'CH2-2024-000001', rank: 1 } });
  });
}

async function journalWith(n: number): Promise<Journal> {
  const journal = Journal.open(path.join(dir, 'journal.sqlite'), { signer: testSigner('pharmacy-1') });
  await journal.appendMany(drafts(n));
  await journal.closeOpenBatch();
  return journal;
}

/** What keeps a process alive (sockets, servers, timers, workers), by kind, with counts. */
function activeHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** No kind of handle has more instances than before (jest's own timers come and go). */
function expectNoMoreHandles(before: Record<string, number>): void {
  const after = activeHandles();
  const grown = Object.keys(after).filter((k) => after[k]! > (before[k] ?? 0));
  expect(grown.map((k) => `${k}: ${before[k] ?? 0} -> ${after[k]}`)).toEqual([]);
}

describe('startFund', () => {
  it('a round trip: the uploader sends a batch, the audit proves it stored once, stop() leaves nothing', async () => {
    const before = activeHandles();
    const fund = await startFund();
    expect(fund.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const journal = await journalWith(3);
    const endpoint = fundEndpoint(fund.url, fund.client(testSigner('pharmacy-1')));
    const summary = await new Uploader(journal, { fund: endpoint }).runOnce();
    expect(summary).toMatchObject({ batches: 1, invoices: 3, accepted: 3, rejected: 0, error: null });
    const audit = fund.expectAudit({ invoices: 3, accepted: 3, batches: 1, pharmacies: 1 });
    expect(audit.pharmacies[0]).toMatchObject({ pharmacyId: testKeys.pharmacy('pharmacy-1').pharmacyId, chainComplete: true });
    endpoint.agent.destroy();
    await journal.close();
    const data = fund.dataDir;
    await fund.stop();
    expect(fs.existsSync(data)).toBe(false);
    // Closed handles leave the list once the event loop has run its close callbacks.
    await new Promise((r) => setTimeout(r, 50));
    expectNoMoreHandles(before);
  });

  it('with faults the uploader retries until everything is stored exactly once', async () => {
    const fund = await startFund({ faults: '5xx=0.4,drop-after=0.3,seed=11' });
    const journal = Journal.open(path.join(dir, 'journal.sqlite'), { signer: testSigner(), batch: { maxCount: 2 } });
    await journal.appendMany(drafts(5));
    await journal.closeOpenBatch();
    const uploader = new Uploader(journal, { ...fund.client(testSigner()), retry: { baseMs: 1, maxMs: 5 } });
    const summary = await uploader.runOnce();
    expect(summary.error).toBeNull();
    expect(summary.retries).toBeGreaterThan(0);
    fund.expectAudit({ invoices: 5, accepted: 5, batches: 3 });
    uploader.endpoint.agent.destroy();
    await journal.close();
  });

  it('expectAudit fails with an AssertionError naming what differs', async () => {
    const fund = await startFund({ faults: { serverError: 0 } });
    let caught: unknown;
    try {
      fund.expectAudit({ invoices: 2 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AssertionError);
    expect((caught as Error).message).toMatch(/invoices: expected 2, the store holds 0/);
    expect(fund.audit().ok).toBe(true);
  });

  it('over HTTPS with the test TLS certificate; a bad fault spec is a typed error', async () => {
    const fund = await startFund({ tls: true, dataDir: path.join(dir, 'fund') });
    expect(fund.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const journal = await journalWith(1);
    const client = fund.client(testSigner());
    expect(client.ca).toEqual(fund.ca);
    const uploader = new Uploader(journal, client);
    expect((await uploader.runOnce()).accepted).toBe(1);
    uploader.endpoint.agent.destroy();
    await journal.close();
    await fund.stop();
    expect(fs.existsSync(path.join(dir, 'fund', 'fund.sqlite'))).toBe(true); // a given dataDir is kept
    await expect(startFund({ faults: 'explode=1' })).rejects.toBeInstanceOf(ChifaError);
    await expect(startFund({ faults: 'explode=1' })).rejects.toMatchObject({ code: 'bad-fault-spec' });
  });
});
