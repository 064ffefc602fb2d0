import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { CatalogueStore } from '../src/billing/catalogue/store';
import { loadRules } from '../src/billing/rules/load';
import { ChifaCard, ProfessionalCard } from '../src/card/chifa';
import { InsuredFiles } from '../src/card/layout';
import { InProcessTransport } from '../src/emulator/in-process-transport';
import { VirtualCard } from '../src/emulator/virtual-card';
import { EmulatedStation, type CardUsage } from '../src/pos/counter/emulated-station';
import type { CounterEvent } from '../src/pos/counter/events';
import { CounterJournal, journalPath } from '../src/pos/counter/journal';
import { CounterService } from '../src/pos/counter/service';
import { createApp } from '../src/pos/http/app';
import { packageRoot } from '../src/common/paths';
import { Needs } from './card-timing';
import { formatNumber, printTable } from './table';

/**
 * What the pharmacist waits for at the counter (issue #13), through the counter service and the
 * in-process emulator with the `iso-default` (9,600 bit/s) and `typical` (129 kbit/s after PPS)
 * timing profiles on a virtual clock: the card times are modelled (src/emulator/timing.ts), so
 * nothing sleeps and the figures do not depend on this machine. The card is full-rings: 400
 * dispensations over two and a half years, most of them older than the horizon.
 *
 *   PIN → holder and rights on screen      VERIFY, rights, beneficiaries, emergency data
 *   PIN → 3-line basket priced, warnings   … and the dispensations back to the horizon
 *   PIN → full history                     … the prescriptions, the professional authentication
 *                                          (both in the background), then the other dispensations
 *   "Valider la délivrance" → receipt      a 3-line checkout
 *
 * Each against its floor — the modelled time of the bytes it cannot avoid moving (as bare
 * characters at the agreed rate) and of the card operations it cannot avoid (EEPROM pages, ECDSA)
 * — and against today's read-everything path, measured in the same run: VERIFY + readAll (every
 * file, all 400 dispensations) before anything shows, and a checkout that authenticates the
 * professional card every time. Then the time from a card's insertion to its event on a page's
 * event stream (real time, real HTTP on loopback).
 */

const PIN = '1234';
const PRO_PIN = '0000';
/** The day after the full-rings card's newest record. */
const TODAY = '2025-07-01';
const BASKET = {
  beneficiary: 1,
  lines: [
    { code: 'N02BE01-01', quantity: 2, durationDays: 5 },
    { code: 'C09AA02-01', quantity: 1, durationDays: 30 },
    { code: 'J01CA04-01', quantity: 1, durationDays: 7 },
  ],
};
const TARGET_FLOOR = 1.25;
const TARGET_SHARE = 0.25;
const TARGET_EVENT_MS = 100;
/** The PIN block VERIFY sends (ISO 9564 format 2, 8 bytes). */
const PIN_BLOCK = 8;
/** What the checkout's signature moves: the 32-byte digest in, the 64-byte r‖s out. */
const SIGNATURE_BYTES = 32 + 64;

const cards = () => path.join(packageRoot(), 'fixtures', 'cards');
const fullRings = (profile: string) => VirtualCard.fromImage(path.join(cards(), 'full-rings.json'), { timing: profile });
const pharmacist = (profile: string) => VirtualCard.fromImage(path.join(cards(), 'pharmacist-1.json'), { timing: profile });

const minus = (a: CardUsage, b: CardUsage): CardUsage => ({
  ms: a.ms - b.ms,
  apdus: a.apdus - b.apdus,
  characters: a.characters - b.characters,
  nvmPages: a.nvmPages - b.nvmPages,
  cryptoMs: a.cryptoMs - b.cryptoMs,
});

interface Times {
  rights: CardUsage;
  priced: CardUsage;
  history: CardUsage;
  checkout: { insured: CardUsage; professional: CardUsage };
  nextCheckout: { insured: CardUsage; professional: CardUsage };
  /** Dispensations read when the basket was priced. */
  read: number;
  warnings: string[];
}

