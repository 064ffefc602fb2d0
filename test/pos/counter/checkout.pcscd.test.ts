import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { verifyCompact } from '../../../src/sync/jws';
import { certificateThumbprint } from '../../../src/sync/signer';
import { startFundProcess, stopProcess, type FundProcess } from '../../support/fund-process';
import { describePcsc, READERS, ROOT, startEmulator, type Emulator } from '../../support/pcscd';
import { SseClient } from '../http/sse';

/**
 * The counter service end to end through the real PC/SC stack: `chifa serve` as a process, with
 * no reader named, finds the emulated insured card (fixtures/cards/demo.json, PIN 1234, TEST ONLY)
 * and the emulated professional card (fixtures/cards/pharmacist-1.json, PIN 0000) in vpcd's two
 * readers through pcscd, and tells them apart by their application. Over HTTP with its token:
 * the PIN (a wrong one first), a checkout that the professional card signs and that goes on the
 * insured card, the card pulled before a checkout and in the middle of one (the counter refuses,
 * then repairs), the batch closed on the professional card and sent to `chifa fund`. Then
 * independent readers: `chifa read` on the insured card (its state file kept what was written),
 * the journal's signature against the card's certificate, and `chifa fund verify`.
 * Needs `npm run build` (the CLI runs from dist/).
 */

const CHIFA = path.join(ROOT, 'bin/chifa.js');
const CARD_CERT = path.join(ROOT, 'fixtures', 'keys', 'pharmacy-1.cert.der');
const PIN = '1234'; // the TEST ONLY demo card's PIN
const PRO_PIN = '0000'; // the TEST ONLY professional card's PIN
const INSURED = READERS[0];
const PROFESSIONAL = READERS[1];
/** The emulated insured card answers each APDU this much later, so that a pull can land between two APPEND RECORDs. */
const LATENCY_MS = 150;

interface Answer {
  status: number;
  json: any;
}

interface ReaderView {
  name: string;
  role: string | null;
  card: { present: boolean; atr: string | null; application: string | null };
}

interface CardDispensation {
  date: string;
  productCode: string;
  quantity: number;
  durationDays: number;
  rank: number;
  pharmacyId: string;
  invoiceNumber: number | null;
}

