import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRules } from '../../src/billing/rules/load';
import { mulberry32 } from '../../src/common/prng';
import { computeSplit, type SplitLine } from '../../src/billing/split';
import { draftFromSplit, type InvoiceDraft } from '../../src/sync/invoice';
import { FundVerifier } from '../../src/sync/fund-verifier';
import { fundEndpoint, type EndpointOptions, type FundEndpoint } from '../../src/sync/http';
import type { JwsType } from '../../src/sync/jws';
import { RequestAuthenticator } from '../../src/sync/request-auth';
import { SoftwareSigner } from '../../src/sync/signer';

export const ROOT = path.resolve(__dirname, '..', '..');
export const KEYS = path.join(ROOT, 'fixtures', 'keys');
export const key = (name: string): string => path.join(KEYS, name);

export function signer(n: 1 | 2 = 1): SoftwareSigner {
  return SoftwareSigner.fromFiles(key(`pharmacy-${n}.key.pem`), key(`pharmacy-${n}.cert.pem`));
}

export function rogueSigner(): SoftwareSigner {
  return SoftwareSigner.fromFiles(key('rogue-pharmacy.key.pem'), key('rogue-pharmacy.cert.pem'));
}

export function tmpDir(prefix = 'chifa-sync-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const rules = loadRules();

/** A small deterministic PRNG (mulberry32), so generated invoices are reproducible. */
export const prng = mulberry32;

/** A realistic invoice draft, priced by the real split engine with the shipped rules. */
export function sampleDraft(i: number, options: { date?: string; cardSerial?: string } = {}): InvoiceDraft {
  const r = prng(i + 1);
  const n = 1 + Math.floor(r() * 4);
  const lines: SplitLine[] = [];
  for (let k = 0; k < n; k++) {
    const unitPrice = 5000 + Math.floor(r() * 90000);
    const ref = r() < 0.3 ? null : Math.floor(unitPrice * (0.6 + r() * 0.5));
    const quantity = 1 + Math.floor(r() * 3);
    const prescribed = r() < 0.4 ? Math.floor(r() * 5) + 1 : undefined;
    lines.push({
      code: `P${String(1000 + Math.floor(r() * 9000))}`,
      quantity,
      unitPrice,
      referencePrice: ref,
      reimbursable: r() < 0.9,
      priorApproval: false,
      durationDays: [7, 30, 90, 120][Math.floor(r() * 4)]!,
      ...(prescribed !== undefined ? { prescribed: { quantity: prescribed, alreadyDispensed: Math.floor(r() * 2) } } : {}),
      ...(r() < 0.2 ? { replaces: { code: `G${String(1000 + Math.floor(r() * 9000))}`, referencePrice: r() < 0.5 ? null : ref } } : {}),
    });
  }
  const category = (['ordinary', 'chronic', 'retiree', 'mutualist', 'work-accident'] as const)[Math.floor(r() * 5)]!;
  const basket = { date: options.date ?? '2024-03-15', lines, prescription: `RX-${i}` };
  const context = r() < 0.3 ? { category, prescriptionHistory: [{ reference: `RX-${i - 1}`, date: '2024-02-01' }] } : { category };
  const split = computeSplit(basket, rules, context);
  return draftFromSplit({
    split,
    basket,
    context,
    fund: r() < 0.8 ? 'CNAS' : 'CASNOS',
    beneficiary: { cardSerial: options.cardSerial ?? `C${String(100000 + Math.floor(r() * 900000))}`, rank: 1 + Math.floor(r() * 3) },
    prescription: { reference: `RX-${i}`, date: basket.date, prescriber: 'Dr Test' },
  });
}

/** The first sample draft from `from` on with a line the fund pays part of (a share to shift by a centime). */
export function partlyPaidDraft(from = 7): { draft: InvoiceDraft; line: number } {
  for (let k = from; ; k++) {
    const draft = sampleDraft(k);
    const line = draft.lines.findIndex((l) => l.fund > 0 && l.fund < l.base);
    if (line >= 0) return { draft, line };
  }
}

/**
 * A partly paid draft (`good`) and the same with one centime of its `line` shifted from the
 * patient to the fund (`bad`): the arithmetic still holds, the rules do not, so the fund rejects it.
 */
export function wrongSplitDraft(): { good: InvoiceDraft; bad: InvoiceDraft; line: number } {
  const { draft: good, line } = partlyPaidDraft();
  const bad: InvoiceDraft = structuredClone(good);
  bad.lines[line]!.fund += 1;
  bad.lines[line]!.patient -= 1;
  bad.totals.fund += 1;
  bad.totals.patient -= 1;
  return { good, bad, line };
}

/** Resources a test opened: closed after each test even when an assertion failed midway. */
const cleanups: (() => unknown)[] = [];
export function onCleanup<T extends { close(): unknown }>(resource: T): T {
  cleanups.push(() => resource.close());
  return resource;
}
afterEach(async () => {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // already closed
    }
  }
});

/** The TEST ONLY fund CA, as a terminal trusts it for the fund's signatures. */
export function fundVerifier(): FundVerifier {
  return FundVerifier.fromFiles([key('fund-ca.pem')]);
}

/** What a pharmacy needs to talk to the fund: its card's key for requests, the fund CA for answers. */
export function credentials(n: 1 | 2 = 1): { auth: RequestAuthenticator; verifier: FundVerifier } {
  return { auth: new RequestAuthenticator(signer(n)), verifier: fundVerifier() };
}

/** A fund endpoint for pharmacy `n`. */
export function pharmacyEndpoint(url: string, n: 1 | 2 = 1, options: EndpointOptions = {}): FundEndpoint {
  return fundEndpoint(url, { ...credentials(n), ...options });
}

/** The payload of a signed answer body `{ jws, certificate }`, verified against the TEST fund CA. */
export function signedPayload(json: unknown, typ: JwsType = 'chifa-ack+jws'): any {
  return fundVerifier().verifyAnswer(Buffer.from(JSON.stringify(json)), typ, 'answer').payload;
}