/** This counter: the service over the emulated station, the card's modelled time at each step. */
async function counterRun(profile: string): Promise<Times> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-bench-wait-'));
  const station = new EmulatedStation(fullRings(profile), pharmacist(profile), { clock: 'virtual' });
  const catalogue = CatalogueStore.open(dir);
  const now = () => new Date(`${TODAY}T09:00:00Z`);
  const journal = CounterJournal.open(journalPath(dir), { now });
  const service = new CounterService({ station, catalogue, rules: loadRules(), journal, logger: pino({ level: 'silent' }), now });
  try {
    if ((await service.verifyProfessionalPin(PRO_PIN)).result !== 'ok') throw new Error('professional PIN');
    await service.openCard();
    const at: Partial<Record<string, CardUsage>> = {};
    const stop = service.events.subscribe((e: CounterEvent) => {
      if (e.type === 'card') at[(e.data as { stage: string }).stage] = station.usage('insured');
    });
    const pin = station.usage('insured');
    const v = await service.verifyPin(PIN);
    if (v.result !== 'ok') throw new Error('PIN');
    const q = await service.quote(BASKET);
    const full = await service.readHistory();
    if (full.dispensations.length !== 400) throw new Error('history');
    stop();
    const checkout = async () => {
      const i = station.usage('insured');
      const p = station.usage('professional');
      const out = await service.checkout(BASKET);
      if (out.cardWrite.state !== 'done') throw new Error('checkout');
      return { insured: minus(station.usage('insured'), i), professional: minus(station.usage('professional'), p) };
    };
    return {
      rights: minus(at.rights!, pin),
      priced: minus(at.pricing!, pin),
      history: minus(at.history!, pin),
      checkout: await checkout(),
      nextCheckout: await checkout(),
      read: v.card.reading.history.read,
      warnings: q.warnings.map((w) => w.code),
    };
  } finally {
    await service.close();
    await journal.close();
    catalogue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const usageOf = (t: InProcessTransport): CardUsage => {
  const m = t.meter.snapshot();
  return { ms: m.totalMs, apdus: m.apdus, characters: m.characters, nvmPages: m.nvmPages, cryptoMs: m.cryptoMs };
};

/** Today's read-everything path, with the SDK as the counter used it: everything after the PIN, authentication at every checkout. */
async function readEverythingRun(profile: string): Promise<{ all: CardUsage; checkout: { insured: CardUsage; professional: CardUsage } }> {
  const ti = new InProcessTransport(fullRings(profile), { clock: 'virtual' });
  const tp = new InProcessTransport(pharmacist(profile), { clock: 'virtual' });
  const card = await ChifaCard.open(ti);
  const pro = await ProfessionalCard.open(tp);
  if ((await pro.verifyPin(PRO_PIN)).kind !== 'ok') throw new Error('professional PIN');
  const pin = usageOf(ti);
  if ((await card.verifyPin(PIN)).kind !== 'ok') throw new Error('PIN');
  const r = await card.readAll();
  if (r.kind !== 'ok' || r.data.dispensations.length !== 400) throw new Error('readAll');
  const all = minus(usageOf(ti), pin);
  const i = usageOf(ti);
  const p = usageOf(tp);
  await card.pinStatus();
  await pro.signDigest(randomBytes(32));
  if ((await card.authenticateProfessional(pro)).kind !== 'ok') throw new Error('authentication');
  const today = { date: TODAY, pharmacyId: pro.identity.pharmacyId, rank: 1, quantity: 1, invoiceNumber: 1 };
  for (const l of BASKET.lines) await card.appendDispensations([{ ...today, productCode: l.code, durationDays: l.durationDays }]);
  return { all, checkout: { insured: minus(usageOf(ti), i), professional: minus(usageOf(tp), p) } };
}

/** Milliseconds from a card's insertion to its `station` event read from an event stream over HTTP. */
async function eventLatency(trials: number): Promise<number[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-bench-events-'));
  const station = EmulatedStation.openDemo(dir);
  const catalogue = CatalogueStore.open(dir);
  const journal = CounterJournal.open(journalPath(dir));
  const service = new CounterService({ station, catalogue, rules: loadRules(), journal, logger: pino({ level: 'silent' }) });
  const token = randomBytes(32).toString('base64url');
  const server = http.createServer(createApp({ service, token, logger: pino({ level: 'silent' }), checkHost: true }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const out: number[] = [];
  try {
    const port = (server.address() as AddressInfo).port;
    // Station events as they come off the stream: sequence number and the insured card's insertion.
    const frames: { seq: number; insured: number | null; at: number }[] = [];
    let pending = '';
    let wake = () => undefined as void;
    const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { Authorization: `Bearer ${token}` }, agent: false });
    await new Promise<void>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          pending += chunk;
          let end: number;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const m = /^id: [^.]+\.(\d+)\nevent: station\ndata: (.*)$/m.exec(block);
            if (m) frames.push({ seq: Number(m[1]), insured: (JSON.parse(m[2]!) as { insured: number | null }).insured, at });
          }
          wake();
        });
        resolve();
      });
    });
    const card = station.cards.insured;
    for (let i = 0; i < trials; i++) {
      card.remove();
      await new Promise((r) => setTimeout(r, 5));
      const from = frames.length;
      const seen = new Promise<void>((r) => (wake = () => (frames.slice(from).some((f) => f.insured !== null) ? r() : undefined)));
      const t0 = performance.now();
      card.insert(); // the reader's own event: the card's 'inserted'
      await seen;
      out.push(frames.slice(from).find((f) => f.insured !== null)!.at - t0);
    }
    req.destroy();
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await service.close();
    await journal.close();
    catalogue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