/** Waits until `check` resolves true, polling every 50 ms, for at most `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function chifa(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CHIFA, ...args], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

describePcsc('chifa serve through pcscd: PIN, checkout, card pulled, batch sent to the fund', () => {
  let dir: string;
  let insured: Emulator;
  let professional: Emulator;
  let fund: FundProcess;
  let serve: ChildProcess;
  let serveOut = '';
  let serveErr = '';
  let url: string;
  const token = 'pcscd-counter-test-token-0123456789';
  let invoice: number; // the first checkout's
  let torn: number; // the checkout interrupted by the pull

  const call = async (method: string, p: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url + p, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const reader = async (name: string) => ((await call('GET', '/api/readers')).json.readers as ReaderView[]).find((r) => r.name === name);
  /** Pulls (or puts back) the insured card and waits until the counter has seen it. */
  const toggleInsured = async (present: boolean) => {
    insured.signal('SIGUSR2');
    await until(`the counter to see the insured card ${present ? 'back' : 'gone'}`, async () => {
      const r = await reader(INSURED.name);
      return present ? r?.card.present === true && r.role === 'insured' && r.card.application === 'insured' : r?.card.present === false;
    });
  };
  const journalCounts = (): { invoices: number; pending: number; writes: { invoice_number: number; state: string }[] } => {
    const db = new Database(path.join(dir, 'counter', 'journal.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return {
        invoices: db.prepare('SELECT COUNT(*) FROM invoices').pluck().get() as number,
        pending: db.prepare("SELECT COUNT(*) FROM card_writes WHERE state = 'pending'").pluck().get() as number,
        writes: db.prepare('SELECT invoice_number, state FROM card_writes ORDER BY invoice_number').all() as {
          invoice_number: number;
          state: string;
        }[],
      };
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-counter-pcscd-'));
    // The cards keep what is written on them in their state files, as a real card's EEPROM does.
    insured = await startEmulator({
      card: 'fixtures/cards/demo.json',
      port: INSURED.port,
      state: path.join(dir, 'insured.state.json'),
      args: ['--latency', String(LATENCY_MS)],
    });
    professional = await startEmulator({
      card: 'fixtures/cards/pharmacist-1.json',
      port: PROFESSIONAL.port,
      state: path.join(dir, 'professional.state.json'),
    });
    fund = await startFundProcess(['--data', path.join(dir, 'fund'), '--threads', '0']);
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    // Only what the command line says: no data directory, fund or signer from this shell's environment.
    const env: NodeJS.ProcessEnv = { ...process.env, CHIFA_LOG_LEVEL: 'info' };
    for (const name of [
      'CHIFA_DATA',
      'CHIFA_TOKEN',
      'CHIFA_FUND_URL',
      'CHIFA_FUND_CA',
      'CHIFA_FUND_SIGNER_CA',
      'CHIFA_SIGNER_KEY',
      'CHIFA_SIGNER_CERT',
    ])
      delete env[name];
    serve = spawn(
      process.execPath,
      [CHIFA, 'serve', '--port', '0', '--data', path.join(dir, 'counter'), '--token-file', tokenFile, '--fund', fund.url],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    serve.stdout!.on('data', (d: Buffer) => (serveOut += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (serveErr += d.toString()));
    await until(
      'chifa serve to listen',
      async () => {
        if (serve.exitCode !== null) throw new Error(`chifa serve exited (${serve.exitCode}):\n${serveErr}\n${serveOut}`);
        return /open: http:\/\/127\.0\.0\.1:\d+\//.test(serveErr);
      },
      20_000,
    );
    url = /open: (http:\/\/127\.0\.0\.1:\d+)\//.exec(serveErr)![1]!;
  }, 60_000);

  afterAll(async () => {
    if (serve) await stopProcess(serve);
    if (fund) await stopProcess(fund.child);
    await insured?.stop();
    await professional?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test('the counter is in PC/SC mode and tells the two cards apart by their application', async () => {
    expect(serveErr).toContain('chifa counter — PC/SC readers');
    expect((await fetch(`${url}/api/readers`)).status).toBe(401);
    await until('both cards to be identified', async () => {
      const r = (await call('GET', '/api/readers')).json as { readers: ReaderView[] };
      return r.readers.filter((x) => x.card.application !== null).length === 2;
    });
    const r = await call('GET', '/api/readers');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ mode: 'pcsc', serviceAvailable: true });
    expect(r.json.readers).toEqual(
      expect.arrayContaining([
        { name: INSURED.name, role: 'insured', card: { present: true, atr: expect.stringMatching(/^3B/), application: 'insured' } },
        {
          name: PROFESSIONAL.name,
          role: 'professional',
          card: { present: true, atr: expect.stringMatching(/^3B/), application: 'professional' },
        },
      ]),
    );
  });

  test('the PIN: a wrong one says the tries left, the right one opens the card; the professional card is unlocked', async () => {
    const open = await call('POST', '/api/card/open');
    expect(open.status).toBe(200);
    expect(open.json).toMatchObject({ holder: { cardSerial: 'CH2-2024-000001', lastName: 'BENALI' }, verified: false });
    expect(await call('POST', '/api/card/verify', { pin: '9999' })).toEqual({ status: 200, json: { result: 'wrong-pin', retriesLeft: 2 } });
    expect((await call('GET', '/api/status')).json.insured).toMatchObject({ verified: false, pinRetriesLeft: 2 });
    const ok = await call('POST', '/api/card/verify', { pin: PIN });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ result: 'ok', recovery: [] });
    // Read as far as the duplicate check needs (docs/counter.md, "Reading the card"); the rest on demand.
    const history = await call('POST', '/api/card/history');
    expect(history.json.dispensations).toHaveLength(4);
    expect(history.json.reading.history).toMatchObject({ complete: true });
    const pro = await call('POST', '/api/professional/verify', { pin: PRO_PIN });
    expect(pro).toMatchObject({ status: 200, json: { result: 'ok', pharmacy: { pharmacyId: 'DZ16-PH-00001' } } });
    expect((await call('GET', '/api/status')).json).toMatchObject({
      insured: { verified: true },
      professional: { present: true, unlocked: true },
    });
  });

  test('quote and checkout: signed on the professional card, the record written on the insured card', async () => {
    const q = await call('POST', '/api/quote', { beneficiary: 2, lines: [{ code: 'N02BE01-01', quantity: 2 }] });
    expect(q.status).toBe(200);
    expect(q.json.quote).toMatchObject({ thirdPartyPayment: true });
    const expectTotals = { total: q.json.quote.total, fund: q.json.quote.fund, patient: q.json.quote.patient };
    expect(expectTotals.total).toBe(expectTotals.fund + expectTotals.patient);
    const co = await call('POST', '/api/checkout', {
      beneficiary: 2,
      lines: [{ code: 'N02BE01-01', quantity: 2, durationDays: 5 }],
      expect: expectTotals,
      requestId: 'pcscd-checkout-0001',
    });
    expect({ status: co.status, error: co.json.error }).toEqual({ status: 201, error: undefined });
    expect(co.json).toMatchObject({
      invoice: { totals: expectTotals, thirdPartyPayment: true },
      cardWrite: { state: 'done', records: 1, written: 1, error: null },
      replayed: false,
    });
    invoice = co.json.invoice.number as number;
    const card = await call('GET', '/api/card');
    expect(card.json.dispensations).toHaveLength(5);
    expect(card.json.dispensations[0]).toMatchObject({
      productCode: 'N02BE01-01',
      quantity: 2,
      durationDays: 5,
      rank: 2,
      pharmacyId: 'DZ16-PH-00001',
      invoiceNumber: invoice,
    });
    expect(journalCounts()).toMatchObject({ invoices: 1, pending: 0, writes: [{ invoice_number: invoice, state: 'done' }] });
  });

  test('the card pulled between the PIN and the checkout: 409, nothing signed, nothing written', async () => {
    const before = journalCounts();
    await toggleInsured(false);
    const lines = [{ code: 'M01AE01-01', quantity: 1, durationDays: 7 }];
    const co = await call('POST', '/api/checkout', { beneficiary: 1, lines });
    expect(co).toEqual({ status: 409, json: { error: { code: 'no-card', message: 'no insured card in the reader' } } });
    // Back in the reader the card is a new insertion: its PIN must be given again.
    await toggleInsured(true);
    expect((await call('POST', '/api/checkout', { beneficiary: 1, lines })).json.error.code).toBe('pin-required');
    expect(journalCounts()).toEqual(before);
    const ok = await call('POST', '/api/card/verify', { pin: PIN });
    expect(ok.json).toMatchObject({ result: 'ok', recovery: [] });
    const history = (await call('POST', '/api/card/history')).json.dispensations as CardDispensation[];
    expect(history).toHaveLength(5);
    expect(history[0]).toMatchObject({ productCode: 'N02BE01-01', invoiceNumber: invoice });
  });

  test('the card pulled between two records of a checkout: the write stays pending, and is completed once at the next PIN', async () => {
    const ticket = await call('POST', '/api/events/ticket');
    const events = await SseClient.open(url, `/api/events?ticket=${encodeURIComponent(ticket.json.ticket as string)}`);
    try {
      expect(events.status).toBe(200);
      const lines = [
        { code: 'M01AE01-01', quantity: 1, durationDays: 7 },
        { code: 'A11GA01-01', quantity: 1, durationDays: 20 },
        { code: 'N02BE01-01', quantity: 1, durationDays: 3 },
      ];
      const checkout = call('POST', '/api/checkout', { beneficiary: 1, lines, requestId: 'pcscd-checkout-torn' });
      // The first record is on the card: pull it while the next APPEND RECORD is on its way.
      await events.next((e) => e.event === 'write-progress' && (e.data as { written: number; state: string }).written === 1, 0, 15_000);
      insured.signal('SIGUSR2');
      const co = await checkout;
      expect(co.status).toBe(201); // the invoice is signed and journalled: it is never lost
      expect(co.json.cardWrite).toMatchObject({ state: 'pending', records: 3, error: { code: 'card-removed' } });
      // The pull came after the first record (and, on a slow machine, perhaps after the second).
      expect([1, 2]).toContain(co.json.cardWrite.written);
      torn = co.json.invoice.number as number;
      expect(torn).toBe(invoice + 1);
    } finally {
      events.close();
    }
    await until('the counter to see the card gone', async () => (await reader(INSURED.name))?.card.present === false);
    expect((await call('GET', '/api/card-writes')).json.pending).toEqual([
      expect.objectContaining({ invoiceNumber: torn, records: 3, attempts: 1 }),
    ]);
    expect((await call('GET', '/api/status')).json.insured).toMatchObject({ present: false, verified: false });

    await toggleInsured(true);
    expect((await call('POST', '/api/card/open')).json.pendingWrites).toEqual([torn]);
    const ok = await call('POST', '/api/card/verify', { pin: PIN });
    expect(ok.json).toMatchObject({
      result: 'ok',
      recovery: [{ invoiceNumber: torn, state: 'done', records: 3, written: 3, error: null }],
    });
    const history = (await call('POST', '/api/card/history')).json.dispensations as CardDispensation[];
    expect(history).toHaveLength(4 + 1 + 3);
    const mine = history.filter((d) => d.invoiceNumber === torn);
    expect(mine.map((d) => d.productCode).sort()).toEqual(['A11GA01-01', 'M01AE01-01', 'N02BE01-01']);
    expect(journalCounts()).toMatchObject({
      invoices: 2,
      pending: 0,
      writes: [
        { invoice_number: invoice, state: 'done' },
        { invoice_number: torn, state: 'done' },
      ],
    });
  });

  test('Clôturer et transmettre: the batch signed on the professional card and accepted by the fund', async () => {
    const started = await call('POST', '/api/batches/close');
    expect({ status: started.status, error: started.json.error }).toEqual({ status: 202, error: null });
    expect(started.json).toMatchObject({ fundConfigured: true, closed: { from: invoice, to: torn, count: 2, signed: true } });
    let job: Answer = started;
    await until(
      'the batch job to finish',
      async () => {
        job = await call('GET', `/api/batches/jobs/${started.json.id as string}`);
        return job.json.state !== 'running';
      },
      20_000,
    );
    expect(job.json).toMatchObject({ state: 'done', error: null, upload: { batches: 1, invoices: 2, accepted: 2, rejected: 0 } });
  });

  test('read back independently: the card, the journal and the fund agree', async () => {
    await stopProcess(serve); // it releases the readers
    expect(serve.exitCode).toBe(0);
    for (const secret of [PIN, PRO_PIN, '9999']) expect(serveOut).not.toContain(`"${secret}"`);
    expect(serveOut).not.toMatch(/"pin"\s*:/);

    // The insured card, read by another PC/SC client.
    const read = await chifa(['read', '--reader', INSURED.name, '--pin-stdin', '--json'], `${PIN}\n`);
    expect({ code: read.code, stderr: read.stderr }).toEqual({ code: 0, stderr: '' });
    const card = JSON.parse(read.stdout) as { dispensations: CardDispensation[] };
    expect(card.dispensations).toHaveLength(4 + 1 + 3);
    // Newest first: the torn checkout's three records (each exactly once), then the first checkout's.
    expect(card.dispensations.slice(0, 3).every((d) => d.invoiceNumber === torn)).toBe(true);
    expect(
      card.dispensations
        .slice(0, 3)
        .map((d) => d.productCode)
        .sort(),
    ).toEqual(['A11GA01-01', 'M01AE01-01', 'N02BE01-01']);
    expect(card.dispensations[3]).toMatchObject({
      productCode: 'N02BE01-01',
      quantity: 2,
      durationDays: 5,
      rank: 2,
      pharmacyId: 'DZ16-PH-00001',
      invoiceNumber: invoice,
    });
    expect(card.dispensations.slice(4).every((d) => d.invoiceNumber !== invoice && d.invoiceNumber !== torn)).toBe(true);

    // The journal's invoice verifies against the professional card's certificate.
    const cert = new X509Certificate(fs.readFileSync(CARD_CERT));
    const db = new Database(path.join(dir, 'counter', 'journal.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const jws = db.prepare('SELECT jws FROM invoices WHERE number = ?').pluck().get(invoice) as string;
      const parsed = verifyCompact(jws, cert.publicKey, 'invoice', 'chifa-invoice+jws');
      expect(parsed.header['x5t#S256']).toBe(certificateThumbprint(cert.raw));
      expect(parsed.payload).toMatchObject({ number: invoice, lines: [expect.objectContaining({ code: 'N02BE01-01', quantity: 2 })] });
    } finally {
      db.close();
    }

    // The fund's store: this pharmacy's chain holds each invoice once, without a gap.
    const audit = await chifa(['fund', 'verify', '--data', path.join(dir, 'fund'), '--json']);
    expect(audit.code).toBe(0);
    const report = JSON.parse(audit.stdout) as {
      ok: boolean;
      pharmacies: {
        pharmacyId: string;
        invoices: number;
        lastNumber: number;
        chainComplete: boolean;
        batches: number;
        problems: string[];
      }[];
    };
    expect(report).toMatchObject({
      ok: true,
      pharmacies: [{ pharmacyId: 'DZ16-PH-00001', invoices: 2, lastNumber: torn, chainComplete: true, batches: 1, problems: [] }],
    });
  });
});
