import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChifaCard } from '../../../src/card/chifa';
import { InProcessTransport } from '../../../src/emulator/in-process-transport';
import { VirtualCard } from '../../../src/emulator/virtual-card';
import { CatalogueStore } from '../../../src/billing/catalogue/store';
import type { DispensationRecord } from '../../../src/pos/counter/card-data';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { CounterJournal, journalPath } from '../../../src/pos/counter/journal';
import { missingRecords, recordsOfInvoice } from '../../../src/pos/counter/records';
import { toDispensation } from '../../../src/pos/counter/sdk-ports';
import type { RightsSource } from '../../../src/pos/counter/rights-update';
import { CounterService } from '../../../src/pos/counter/service';
import { loadRules, type RuleBook } from '../../../src/billing/rules/load';
import type { InvoiceDocument } from '../../../src/sync/invoice';
import { verifyJournal } from '../../../src/sync/journal/verify';
import type { BatchPolicy } from '../../../src/sync/journal/journal';
import { captureLogger } from '../../support/logs';

/**
 * A counter over the real pieces: the demo card images in the in-process emulator (persisted in a
 * temporary data directory), the real catalogue and journal SQLite files, the shipped rules, and a
 * logger whose output the test can search. The clock is fixed so the rules and rights are stable.
 */

export const NOW = new Date('2025-06-15T10:00:00Z');
export const DEMO_PIN = '1234';
export const PRO_PIN = '0000';

