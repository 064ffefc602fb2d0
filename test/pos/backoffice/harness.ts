import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFaults } from '../../../src/fund/faults';
import { FundServer } from '../../../src/fund/server';
import { packageRoot } from '../../../src/common/paths';
import type { BatchJob } from '../../../src/pos/counter/batch-close';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, tmpDir } from '../counter/harness';

/**
 * The back office's test bed: the reference fund (in-process, loopback) told to reject invoice 2
 * and to pay batch 1 short by 12,34 DA, and a counter synchronising with it, over the emulated
 * cards — the chronic patient's family card (fixtures/cards/chronic.json: rank 1 chronic at 100 %,
 * rank 2 retiree, rank 3 ordinary at 80 %) and the pharmacist's card — with a clock the test moves
 * forward, so that the sales spread over several days. Everything goes through the real HTTP API.
 */

export const CHRONIC_PIN = '4321';
export const PRO_PIN = '0000';
export const CHRONIC_CARD = 'CH2-2023-004711';
export const SHORT_PAY = 1234;
export const REJECTED = 2;
export const FAULTS = `reject-invoice=${REJECTED}:PRESCRIPTION_MISSING,short-pay=1:${SHORT_PAY}`;

export interface BackofficeBed {
  dir: string;
  fundDir: string;
  fund: FundServer;
  counter: RunningCounter;
  station: EmulatedStation;
  clock: { now: Date };
  /** Sets the day (at 09:00 UTC) of both clocks. */
  setDay(day: string): void;
  api<T = any>(method: 'GET' | 'POST', p: string, body?: unknown): Promise<{ status: number; json: T; text: string; type: string }>;
  /** A checkout over HTTP; throws unless it was signed (201). */
  checkout(body: Record<string, unknown>): Promise<{ invoice: { number: number; totals: { fund: number; total: number } } }>;
  /**
   * The counter's "Clôturer et transmettre": the open batch closed on the professional card and
   * sent; resolves the job once the fund answered.
   */
  closeAndSend(): Promise<BatchJob>;
  /** Puts the card on the fund's blacklist from `since` (picked up by the counter's next sync). */
  blacklist(since: string): void;
  close(): Promise<void>;
}

export async function openBackofficeBed(options: { faults?: string } = {}): Promise<BackofficeBed> {
  const dir = tmpDir('chifa-backoffice-');
  const fundDir = path.join(dir, 'fund');
  fs.mkdirSync(path.join(fundDir, 'downlink'), { recursive: true });
  const clock = { now: new Date('2025-06-02T09:00:00Z') };
  const now = () => clock.now;
  const fund = new FundServer({
    dataDir: fundDir,
    verifyThreads: 0,
    downlinkRecheckMs: 0,
    faults: parseFaults(options.faults ?? FAULTS),
    now,
  });
  const url = await fund.listen();
  const dataDir = path.join(dir, 'counter');
  const station = EmulatedStation.openDemo(dataDir, {
    insuredImage: path.join(packageRoot(), 'fixtures', 'cards', 'chronic.json'),
    clock: now,
  });
  const counter = await startCounter({
    dataDir,
    port: 0,
    logger: captureLogger().logger,
    station,
    now,
    fund: url,
    syncIntervalMs: 3_600_000,
    batch: { maxCount: 500, maxAgeMs: 365 * 86_400_000 },
  });
  const api = async (method: 'GET' | 'POST', p: string, body?: unknown) => {
    const res = await fetch(`${counter.url}/api${p}`, {
      method,
      headers: {
        Authorization: `Bearer ${counter.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // The bytes as sent (res.text() would drop a byte-order mark).
    const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json: json as any, text, type: res.headers.get('content-type') ?? '' };
  };
  const bed: BackofficeBed = {
    dir,
    fundDir,
    fund,
    counter,
    station,
    clock,
    setDay: (day) => {
      clock.now = new Date(`${day}T09:00:00Z`);
    },
    api,
    checkout: async (body) => {
      const r = await api('POST', '/checkout', body);
      if (r.status !== 201) throw new Error(`checkout refused: ${r.status} ${r.text}`);
      return r.json;
    },
    closeAndSend: async () => {
      let job = (await api('POST', '/batches/close')).json as BatchJob;
      while (job.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        job = (await api('GET', `/batches/jobs/${job.id}`)).json as BatchJob;
      }
      return job;
    },
    blacklist: (since) => {
      fs.writeFileSync(
        path.join(fundDir, 'downlink', 'blacklist.json'),
        JSON.stringify({ cards: [{ cardSerial: CHRONIC_CARD, since, reason: 'test' }] }),
      );
    },
    close: async () => {
      await counter.close();
      await fund.close();
    },
  };
  // Both cards ready: the pharmacist's card unlocked, the patient's PIN verified.
  expectOk(await api('POST', '/professional/verify', { pin: PRO_PIN }));
  expectOk(await api('POST', '/card/open'));
  expectOk(await api('POST', '/card/verify', { pin: CHRONIC_PIN }));
  return bed;
}

function expectOk(r: { status: number; text: string }): void {
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
}

/** A basket line: product, quantity, treatment duration. */
export const line = (code: string, quantity: number, durationDays: number) => ({ code, quantity, durationDays });

/**
 * The sales of the scenario, over five days of June 2025: the chronic patient's treatments
 * (metformin, enalapril, atorvastatin, with durations that run out at different dates), tramadol on
 * a counterfoil prescription, an ordinary beneficiary at 80 %, and infant milk alone (nothing the
 * fund covers: third-party payment refused).
 */
export async function sellScenario(bed: BackofficeBed): Promise<number[]> {
  const numbers: number[] = [];
  const sell = async (day: string, body: Record<string, unknown>) => {
    bed.setDay(day);
    numbers.push((await bed.checkout(body)).invoice.number);
  };
  await sell('2025-06-02', { beneficiary: 1, lines: [line('A10BA02-01', 1, 30), line('C09AA02-01', 1, 20)] });
  await sell('2025-06-03', { beneficiary: 3, lines: [line('N02BE01-01', 2, 5)] });
  await sell('2025-06-05', {
    beneficiary: 1,
    counterfoil: 'SOUCHE-2025-000123',
    prescriber: 'Dr K. Meziane, psychiatre',
    lines: [line('N02AX02-01', 1, 10)],
  });
  await sell('2025-06-09', { beneficiary: 2, lines: [line('V06DB-01', 1, 10)] });
  await sell('2025-06-10', { beneficiary: 1, lines: [line('C10AA05-01', 1, 10)] });
  return numbers;
}
