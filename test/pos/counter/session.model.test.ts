import * as fs from 'node:fs';
import fc from 'fast-check';
import { PIN_MAX_TRIES, PIN_REF } from '../../../src/card/layout';
import type { VirtualCard } from '../../../src/emulator/virtual-card';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { missingRecords, recordsOfInvoice } from '../../../src/pos/counter/records';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import type { DispensationRecord } from '../../../src/pos/counter/card-data';
import { basket, captureLogger, DEMO_PIN, NOW, peekCard, tmpDir, without } from './harness';

/**
 * A model-based test of the insured card's session at the counter. Random sequences of what
 * happens at a counter — insert, remove, reset, open, the right PIN, a wrong PIN, a PIN of the wrong
 * shape, read the card, check out (also with the card pulled or losing power during the write),
 * restart the counter — run against the real counter (its HTTP API on loopback, `--demo` cards
 * in the in-process emulator, real SQLite files). After every step three views must agree:
 *
 * - the model: a few booleans and counters (inserted, verified, tries left, pending writes);
 * - the counter: /api/status, whether /api/card gives the medical data, whether it prices a
 *   basket (the same gate as a checkout), its pending card writes;
 * - the card itself, asked directly: the emulator's PIN try counter and security status.
 *
 * A VERIFY that does not succeed ends the PIN's verified state on the card (ISO 7816-4 §11.5.6
 * lets the comparison modify the security status, and the emulator clears it), so it must end
 * it at the counter too; so does a removal or a loss of power. Three wrong PINs block the card
 * for good: the model never unblocks, and each run starts from a fresh card image in a fresh
 * data directory.
 *
 * And the checkout invariant after every step: every invoice in the journal has its records on
 * the card (card write done) or a pending card write for that card, which the next right PIN
 * completes; no record on the card lacks its invoice.
 *
 * CI runs a fixed seed and a few runs; `CHIFA_MODEL_RUNS=500` runs more (with a random seed
 * unless `CHIFA_MODEL_SEED` is given; fast-check prints the seed and the shrunk sequence).
 */

const RUNS = Number(process.env.CHIFA_MODEL_RUNS ?? 12);
const SEED =
  process.env.CHIFA_MODEL_SEED !== undefined ? Number(process.env.CHIFA_MODEL_SEED) : process.env.CHIFA_MODEL_RUNS ? undefined : 7411;
const MAX_COMMANDS = 24;

interface Model {
  inserted: boolean;
  /** The counter opened the card in the reader (holder read): status shows its tries left. */
  opened: boolean;
  verified: boolean;
  triesLeft: number;
  /** Invoices signed, and those whose card write is still pending. */
  invoices: number[];
  pending: Set<number>;
}

interface Real {
  dir: string;
  counter: RunningCounter;
  /** The card's dispensations before the run (the fixture's history). */
  initialRecords: DispensationRecord[];
}

type Reply = { status: number; json: any };

/** Situations the runs went through: the test checks the sequences really reached them. */
const seen = new Set<string>();