export function tmpDir(prefix = 'chifa-counter-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export { captureLogger };

export interface Harness {
  dir: string;
  station: EmulatedStation;
  insured: VirtualCard;
  professional: VirtualCard;
  service: CounterService;
  journal: CounterJournal;
  catalogue: CatalogueStore;
  logs: string[];
  /** The card's dispensations when the harness opened (the fixture's history). */
  initialRecords: DispensationRecord[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Another card image than the demo's (a path). */
  insuredImage?: string;
  /** The emulated cards' clock (default: the host's). */
  cardClock?: () => Date;
  /** The counter's clock (default: NOW). */
  now?: () => Date;
  /** The fund as a source of current rights (default: none, as without --fund). */
  rights?: RightsSource;
  /** The rules (default: the shipped ones). */
  rules?: RuleBook;
  /** The journal's batch policy (e.g. `{ maxCount: 1 }`: every invoice closes its batch). */
  batch?: Partial<BatchPolicy>;
}

export async function openHarness(dir = tmpDir(), options: HarnessOptions = {}): Promise<Harness> {
  const station = EmulatedStation.openDemo(dir, {
    ...(options.insuredImage ? { insuredImage: options.insuredImage } : {}),
    ...(options.cardClock ? { clock: options.cardClock } : {}),
  });
  const catalogue = CatalogueStore.open(dir);
  const now = options.now ?? (() => NOW);
  const journal = CounterJournal.open(journalPath(dir), { now, ...(options.batch ? { batch: options.batch } : {}) });
  const { logger, lines } = captureLogger();
  const service = new CounterService({
    station,
    catalogue,
    rules: options.rules ?? loadRules(),
    journal,
    logger,
    now,
    ...(options.rights ? { rights: options.rights } : {}),
  });
  service.reconcile();
  const h: Harness = {
    dir,
    station,
    insured: station.cards.insured,
    professional: station.cards.professional,
    service,
    journal,
    catalogue,
    logs: lines,
    initialRecords: [],
    close: async () => {
      await service.close();
      await station.close();
      await journal.close();
      catalogue.close();
    },
  };
  h.initialRecords = await readCardRecords(h.insured);
  return h;
}

/** Opens the card, verifies the holder's PIN, unlocks the professional card, and waits for the card reads to end. */
export async function ready(h: Harness): Promise<void> {
  await h.service.openCard();
  const v = await h.service.verifyPin(DEMO_PIN);
  if (v.result !== 'ok') throw new Error('demo PIN refused');
  if (!h.station.professional().unlocked) {
    const p = await h.service.verifyProfessionalPin(PRO_PIN);
    if (p.result !== 'ok') throw new Error('demo professional PIN refused');
  }
  // The reads after the PIN (prescriptions, the professional authentication) are done: a fault
  // the test injects next hits what it means to.
  await h.service.settled();
}

/**
 * The card's dispensations read independently of the counter: its own transport and ChifaCard,
 * after putting the card back and powering it if needed. Verifying the PIN resets the card's
 * security state, so call it between scenarios, not in the middle of one.
 */
export async function readCardRecords(card: VirtualCard): Promise<DispensationRecord[]> {
  return (await readCard(card)).records;
}

export async function readCard(card: VirtualCard): Promise<{ serial: string; records: DispensationRecord[] }> {
  card.insert();
  const t = new InProcessTransport(card);
  const c = await ChifaCard.open(t);
  const r = await c.verifyPin(DEMO_PIN);
  if (r.kind !== 'ok') throw new Error(`cannot verify the demo PIN: ${r.kind}`);
  const out = (await c.readDispensations()).map(toDispensation);
  await t.close();
  // Leave the card as a fresh insertion for the counter (its PIN state is gone after a reset).
  card.remove();
  card.insert();
  return { serial: c.holder.cardSerial, records: out };
}

/**
 * A copy of a fixture card image in `dir`, changed by `edit` (its key paths made absolute), for a
 * test that needs a card the fixtures do not have.
 */
export function cardImage(dir: string, name: string, edit: (image: Record<string, unknown>) => void): string {
  const cards = path.join(__dirname, '../../../fixtures/cards');
  const image = JSON.parse(fs.readFileSync(path.join(cards, `${name}.json`), 'utf8')) as Record<string, unknown>;
  image.fundCa = path.join(cards, image.fundCa as string);
  edit(image);
  const file = path.join(dir, `${name}-edited.json`);
  fs.writeFileSync(file, JSON.stringify(image));
  return file;
}

/** The demo card's PUK (fixtures/cards/demo.json, TEST ONLY). */
export const DEMO_PUK = '12345678';

/**
 * The card's dispensations read from a copy of its memory, leaving the card itself alone: its
 * PIN try counter, its security state and its power stay as they are. The copy powers on as the
 * card would (recovering a torn write), and is unblocked with the PUK if its PIN is blocked.
 */
export async function peekCard(card: VirtualCard): Promise<{ serial: string; records: DispensationRecord[] }> {
  const copy = new VirtualCard(card.snapshot());
  const c = await ChifaCard.open(new InProcessTransport(copy));
  if (copy.triesLeft() === 0 && (await c.unblockPin(DEMO_PUK, DEMO_PIN)).kind !== 'ok') throw new Error('cannot unblock the copy');
  const r = await c.verifyPin(DEMO_PIN);
  if (r.kind !== 'ok') throw new Error(`cannot verify the demo PIN on the copy: ${r.kind}`);
  return { serial: c.holder.cardSerial, records: (await c.readDispensations()).map(toDispensation) };
}

export const basket = (lines: [string, number, number][], beneficiary = 1) => ({
  beneficiary,
  lines: lines.map(([code, quantity, durationDays]) => ({ code, quantity, durationDays })),
});

export const THREE_LINES = basket([
  ['N02BE01-01', 2, 5],
  ['M01AE01-01', 1, 7],
  ['A11GA01-01', 1, 20],
]);

/** Multiset difference keyed on every field of a record: what `all` has beyond `initial`. */
export function without(all: readonly DispensationRecord[], initial: readonly DispensationRecord[]): DispensationRecord[] {
  const key = (r: DispensationRecord) =>
    JSON.stringify([r.date, r.pharmacyId, r.rank, r.productCode, r.quantity, r.durationDays, r.invoiceNumber, r.prescriptionRef]);
  const left = new Map<string, number>();
  for (const r of initial) left.set(key(r), (left.get(key(r)) ?? 0) + 1);
  return all.filter((r) => {
    const n = left.get(key(r)) ?? 0;
    if (n > 0) {
      left.set(key(r), n - 1);
      return false;
    }
    return true;
  });
}

/**
 * The checkout invariant, checked against the journal and the card itself:
 * - every journal invoice (kind `invoice`) for this card has all its records on the card, or is
 *   cancelled by a credit note (and its card write says so);
 * - every record the counter wrote carries an invoice number that the journal holds for this card
 *   and product, with no more copies than the invoice has lines for that product.
 * Returns the card's new records (those not in the fixture's history).
 */
export async function expectInvariant(h: Harness): Promise<DispensationRecord[]> {
  const { serial, records: onCard } = await readCard(h.insured);
  const added = without(onCard, h.initialRecords);
  const rows = h.journal.db.prepare('SELECT number, kind, ref_number FROM invoices ORDER BY number').all() as {
    number: number;
    kind: string;
    ref_number: number | null;
  }[];
  const credited = new Set(rows.filter((r) => r.kind === 'credit-note').map((r) => r.ref_number));
  const docs = new Map<number, InvoiceDocument>();
  for (const r of rows) {
    if (r.kind !== 'invoice') continue;
    const doc = h.journal.invoice(r.number)!.document;
    docs.set(r.number, doc);
    if (doc.beneficiary.cardSerial !== serial) continue;
    const write = h.service.writes.get(r.number);
    if (credited.has(r.number)) {
      expect({ invoice: r.number, state: write?.state }).toEqual({ invoice: r.number, state: 'cancelled' });
      continue;
    }
    expect({ invoice: r.number, missing: missingRecords(recordsOfInvoice(doc), added) }).toEqual({ invoice: r.number, missing: [] });
    expect({ invoice: r.number, state: write?.state }).toEqual({ invoice: r.number, state: 'done' });
  }
  const perKey = new Map<string, number>();
  for (const rec of added) {
    expect(rec.invoiceNumber).not.toBeNull();
    const doc = docs.get(rec.invoiceNumber!);
    expect({ record: rec, hasInvoice: doc !== undefined }).toEqual({ record: rec, hasInvoice: true });
    expect(doc!.beneficiary.cardSerial).toBe(serial);
    const k = `${rec.invoiceNumber}/${rec.productCode}`;
    perKey.set(k, (perKey.get(k) ?? 0) + 1);
    const lines = doc!.lines.filter((l) => l.code === rec.productCode).length;
    expect({ key: k, copies: perKey.get(k) }).toEqual({ key: k, copies: Math.min(perKey.get(k)!, lines) });
  }
  // The counter's card_writes table beside the invoices does not disturb the journal's own check.
  const report = verifyJournal(h.journal.file);
  expect({ ok: report.ok, problems: report.problems }).toEqual({ ok: true, problems: [] });
  return added;
}