export async function run(): Promise<void> {
  const rows: (string | number)[][] = [];
  const ops: (string | number)[][] = [];
  const notes: string[] = [];
  for (const profile of ['iso-default', 'typical'] as const) {
    const vc = fullRings(profile);
    const model = vc.timing!;
    const need = new Needs(vc);
    const mine = await counterRun(profile);
    const base = await readEverythingRun(profile);
    const firstScreen =
      PIN_BLOCK + need.template(InsuredFiles.rights) + need.records(InsuredFiles.beneficiaries) + need.template(InsuredFiles.emergency);
    const floors = {
      rights: model.floorMs({ bytes: firstScreen, nvmPages: mine.rights.nvmPages }),
      // The read must see the first record past the horizon to know it can stop: `read` includes it.
      priced: model.floorMs({ bytes: firstScreen + need.records(InsuredFiles.dispensations, mine.read), nvmPages: mine.rights.nvmPages }),
      history: model.floorMs({
        bytes: firstScreen + need.records(InsuredFiles.prescriptions) + need.records(InsuredFiles.dispensations),
        nvmPages: mine.rights.nvmPages,
      }),
      checkout: model.floorMs({
        bytes: SIGNATURE_BYTES + BASKET.lines.length * need.records(InsuredFiles.dispensations, 1),
        nvmPages: mine.checkout.insured.nvmPages,
        ecdsaSign: 1,
      }),
    };
    const checkoutMs = mine.checkout.insured.ms + mine.checkout.professional.ms;
    const baseCheckoutMs = base.checkout.insured.ms + base.checkout.professional.ms;
    const row = (what: string, ms: number, floor: number, baseline: number, targets: { floor?: boolean; share?: boolean }) => {
      const x = ms / floor;
      const share = ms / baseline;
      const wanted: string[] = [];
      let ok = true;
      if (targets.floor) {
        wanted.push(`≤ ${TARGET_FLOOR}x floor`);
        ok &&= x <= TARGET_FLOOR;
      }
      if (targets.share) {
        wanted.push(`≤ ${pct(TARGET_SHARE)}`);
        ok &&= share <= TARGET_SHARE;
      }
      rows.push([
        profile,
        what,
        ms,
        floor,
        `${x.toFixed(2)}x`,
        baseline,
        pct(share),
        wanted.join(', ') || '—',
        wanted.length ? verdict(ok) : '—',
      ]);
    };
    row('PIN → holder and rights on screen', mine.rights.ms, floors.rights, base.all.ms, {});
    row(`PIN → 3-line basket priced, ${mine.warnings.length} warning(s)`, mine.priced.ms, floors.priced, base.all.ms, {
      floor: true,
      share: true,
    });
    row('PIN → full history (400 dispensations)', mine.history.ms, floors.history, base.all.ms, {});
    row('"Valider la délivrance" → receipt (3 lines)', checkoutMs, floors.checkout, baseCheckoutMs, { floor: true });
    const count = (c: { insured: CardUsage; professional: CardUsage }) => [
      String(c.insured.apdus),
      String(c.professional.apdus),
      String(c.insured.cryptoMs + c.professional.cryptoMs),
      String(c.insured.nvmPages),
    ];
    ops.push([profile, 'this counter, first checkout of the card session', ...count(mine.checkout), formatNumber(checkoutMs)]);
    ops.push([
      profile,
      'this counter, next checkout',
      ...count(mine.nextCheckout),
      formatNumber(mine.nextCheckout.insured.ms + mine.nextCheckout.professional.ms),
    ]);
    ops.push([profile, 'read-everything path, every checkout', ...count(base.checkout), formatNumber(baseCheckoutMs)]);
    notes.push(
      `${profile}: the priced basket needed ${mine.read} of 400 dispensations (to the first one run out and older than ` +
        `90 + 30 days); warnings: ${mine.warnings.join(', ') || 'none'}`,
    );
  }
  printTable(
    'Counter: what the pharmacist waits for (full-rings card, modelled card time, virtual clock)',
    ['profile', 'from → to', 'this counter ms', 'floor ms', 'x floor', 'read everything ms', 'share', 'target', 'result'],
    rows,
  );
  process.stdout.write(
    '\nshare = this counter / the read-everything path measured in the same run (for the checkout: a checkout that\n' +
      'authenticates the professional card each time). Floor = the bytes the step needs as bare characters at the\n' +
      "agreed rate + the EEPROM pages of its VERIFY or APPENDs + its signature. The full history's run includes the\n" +
      'prescriptions and the professional authentication done in the background before the history is opened.\n',
  );
  for (const n of notes) process.stdout.write(`${n}\n`);
  printTable(
    'Card operations per checkout (3 lines)',
    ['profile', 'checkout', 'insured APDUs', 'professional APDUs', 'ECDSA ms', 'EEPROM pages', 'modelled ms'],
    ops,
  );
  process.stdout.write(
    '\nThis counter: empty VERIFY (is the PIN still verified?) + 3 APPEND RECORD on the insured card, 1 PSO: COMPUTE DIGITAL\n' +
      'SIGNATURE on the professional card; the professional authentication (PSO: VERIFY CERTIFICATE, GET CHALLENGE,\n' +
      'INTERNAL and EXTERNAL AUTHENTICATE: 3 ECDSA operations) once per card session, right after the PIN.\n',
  );

  const lat = (await eventLatency(50)).sort((a, b) => a - b);
  const median = lat[Math.floor(lat.length / 2)]!;
  const worst = lat.at(-1)!;
  printTable(
    'A card inserted → its event on the page (GET /api/events over HTTP on loopback, real time)',
    ['events', 'median ms', 'max ms', 'target', 'result'],
    [[String(lat.length), median, worst, `≤ ${TARGET_EVENT_MS} ms above the reader's event`, verdict(worst <= TARGET_EVENT_MS)]],
  );
}
