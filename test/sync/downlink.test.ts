import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CatalogueStore } from '../../src/billing/catalogue/store';
import { importCatalogue } from '../../src/billing/catalogue/import';
import { loadRules } from '../../src/billing/rules/load';
import { computeSplit } from '../../src/billing/split';
import { BlacklistStore } from '../../src/sync/downlink/blacklist';
import { DownlinkStore, refreshDownlink } from '../../src/sync/downlink/client';
import { parseFaults } from '../../src/fund/faults';
import { FundServer } from '../../src/fund/server';
import { draftFromSplit } from '../../src/sync/invoice';
import { Journal } from '../../src/sync/journal/journal';
import { Uploader } from '../../src/sync/uploader';
import { onCleanup, pharmacyEndpoint, signer, tmpDir } from './helpers';

describe('downlink', () => {
  test('fetched with ETags, applied atomically; the counter refuses third-party payment for a blacklisted card and the fund agrees', async () => {
    const dir = tmpDir();
    const fundDir = path.join(dir, 'fund');
    fs.mkdirSync(path.join(fundDir, 'downlink'), { recursive: true });
    const blFile = path.join(fundDir, 'downlink', 'blacklist.json');
    fs.writeFileSync(blFile, JSON.stringify({ version: 'v1', cards: [{ cardSerial: 'C100001', reason: 'fraud' }] }));
    const fund = onCleanup(new FundServer({ dataDir: fundDir, verifyThreads: 0, downlinkRecheckMs: 0 }));
    const url = await fund.listen();
    const ep = pharmacyEndpoint(url);
    const terminal = path.join(dir, 'terminal');
    const store = onCleanup(DownlinkStore.open(terminal));
    const catalogue = new CatalogueStore(new Database(':memory:'));
    const applyCatalogue = (csv: Uint8Array): void => void importCatalogue(catalogue, csv);

    let r = await refreshDownlink(ep, store, { applyCatalogue });
    expect(r.map((x) => [x.name, x.status])).toEqual([
      ['blacklist', 'updated'],
      ['catalogue', 'updated'],
      ['rules', 'updated'],
    ]);
    expect(catalogue.count()).toBeGreaterThan(10);
    expect(store.ruleBook()!.versions.map((v) => v.version)).toEqual(loadRules().versions.map((v) => v.version));
    const bl = onCleanup(BlacklistStore.open(terminal));
    expect(bl.isBlacklisted('C100001')).toBe(true);
    expect(bl.isBlacklisted('C100002')).toBe(false);

    r = await refreshDownlink(ep, store, { applyCatalogue });
    expect(r.map((x) => x.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);

    // A new version replaces the old one entirely.
    fs.writeFileSync(blFile, JSON.stringify({ cards: [{ cardSerial: 'C100002', since: '2024-03-01' }] }));
    r = await refreshDownlink(ep, store, { names: ['blacklist'] });
    expect(r[0]!.status).toBe('updated');
    expect(bl.isBlacklisted('C100001')).toBe(false);
    expect(bl.isBlacklisted('C100002', '2024-02-29')).toBe(false);
    expect(bl.isBlacklisted('C100002', '2024-03-15')).toBe(true);

    // A document that does not validate is not applied: the previous list stays in force.
    const before = bl.etag();
    expect(() => store.apply('blacklist', Buffer.from('{"cards":[{"cardSerial":""}]}'), '"x"')).toThrow(/cardSerial/);
    expect(() => store.apply('blacklist', Buffer.from('{"cards":[{"cardSeri'), '"y"')).toThrow(/not JSON/);
    expect(() => store.apply('rules', Buffer.from('{"versions":[{"version":"x"}]}'), '"z"')).toThrow();
    expect(bl.etag()).toBe(before);
    expect(bl.isBlacklisted('C100002', '2024-03-15')).toBe(true);
    expect(store.ruleBook()).not.toBeNull();

    // Counter: the blacklist answer goes into the split context; the fund recomputes the same.
    const rules = loadRules();
    const basket = {
      date: '2024-03-15',
      lines: [{ code: 'A', quantity: 1, unitPrice: 10000, referencePrice: 8000, reimbursable: true, priorApproval: false }],
    };
    const context = { category: 'ordinary' as const, blacklisted: bl.isBlacklisted('C100002', basket.date) };
    const split = computeSplit(basket, rules, context);
    expect(split).toMatchObject({ fund: 0, thirdPartyPayment: false, reason: 'card-blacklisted' });
    const journal = onCleanup(Journal.open(path.join(terminal, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 1 } }));
    await journal.append(draftFromSplit({ split, basket, context, fund: 'CNAS', beneficiary: { cardSerial: 'C100002', rank: 1 } }));
    await journal.whenIdle();
    const s = await new Uploader(journal, { fund: ep }).runOnce();
    expect(s).toMatchObject({ accepted: 1, rejected: 0 });

    bl.close();
    store.close();
    await journal.close();
    await fund.close();
  });

  test('a temporary blacklist entry refuses the days from since through until, at the counter and at the fund', async () => {
    const dir = tmpDir();
    const fundDir = path.join(dir, 'fund');
    fs.mkdirSync(path.join(fundDir, 'downlink'), { recursive: true });
    fs.writeFileSync(
      path.join(fundDir, 'downlink', 'blacklist.json'),
      JSON.stringify({ cards: [{ cardSerial: 'C200001', since: '2024-03-01', until: '2024-03-31', reason: 'frozen during an inquiry' }] }),
    );
    const fund = onCleanup(new FundServer({ dataDir: fundDir, verifyThreads: 0, downlinkRecheckMs: 0 }));
    const ep = pharmacyEndpoint(await fund.listen());
    const terminal = path.join(dir, 'terminal');
    const store = onCleanup(DownlinkStore.open(terminal));
    expect((await refreshDownlink(ep, store, { names: ['blacklist'] }))[0]!.status).toBe('updated');
    const bl = store.blacklist;
    const days: [string, boolean][] = [
      ['2024-02-29', false],
      ['2024-03-01', true],
      ['2024-03-31', true],
      ['2024-04-01', false],
    ];
    for (const [date, refused] of days) expect([date, bl.isBlacklisted('C200001', date)]).toEqual([date, refused]);

    // Each day's invoice, priced with the counter's answer, is accepted by the fund: it agrees on every side of the freeze.
    const rules = loadRules();
    const journal = onCleanup(Journal.open(path.join(terminal, 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 4 } }));
    for (const [date] of days) {
      const basket = { date, lines: [{ code: 'A', quantity: 1, unitPrice: 10000, reimbursable: true, priorApproval: false }] };
      const context = { category: 'ordinary', blacklisted: bl.isBlacklisted('C200001', date) };
      const split = computeSplit(basket, rules, context);
      expect(split.reason).toBe(context.blacklisted ? 'card-blacklisted' : null);
      await journal.append(draftFromSplit({ split, basket, context, fund: 'CNAS', beneficiary: { cardSerial: 'C200001', rank: 1 } }));
    }
    await journal.whenIdle();
    expect(await new Uploader(journal, { fund: ep }).runOnce()).toMatchObject({ accepted: 4, rejected: 0 });

    expect(() =>
      store.apply('blacklist', Buffer.from('{"cards":[{"cardSerial":"X","since":"2024-03-02","until":"2024-03-01"}]}'), '"b"'),
    ).toThrow(/until is before since/);
  });

  test('a blacklist database from before temporary entries gets the column; its entries stay permanent', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'downlink.sqlite');
    const old = new Database(file);
    old.exec('CREATE TABLE blacklist (card_serial TEXT PRIMARY KEY, since TEXT, reason TEXT) STRICT, WITHOUT ROWID');
    old.prepare('INSERT INTO blacklist VALUES (?, ?, ?)').run('C1', '2024-01-01', 'old');
    old.close();
    const bl = onCleanup(BlacklistStore.open(dir));
    expect(bl.isBlacklisted('C1', '2030-01-01')).toBe(true);
    expect(bl.isBlacklisted('C1', '2023-12-31')).toBe(false);
  });

  test('retried through 5xx and dropped connections', async () => {
    const dir = tmpDir();
    const fund = onCleanup(
      new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 0, faults: parseFaults('5xx=0.4,drop=0.2,seed=5') }),
    );
    const ep = pharmacyEndpoint(await fund.listen());
    const store = onCleanup(DownlinkStore.open(path.join(dir, 'terminal')));
    const r = await refreshDownlink(ep, store, { attempts: 12 });
    expect(r.map((x) => x.status)).toEqual(['updated', 'updated', 'updated']);
  });
});
