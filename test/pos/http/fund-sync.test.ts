import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { BlacklistStore } from '../../../src/sync/downlink/blacklist';
import { FundServer } from '../../../src/fund/server';
import { captureLogger, NOW, tmpDir, THREE_LINES } from '../counter/harness';

/**
 * `--fund URL`: the counter talks to the reference fund server (src/sync, in-process on loopback):
 * it fetches the blacklist, so a frozen card gets no third-party payment, and uploads closed
 * batches, which the fund verifies and acknowledges — every request signed by the professional
 * card, every answer checked against the (TEST ONLY, loopback default) fund CA. Also the blacklist read from the downlink
 * store without a fund.
 */

const SERIAL = 'CH2-2024-000001'; // the demo card

test('blacklist from the fund, then batches uploaded and acknowledged', async () => {
  const dir = tmpDir('chifa-fund-');
  const fundDir = path.join(dir, 'fund');
  fs.mkdirSync(path.join(fundDir, 'downlink'), { recursive: true });
  fs.writeFileSync(
    path.join(fundDir, 'downlink', 'blacklist.json'),
    JSON.stringify({ version: 't1', cards: [{ cardSerial: SERIAL, since: '2025-06-01', reason: 'test' }] }),
  );
  const fund = new FundServer({ dataDir: fundDir, verifyThreads: 0, now: () => NOW });
  const url = await fund.listen();
  const { logger } = captureLogger();
  const dataDir = path.join(dir, 'counter');
  const station = EmulatedStation.openDemo(dataDir);
  let counter: RunningCounter | undefined;
  try {
    counter = await startCounter({
      dataDir,
      port: 0,
      logger,
      station,
      now: () => NOW,
      fund: url,
      syncIntervalMs: 3_600_000,
      batch: { maxCount: 1 },
    });
    await counter.sync!.runNow();
    expect(counter.sync!.lastRun).toMatchObject({ error: null });
    const service = counter.service;
    await service.verifyProfessionalPin('0000');
    await service.openCard();
    await service.verifyPin('1234');
    const q = await service.quote(THREE_LINES);
    expect(q.quote).toMatchObject({ reason: 'card-blacklisted', fund: 0, thirdPartyPayment: false });

    // Each invoice closes its batch (maxCount 1); the next pass uploads it.
    const out = await service.checkout(THREE_LINES);
    expect(out.cardWrite.state).toBe('done');
    // The fund authenticates every request with the professional card: without it, nothing goes.
    station.cards.professional.remove();
    await counter.sync!.runNow();
    expect(counter.sync!.lastRun!.error).toMatch(/^no-credentials: /);
    expect(service.backlog()).toMatchObject({ unsentBatches: 1 });
    station.cards.professional.insert();
    await service.verifyProfessionalPin('0000');
    await counter.sync!.runNow();
    expect(counter.sync!.lastRun).toMatchObject({ error: null });
    expect(service.backlog()).toMatchObject({ invoices: 1, unsentBatches: 0 });
    expect(service.backlog().acknowledgedBatches + service.backlog().settledBatches).toBe(1);
    expect(service.rejected()).toEqual([]);
  } finally {
    await counter?.close();
    await fund.close();
  }
});

test('without a fund, the blacklist already in DATA/downlink.sqlite applies', async () => {
  const dir = tmpDir('chifa-bl-');
  const store = BlacklistStore.open(dir);
  store.apply(JSON.stringify({ cards: [{ cardSerial: SERIAL }] }), '"v1"');
  store.close();
  const { logger } = captureLogger();
  const counter = await startCounter({ dataDir: dir, port: 0, logger, demo: true, now: () => NOW });
  try {
    await counter.service.openCard();
    await counter.service.verifyPin('1234');
    expect((await counter.service.quote(THREE_LINES)).quote.reason).toBe('card-blacklisted');
  } finally {
    await counter.close();
  }
});
