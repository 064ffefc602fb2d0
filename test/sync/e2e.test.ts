import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Journal } from '../../src/sync/journal/journal';
import { startFundProcess, stopProcess } from '../support/fund-process';
import { prng, ROOT, key, sampleDraft, signer, tmpDir } from './helpers';

/**
 * End-to-end, through the built CLI (`npm run build` runs before `npm test`): the fund server
 * and the uploader run as child processes over loopback HTTPS with the test TLS CA, every
 * request authenticated by the pharmacist's key and every answer signed by the fund, the fund
 * injects faults, and the uploader is killed with SIGKILL at random points at least 20 times.
 * At the end `chifa fund verify` must show every invoice exactly once and the chain complete.
 */

const CLI = path.join(ROOT, 'bin', 'chifa.js');
const verbose = (m: string): void => {
  if (process.env.CHIFA_E2E_VERBOSE) process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 23)}] ${m}\n`);
};
const BUILT = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Batches acknowledged or settled, read straight from the journal file. */
function done(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT COUNT(*) FROM batches WHERE state IN ('acknowledged', 'settled')").pluck().get() as number;
  } finally {
    db.close();
  }
}

beforeAll(() => {
  if (!fs.existsSync(BUILT)) throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
});

describe('end to end through the CLI', () => {
  test('10,000 invoices over HTTPS with faults, the uploader SIGKILLed ≥ 20 times: each invoice at the fund exactly once, chain complete', async () => {
    const dir = tmpDir('chifa-e2e-');
    const data = path.join(dir, 'pharmacy');
    const journalFile = path.join(data, 'journal.sqlite');
    const N = 10_000;
    const j = Journal.open(journalFile, { signer: signer(1), batch: { maxCount: 25 } });
    for (let start = 0; start < N; start += 1000) {
      await j.appendMany(Array.from({ length: Math.min(1000, N - start) }, (_, i) => sampleDraft(start + i)));
    }
    await j.closeOpenBatch();
    const tip = j.tip();
    const batches = j.batches().length;
    await j.close();
    expect(tip.number).toBe(N);
    verbose(`generated ${N} invoices in ${batches} batches`);

    const fund = await startFundProcess(
      [
        '--data',
        path.join(dir, 'fund'),
        '--tls-cert',
        key('tls-server.pem'),
        '--tls-key',
        key('tls-server.key.pem'),
        '--faults',
        'drop=0.05,drop-after=0.05,5xx=0.05,retry-after=0.02:0,latency=1:20-60,partial=0.05,seed=20240315',
      ],
      { CHIFA_LOG_LEVEL: 'info' },
    );
    try {
      expect(fund.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
      const syncArgs = [
        'sync',
        '--once',
        '--fund',
        fund.url,
        '--ca',
        key('tls-ca.pem'),
        '--data',
        data,
        '--key',
        key('pharmacy-1.key.pem'),
        '--cert',
        key('pharmacy-1.cert.pem'),
        '--no-downlink',
        '--retry-base-ms',
        '10',
        '--retry-max-ms',
        '200',
        '--max-attempts',
        '200',
      ];

      // How long the CLI takes to start here (the machine is shared): kill points are spread
      // from 70 % of that to 300 ms past it, so some land in start-up and most mid-upload. The
      // fund's latency (every request) keeps the whole upload far longer than 20 such windows.
      const starts = [0, 1, 2].map(() => {
        const t0 = Date.now();
        cli(['journal', 'status', '--data', data]);
        return Date.now() - t0;
      });
      const startup = starts.sort((a, b) => a - b)[1]!;
      const rand = prng(42);

      let kills = 0;
      let killsMidUpload = 0;
      let runs = 0;
      // The load on a shared machine moves between the measure above and the runs: after a kill
      // that interrupted nothing yet, the next one comes a little later (and sooner again after
      // one that did), so the kills keep landing in the upload rather than all in start-up.
      let lag = 0;
      while (kills < 20) {
        runs++;
        expect(runs).toBeLessThan(200);
        const before = done(journalFile);
        const child = spawn(process.execPath, [CLI, ...syncArgs], { stdio: 'ignore' });
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        // Past 60 % of the upload, kill sooner so that 20 kills still fall inside the run.
        const span = before > 0.6 * batches ? 150 : startup * 0.3 + 300;
        const delay = Math.round(startup * 0.7 + lag + rand() * span);
        const winner = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), delay))]);
        if (winner === 'timeout') {
          child.kill('SIGKILL');
          await exited;
          kills++;
          if (done(journalFile) > before) {
            killsMidUpload++;
            lag = Math.max(0, lag - 100);
          } else lag += 150;
        } else {
          // It finished before we killed it: there must have been nothing left to do.
          expect(winner).toBe(0);
          break;
        }
      }
      verbose(
        `${kills} kills (${killsMidUpload} mid-upload) in ${runs} runs; startup ${startup} ms, lag ${lag} ms; ${done(journalFile)}/${batches} batches done`,
      );
      expect(kills).toBeGreaterThanOrEqual(20);
      expect(killsMidUpload).toBeGreaterThanOrEqual(5);
      expect(done(journalFile)).toBeLessThan(batches); // the kills really interrupted the upload

      // Let it finish.
      let last = cli(syncArgs);
      for (let i = 0; i < 5 && (last.status !== 0 || done(journalFile) < batches); i++) last = cli(syncArgs);
      expect(last.status).toBe(0);
      expect(done(journalFile)).toBe(batches);
      // Every batch was acknowledged from an answer signed by the fund, kept as proof.
      const proofs = new Database(journalFile, { readonly: true });
      try {
        expect(proofs.prepare('SELECT COUNT(DISTINCT batch_id) FROM fund_acks').pluck().get()).toBe(batches);
      } finally {
        proofs.close();
      }
      verbose(`finished: ${last.stdout.trim()}`);

      const audit = cli(['fund', 'verify', '--data', path.join(dir, 'fund'), '--json']);
      expect(audit.status).toBe(0);
      const report = JSON.parse(audit.stdout) as {
        ok: boolean;
        pharmacies: {
          pharmacyId: string;
          invoices: number;
          lastNumber: number;
          lastHash: string;
          chainComplete: boolean;
          batches: number;
          problems: string[];
        }[];
      };
      expect(report.ok).toBe(true);
      expect(report.pharmacies).toHaveLength(1);
      expect(report.pharmacies[0]).toMatchObject({
        pharmacyId: 'DZ16-PH-00001',
        invoices: N,
        lastNumber: N,
        chainComplete: true,
        batches,
        problems: [],
      });
      // The fund's chain ends on the same hash as the pharmacy's: the same 10,000 documents.
      expect(report.pharmacies[0]!.lastHash).toBe(tip.hash);

      const jv = cli(['journal', 'verify', '--data', data]);
      expect(jv.status).toBe(0);
      // Some batches were stored by the fund and their answer lost (drop-after, or a kill): the
      // retry was answered from the idempotency record, not stored twice.
      expect(fund.log()).toMatch(/"replayed":true/);
    } finally {
      await stopProcess(fund.child);
    }
  }, 240_000);

  test('plain HTTP on loopback; journal verify and fund verify name what is broken and exit 1', async () => {
    const dir = tmpDir('chifa-e2e-');
    const data = path.join(dir, 'pharmacy');
    const journalFile = path.join(data, 'journal.sqlite');
    const j = Journal.open(journalFile, { signer: signer(2), batch: { maxCount: 10 } });
    await j.appendMany(Array.from({ length: 25 }, (_, i) => sampleDraft(i)));
    await j.close();
    const fund = await startFundProcess(['--data', path.join(dir, 'fund'), '--threads', '1'], { CHIFA_LOG_LEVEL: 'info' });
    try {
      expect(fund.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      // The fund authenticates every request: no key, no sync; a remote fund needs its CA named.
      expect(cli(['sync', '--once', '--fund', fund.url, '--data', data])).toMatchObject({
        status: 2,
        stderr: expect.stringMatching(/--pro-reader NAME \(or, TEST ONLY, --key and --cert\): the fund authenticates every request/),
      });
      const k2 = ['--key', key('pharmacy-2.key.pem'), '--cert', key('pharmacy-2.cert.pem')];
      expect(cli(['sync', '--once', '--fund', 'https://fund.example.dz/', '--data', data, ...k2])).toMatchObject({
        status: 2,
        stderr: expect.stringMatching(/no-fund-signer-ca: --fund-signer-ca: .* required for fund\.example\.dz/),
      });
      const s = cli([
        'sync',
        '--once',
        '--fund',
        fund.url,
        '--data',
        data,
        '--key',
        key('pharmacy-2.key.pem'),
        '--cert',
        key('pharmacy-2.cert.pem'),
        '--close',
        '--json',
      ]);
      expect(s.status).toBe(0);
      const summary = JSON.parse(s.stdout) as {
        invoices: number;
        accepted: number;
        error: unknown;
        downlink: { name: string; status: string }[];
      };
      expect(summary).toMatchObject({ invoices: 25, accepted: 25, error: null });
      expect(summary.downlink.map((d) => d.status)).toEqual(['updated', 'updated', 'updated']);
      expect(s.stderr).toMatch(/sync: 25\/25 invoices/); // plain progress lines when stderr is not a TTY
    } finally {
      await stopProcess(fund.child);
    }
    expect(cli(['fund', 'verify', '--data', path.join(dir, 'fund')])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/DZ31-PH-00002: 25 invoices .* chain complete 1\.\.25/),
    });

    // Break the fund's store behind its back: a missing invoice is found.
    const fdb = new Database(path.join(dir, 'fund', 'fund.sqlite'));
    fdb.exec('DROP TRIGGER fund_invoices_no_delete');
    fdb.prepare('DELETE FROM invoices WHERE number = 12').run();
    fdb.close();
    const fv = cli(['fund', 'verify', '--data', path.join(dir, 'fund')]);
    expect(fv.status).toBe(1);
    expect(fv.stdout).toMatch(/invoice 13: invoices 12–12 are missing/);

    // Break the journal: the first break is named, nothing is repaired.
    const db = new Database(journalFile);
    db.exec('DROP TRIGGER invoices_no_update');
    db.prepare("UPDATE invoices SET jws = replace(jws, substr(jws, -10, 5), 'AAAAA') WHERE number = 7").run();
    db.close();
    const bytes = fs.readFileSync(journalFile);
    const jv = cli(['journal', 'verify', '--data', data]);
    expect(jv.status).toBe(1);
    expect(jv.stdout).toMatch(/first break: invoice 7: /);
    expect(fs.readFileSync(journalFile).equals(bytes)).toBe(true);
  }, 60_000);
});