async function call(r: Real, method: string, path: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { Authorization: `Bearer ${r.counter.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(r.counter.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function insuredCard(r: Real): VirtualCard {
  const station = r.counter.station;
  if (!(station instanceof EmulatedStation)) throw new Error('the model test runs on the demo cards');
  return station.cards.insured;
}

async function start(dir: string): Promise<RunningCounter> {
  return startCounter({ dataDir: dir, port: 0, demo: true, logger: captureLogger().logger, now: () => NOW });
}

/** What a route that needs the holder's PIN answers in the model's state. */
function gate(m: Model): { status: number; code?: string } {
  if (!m.inserted) return { status: 409, code: 'no-card' };
  if (!m.verified) return { status: 409, code: 'pin-required' };
  return { status: 200 };
}

function expectGate(reply: Reply, m: Model, okStatus = 200): void {
  const g = gate(m);
  if (g.status === 200) expect({ status: reply.status, error: reply.json?.error }).toEqual({ status: okStatus, error: undefined });
  else expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({ status: g.status, code: g.code });
}

const SMALL = basket([['N02BE01-01', 1, 3]]);
const BASKETS = [
  SMALL,
  basket([['M01AE01-01', 1, 5]], 2),
  basket(
    [
      ['N02BE01-01', 1, 2],
      ['A11GA01-01', 1, 10],
    ],
    3,
  ),
];

/** The three views agree, and the checkout invariant holds. */
async function expectAgreement(m: Model, r: Real): Promise<void> {
  const card = insuredCard(r);
  // The card's own state.
  expect({
    inserted: card.inserted,
    triesLeft: card.triesLeft(),
    verified: card.os.security.verified.has(PIN_REF),
  }).toEqual({ inserted: m.inserted, triesLeft: m.triesLeft, verified: m.verified });

  // The counter's view.
  const st = (await call(r, 'GET', '/api/status')).json.insured;
  expect({ present: st.present, opened: st.opened, verified: st.verified, pinRetriesLeft: st.pinRetriesLeft }).toEqual({
    present: m.inserted,
    opened: m.opened,
    verified: m.verified,
    pinRetriesLeft: m.opened && !m.verified ? m.triesLeft : null,
  });
  expectGate(await call(r, 'GET', '/api/card'), m);
  expectGate(await call(r, 'POST', '/api/quote', SMALL), m);
  const pending = (await call(r, 'GET', '/api/card-writes')).json.pending.map((w: { invoiceNumber: number }) => w.invoiceNumber);
  expect(pending).toEqual([...m.pending].sort((a, b) => a - b));

  // Every invoice has its records on the card, or a pending card write for that card.
  const svc = r.counter.service;
  const { serial, records } = await peekCard(card);
  const added = without(records, r.initialRecords);
  const rows = svc.journal.db.prepare("SELECT number FROM invoices WHERE kind = 'invoice' ORDER BY number").pluck().all() as number[];
  expect(rows).toEqual(m.invoices);
  for (const n of rows) {
    const doc = svc.journal.invoice(n)!.document;
    const write = svc.writes.get(n);
    const missing = missingRecords(recordsOfInvoice(doc), added);
    if (m.pending.has(n)) expect({ n, state: write?.state, card: write?.cardSerial }).toEqual({ n, state: 'pending', card: serial });
    else expect({ n, state: write?.state, missing }).toEqual({ n, state: 'done', missing: [] });
  }
  const perKey = new Map<string, number>();
  for (const rec of added) {
    expect({ record: rec, invoiced: rec.invoiceNumber !== null && rows.includes(rec.invoiceNumber) }).toEqual({
      record: rec,
      invoiced: true,
    });
    const k = `${rec.invoiceNumber}/${rec.productCode}`;
    perKey.set(k, (perKey.get(k) ?? 0) + 1);
    const lines = svc.journal.invoice(rec.invoiceNumber!)!.document.lines.filter((l) => l.code === rec.productCode).length;
    expect({ k, copies: perKey.get(k)! <= lines }).toEqual({ k, copies: true });
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** The card leaves the reader (or loses power): its PIN state goes, at the card and at the counter. */
function sessionEnds(m: Model): void {
  m.opened = false;
  m.verified = false;
}

class Insert implements Cmd {
  check = (m: Readonly<Model>) => !m.inserted;
  async run(m: Model, r: Real) {
    expect((await call(r, 'POST', '/api/demo/insured/insert')).status).toBe(200);
    m.inserted = true;
    sessionEnds(m);
    await expectAgreement(m, r);
  }
  toString = () => 'insert';
}

class Remove implements Cmd {
  check = (m: Readonly<Model>) => m.inserted;
  async run(m: Model, r: Real) {
    expect((await call(r, 'POST', '/api/demo/insured/remove')).status).toBe(200);
    m.inserted = false;
    sessionEnds(m);
    await expectAgreement(m, r);
  }
  toString = () => 'remove';
}

/** The card is reset while it stays in the reader (another application, a reader hiccup): its security state goes. */
class Reset implements Cmd {
  check = (m: Readonly<Model>) => m.inserted;
  async run(m: Model, r: Real) {
    insuredCard(r).reset();
    if (m.verified) seen.add('reset while verified');
    sessionEnds(m);
    await expectAgreement(m, r);
  }
  toString = () => 'reset';
}

class Open implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'POST', '/api/card/open');
    if (!m.inserted) expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'no-card' });
    else {
      m.opened = true;
      expect({ status: reply.status, verified: reply.json.verified, pinRetriesLeft: reply.json.pinRetriesLeft }).toEqual({
        status: 200,
        verified: m.verified,
        pinRetriesLeft: m.verified ? null : m.triesLeft,
      });
    }
    await expectAgreement(m, r);
  }
  toString = () => 'open';
}

class VerifyRight implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'POST', '/api/card/verify', { pin: DEMO_PIN });
    if (!m.inserted) {
      expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'no-card' });
    } else if (m.triesLeft === 0) {
      m.opened = true;
      expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'pin-blocked' });
    } else {
      m.opened = true;
      m.verified = true;
      m.triesLeft = PIN_MAX_TRIES;
      // The PIN completes the card's pending writes, oldest first.
      const recovered = (reply.json.recovery ?? []).map((o: { invoiceNumber: number; state: string }) => [o.invoiceNumber, o.state]);
      expect({ status: reply.status, result: reply.json.result, recovered }).toEqual({
        status: 200,
        result: 'ok',
        recovered: [...m.pending].sort((a, b) => a - b).map((n) => [n, 'done']),
      });
      if (m.pending.size > 0) seen.add('pending write completed by the PIN');
      m.pending.clear();
    }
    await expectAgreement(m, r);
  }
  toString = () => `verify ${DEMO_PIN}`;
}

class VerifyWrong implements Cmd {
  constructor(readonly pin: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'POST', '/api/card/verify', { pin: this.pin });
    if (m.verified) seen.add('wrong PIN after the right one');
    if (!m.inserted) {
      expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'no-card' });
    } else {
      m.opened = true;
      m.verified = false;
      if (m.triesLeft > 0) m.triesLeft--;
      if (m.triesLeft === 0) seen.add('PIN blocked');
      if (m.triesLeft === 0) expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'pin-blocked' });
      else
        expect({ status: reply.status, json: reply.json }).toEqual({
          status: 200,
          json: { result: 'wrong-pin', retriesLeft: m.triesLeft },
        });
    }
    await expectAgreement(m, r);
  }
  toString = () => `verify ${this.pin}`;
}

/** A PIN of the wrong shape for the card (5 digits): refused before the card sees it; nothing changes. */
class VerifyMalformed implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'POST', '/api/card/verify', { pin: '12345' });
    if (!m.inserted) expect({ status: reply.status, code: reply.json.error?.code }).toEqual({ status: 409, code: 'no-card' });
    else {
      m.opened = true;
      expect({ status: reply.status, code: reply.json.error?.code, field: reply.json.error?.field }).toEqual({
        status: 400,
        code: 'invalid-input',
        field: 'pin',
      });
    }
    await expectAgreement(m, r);
  }
  toString = () => 'verify 12345';
}

class ReadCard implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'GET', '/api/card');
    expectGate(reply, m);
    if (reply.status === 200) expect(reply.json.emergency).toEqual(expect.objectContaining({ bloodGroup: expect.any(String) }));
    await expectAgreement(m, r);
  }
  toString = () => 'read card';
}

class Checkout implements Cmd {
  constructor(readonly which: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const reply = await call(r, 'POST', '/api/checkout', BASKETS[this.which]);
    expectGate(reply, m, 201);
    seen.add(reply.status === 201 ? 'checkout done' : `checkout refused: ${reply.json.error.code}`);
    if (reply.status === 201) {
      expect({ state: reply.json.cardWrite.state, error: reply.json.cardWrite.error }).toEqual({ state: 'done', error: null });
      m.invoices.push(reply.json.invoice.number);
    }
    await expectAgreement(m, r);
  }
  toString = () => `checkout basket ${this.which}`;
}

/**
 * A checkout whose first APPEND RECORD is cut: the card pulled before it, or during it (before
 * or after its write), or losing power during it while it stays in the reader. The invoice is
 * signed and its card write stays pending; the next right PIN completes it.
 */
class CheckoutInterrupted implements Cmd {
  constructor(
    readonly how: 'pulled-before' | 'pulled-during' | 'pulled-after-write' | 'torn',
    readonly which: number,
  ) {}
  check = (m: Readonly<Model>) => m.inserted && m.verified;
  async run(m: Model, r: Real) {
    const faults = insuredCard(r).faults;
    const ins = 0xe2;
    if (this.how === 'pulled-before') faults.removeAt({ ins, phase: 'before' });
    else if (this.how === 'pulled-during') faults.removeAt({ ins, phase: 'during', commit: false });
    else if (this.how === 'pulled-after-write') faults.removeAt({ ins, phase: 'during', commit: true });
    else faults.tearAt({ ins, step: 0 });
    const reply = await call(r, 'POST', '/api/checkout', BASKETS[this.which]);
    const armed = faults.pending;
    faults.clear();
    expect({ status: reply.status, state: reply.json.cardWrite?.state, code: reply.json.cardWrite?.error?.code, armed }).toEqual({
      status: 201,
      state: 'pending',
      code: 'card-removed',
      armed: 0,
    });
    m.invoices.push(reply.json.invoice.number);
    m.pending.add(reply.json.invoice.number);
    seen.add(`checkout interrupted`);
    if (this.how !== 'torn') m.inserted = false;
    sessionEnds(m);
    await expectAgreement(m, r);
  }
  toString = () => `checkout basket ${this.which}, card ${this.how}`;
}

/** The counter stops and starts again on the same data directory: the demo cards come back from their state files, inserted and unpowered. */
class Restart implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    await r.counter.close();
    r.counter = await start(r.dir);
    if (m.pending.size > 0) seen.add('restart with a pending write');
    m.inserted = true;
    sessionEnds(m);
    await expectAgreement(m, r);
  }
  toString = () => 'restart';
}

const basketIndex = fc.nat(BASKETS.length - 1);
const interruption = fc.constantFrom('pulled-before', 'pulled-during', 'pulled-after-write', 'torn' as const);

/** Weighted so that runs reach a verified card often before three wrong PINs block it. */
const commands = [
  fc.constant(new Insert()),
  fc.constant(new Remove()),
  fc.constant(new Reset()),
  fc.constant(new Open()),
  ...Array.from({ length: 3 }, () => fc.constant(new VerifyRight())),
  ...Array.from({ length: 2 }, () => fc.constantFrom('9999', '0000', '4321', '1243').map((pin) => new VerifyWrong(pin))),
  fc.constant(new VerifyMalformed()),
  fc.constant(new ReadCard()),
  ...Array.from({ length: 2 }, () => basketIndex.map((i) => new Checkout(i))),
  ...Array.from({ length: 2 }, () => fc.tuple(interruption, basketIndex).map(([how, i]) => new CheckoutInterrupted(how, i))),
  fc.constant(new Restart()),
];

/** Runs one sequence of commands against a fresh counter and fresh demo cards. */
async function runSequence(cmds: Iterable<Cmd>): Promise<void> {
  const dir = tmpDir('chifa-model-');
  const real: Real = { dir, counter: await start(dir), initialRecords: [] };
  try {
    real.initialRecords = (await peekCard(insuredCard(real))).records;
    const model: Model = { inserted: true, opened: false, verified: false, triesLeft: PIN_MAX_TRIES, invoices: [], pending: new Set() };
    await expectAgreement(model, real);
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  } finally {
    await real.counter.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const right = new VerifyRight();
const wrong = new VerifyWrong('9999');

/** Sequences that reach each situation for sure, whatever the random runs below happen to draw. */
const SCENARIOS: [string, Cmd[]][] = [
  ['a wrong PIN after the right one (issue #11)', [right, wrong, new ReadCard(), new Checkout(0)]],
  ['the PIN blocked after the right one', [right, wrong, new VerifyWrong('0000'), new VerifyWrong('4321'), right, new Checkout(1)]],
  ['a PIN of the wrong shape changes nothing', [right, new VerifyMalformed(), new Checkout(0), new Remove(), new VerifyMalformed()]],
  ['the card reset in the reader', [right, new Reset(), new ReadCard(), new Checkout(0), right, new Checkout(2)]],
  ['pulled and put back', [right, new Remove(), new Checkout(0), new Insert(), new Open(), new Checkout(0), right, new Checkout(0)]],
  [
    'a write cut by a pull, completed by the next PIN',
    [right, new CheckoutInterrupted('pulled-during', 2), new Insert(), new Checkout(0), right, new Checkout(1)],
  ],
  ['a torn write, the counter restarted, completed by the next PIN', [right, new CheckoutInterrupted('torn', 0), new Restart(), right]],
];

test.each(SCENARIOS)('scenario: %s', async (_name, cmds) => {
  await runSequence(cmds);
});

test(
  'random sequences: the counter believes the PIN exactly when the card does, and no invoice goes without its card records',
  async () => {
    seen.clear();
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max' }), (cmds) => runSequence(cmds)),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    // The random runs reached the heart of it (the CI seed does; a small custom run may not).
    if (RUNS >= 12)
      expect([...seen]).toEqual(
        expect.arrayContaining(['checkout done', 'checkout refused: pin-required', 'wrong PIN after the right one']),
      );
  },
  Math.max(60_000, RUNS * 4_000),
);
