import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../src/common/paths';
import { loadRules } from '../src/billing/rules/load';
import { computeSplit, type SplitLine } from '../src/billing/split';
import { draftFromSplit, type InvoiceDraft } from '../src/sync/invoice';
import { Journal } from '../src/sync/journal/journal';
import { FundVerifier } from '../src/sync/fund-verifier';
import { parseCompact, verifySignature } from '../src/sync/jws';
import { RequestAuthenticator } from '../src/sync/request-auth';
import { SoftwareSigner } from '../src/sync/signer';
import { Uploader } from '../src/sync/uploader';
import { medianOps, printTable } from './table';

/**
 * Sync benchmarks (issue "signed invoice journal and batch sync"):
 * - raw ES256 verify/s with node:crypto on one core — the baseline the sync target is set from;
 * - our compact JWS verify/s (strict parse + canonical check + signature), one core;
 * - journal appends/s, durable (WAL, synchronous=FULL): one append per commit, and grouped;
 * - end-to-end sync invoices/s: the uploader here, the reference fund (`chifa fund`, its own
 *   process, signature checks on worker threads) verifying, recomputing and storing everything;
 *   every request authenticated by the pharmacist's key, every acknowledgement signed by the fund
 *   and verified here before it is recorded.
 * Target: end-to-end sync at least half the raw verify rate measured in the same run.
 */

const ROOT = packageRoot();
const KEYS = path.join(ROOT, 'fixtures', 'keys');

function drafts(n: number): InvoiceDraft[] {
  const rules = loadRules();
  const out: InvoiceDraft[] = [];
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < n; i++) {
    const lines: SplitLine[] = [];
    const k = 1 + Math.floor(rand() * 4);
    for (let l = 0; l < k; l++) {
      const unitPrice = 5000 + Math.floor(rand() * 90000);
      lines.push({
        code: `P${1000 + Math.floor(rand() * 9000)}`,
        quantity: 1 + Math.floor(rand() * 3),
        unitPrice,
        referencePrice: Math.floor(unitPrice * 0.8),
        reimbursable: true,
        priorApproval: false,
      });
    }
    const basket = { date: '2024-03-15', lines };
    const context = { category: 'ordinary' as const };
    out.push(
      draftFromSplit({
        split: computeSplit(basket, rules, context),
        basket,
        context,
        fund: 'CNAS',
        beneficiary: { cardSerial: `C${100000 + i}`, rank: 1 },
        prescription: { reference: `RX-${i}`, date: basket.date },
      }),
    );
  }
  return out;
}

function startFund(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'chifa.js'), 'fund', '--port', '0', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, CHIFA_LOG_LEVEL: 'error' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`chifa fund exited with ${code}`)));
  });
}

export async function run(): Promise<void> {
  const signer = SoftwareSigner.fromFiles(path.join(KEYS, 'pharmacy-1.key.pem'), path.join(KEYS, 'pharmacy-1.cert.pem'));
  const priv = createPrivateKey(fs.readFileSync(path.join(KEYS, 'pharmacy-1.key.pem')));
  const pub = createPublicKey(priv);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-bench-sync-'));
  const sample = drafts(30_000);

  // 1. Baselines: raw ES256 verify, and our JWS verify, over a real invoice JWS.
  const warm = Journal.open(path.join(tmp, 'sample.sqlite'), { signer });
  const one = await warm.append(sample[0]!);
  await warm.close();
  const dot = one.jws.lastIndexOf('.');
  const input = Buffer.from(one.jws.slice(0, dot));
  const sig = sign('sha256', input, { key: priv, dsaEncoding: 'ieee-p1363' });
  const rawVerify = medianOps(() => void verify('sha256', input, { key: pub, dsaEncoding: 'ieee-p1363' }, sig), 5, 300);
  const rawSign = medianOps(() => void sign('sha256', input, { key: priv, dsaEncoding: 'ieee-p1363' }), 3, 300);
  const jwsVerify = medianOps(
    () => {
      const p = parseCompact(one.jws, 'jws', 'chifa-invoice+jws');
      if (!verifySignature(p.signingInput, p.signature, pub)) throw new Error('bad');
    },
    5,
    300,
  );
  printTable(
    `ES256 (node:crypto, one core; invoice JWS of ${one.jws.length} bytes)`,
    ['operation', 'ops/s', 'vs raw verify'],
    [
      ['raw ES256 verify (baseline)', rawVerify, '1.00x'],
      ['raw ES256 sign', rawSign, `${(rawSign / rawVerify).toFixed(2)}x`],
      ['compact JWS verify (strict parse + canonical check + verify)', jwsVerify, `${(jwsVerify / rawVerify).toFixed(2)}x`],
    ],
  );

  // 2. Journal appends, durable.
  const j1 = Journal.open(path.join(tmp, 'single.sqlite'), { signer, batch: { maxCount: 500 } });
  let n1 = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < 1500) await j1.append(sample[n1++]!);
  const single = (n1 * 1000) / (performance.now() - t1);
  await j1.close();
  const grouped: (string | number)[][] = [];
  for (const group of [10, 100, 1000]) {
    const j = Journal.open(path.join(tmp, `grouped-${group}.sqlite`), { signer, batch: { maxCount: 500 } });
    let n = 0;
    const t = performance.now();
    while (performance.now() - t < 1500) {
      await j.appendMany(sample.slice(n, n + group));
      n += group;
    }
    grouped.push([`${group} per commit (appendMany)`, (n * 1000) / (performance.now() - t)]);
    await j.close();
  }
  printTable(
    'Journal appends (sign + insert + batch), WAL synchronous=FULL, durable before resolving',
    ['mode', 'appends/s'],
    [['1 per commit (await append)', single], ...grouped],
  );

  // 3. End to end: the journal's closed batches through the uploader to a `chifa fund` process.
  const N = 20_000;
  const journalFile = path.join(tmp, 'e2e.sqlite');
  const j = Journal.open(journalFile, { signer, batch: { maxCount: 500 } });
  for (let s = 0; s < N; s += 1000) await j.appendMany(sample.slice(s, s + 1000));
  await j.closeOpenBatch();
  const fund = await startFund(path.join(tmp, 'fund'));
  const rows: (string | number)[][] = [];
  try {
    const t = performance.now();
    const summary = await new Uploader(j, {
      fund: fund.url,
      auth: new RequestAuthenticator(signer),
      verifier: FundVerifier.fromFiles([path.join(KEYS, 'fund-ca.pem')]),
    }).runOnce();
    const secs = (performance.now() - t) / 1000;
    if (summary.error || summary.accepted !== N)
      throw new Error(`sync failed: ${JSON.stringify(summary.error)} accepted ${summary.accepted}`);
    const rate = N / secs;
    rows.push([
      `${N} invoices, batches of 500, loopback HTTP`,
      rate,
      `${(rate / rawVerify).toFixed(2)}x`,
      rate >= rawVerify / 2 ? 'met' : 'NOT MET',
    ]);
  } finally {
    fund.child.kill('SIGTERM');
    await j.close();
  }
  printTable(
    `End-to-end sync (uploader → chifa fund: request authenticated, certificate, signatures on ${Math.max(1, os.availableParallelism())} worker threads, chain, manifest, split recomputed, stored, acknowledgement signed and verified) — target ≥ 0.5x raw verify`,
    ['run', 'invoices/s', 'vs raw verify', 'target'],
    rows,
  );
  fs.rmSync(tmp, { recursive: true, force: true });
}
