import { SyncError } from '../sync/errors';
import { mulberry32 } from '../common/prng';
import { REJECT_REASONS } from '../sync/protocol';

/**
 * Fault injection for the reference fund (`chifa fund --faults SPEC`), so integrators can prove
 * their uploader survives a bad network and a struggling fund.
 *
 * SPEC is a comma-separated list of `name=rate[:argument]`, rate in [0, 1]:
 *   drop=R             close the connection without answering, before processing the request
 *   drop-after=R       process and store the request, then close the connection without answering
 *   5xx=R              answer 500, 502 or 503 without processing
 *   retry-after=R[:S]  answer 503 with `Retry-After: S` (seconds, default 1) without processing
 *   latency=R[:A-B]    wait a random A–B ms (default 50-500) before handling
 *   partial=R          acknowledge only part of the invoices (`complete: false`)
 *   seed=N             seed of the fault random generator (reproducible runs)
 * and two deterministic ones, for a pharmacy's reconciliation to have something to explain
 * (each may be given more than once):
 *   reject-invoice=N:CODE   reject invoice number N (of any pharmacy) with reason code CODE,
 *                           whatever its content; its correction is judged on its own merits
 *   short-pay=B:C           when batch B (of any pharmacy) is settled, pay C centimes less than
 *                           accepted, kept back on its invoices with the largest fund shares
 * Example: `drop=0.05,drop-after=0.05,5xx=0.05,latency=0.3:5-50,partial=0.1,seed=7`.
 * Faults apply to the batch endpoints; the downlink sees latency, drops and 5xx too.
 */
export interface FaultSpec {
  drop: number;
  dropAfter: number;
  serverError: number;
  retryAfter: number;
  retryAfterSeconds: number;
  latency: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  partial: number;
  seed: number | null;
  /** Invoices rejected whatever they hold (`reject-invoice=N:CODE`). */
  rejectInvoices: readonly { number: number; code: string }[];
  /** Batches paid short at settlement (`short-pay=B:C`). */
  shortPayments: readonly { batchId: number; centimes: number }[];
}

export const NO_FAULTS: FaultSpec = {
  drop: 0,
  dropAfter: 0,
  serverError: 0,
  retryAfter: 0,
  retryAfterSeconds: 1,
  latency: 0,
  latencyMinMs: 50,
  latencyMaxMs: 500,
  partial: 0,
  seed: null,
  rejectInvoices: [],
  shortPayments: [],
};

/** A fault SPEC that does not parse; `field` names the bad item. */
export class FaultSpecError extends SyncError {
  constructor(field: string, message: string) {
    super('bad-fault-spec', `--faults: ${field}: ${message}`, field);
  }
}

/** Parses a fault SPEC (see FaultSpec); throws FaultSpecError naming the bad item. */
export function parseFaults(spec: string | undefined): FaultSpec {
  const f: FaultSpec = { ...NO_FAULTS };
  const rejects: { number: number; code: string }[] = [];
  const shorts: { batchId: number; centimes: number }[] = [];
  if (spec === undefined || spec.trim() === '') return f;
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const m = /^([a-z0-9-]+)=([^:]+)(?::(.+))?$/.exec(item);
    if (!m) throw new FaultSpecError(item, 'expected name=rate[:argument]');
    const [, name, rateText, arg] = m as unknown as [string, string, string, string | undefined];
    if (name === 'seed') {
      if (!/^\d+$/.test(rateText) || arg !== undefined) throw new FaultSpecError(name, 'expected a non-negative integer');
      f.seed = Number(rateText);
      continue;
    }
    if (name === 'reject-invoice') {
      if (!/^[1-9]\d{0,14}$/.test(rateText)) throw new FaultSpecError(name, 'expected an invoice number N (reject-invoice=N:CODE)');
      if (arg === undefined || !/^[A-Z][A-Z0-9_]{1,63}$/.test(arg))
        throw new FaultSpecError(name, 'expected a reason code of capitals, digits and _ (reject-invoice=N:CODE)');
      rejects.push({ number: Number(rateText), code: arg });
      continue;
    }
    if (name === 'short-pay') {
      if (!/^[1-9]\d{0,14}$/.test(rateText)) throw new FaultSpecError(name, 'expected a batch number B (short-pay=B:CENTIMES)');
      if (arg === undefined || !/^[1-9]\d{0,14}$/.test(arg))
        throw new FaultSpecError(name, 'expected whole centimes ≥ 1 (short-pay=B:CENTIMES)');
      shorts.push({ batchId: Number(rateText), centimes: Number(arg) });
      continue;
    }
    const rate = Number(rateText);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(rateText) || !(rate >= 0 && rate <= 1))
      throw new FaultSpecError(name, `rate ${JSON.stringify(rateText)} is not a number from 0 to 1`);
    const noArg = (): void => {
      if (arg !== undefined) throw new FaultSpecError(name, 'takes no argument');
    };
    switch (name) {
      case 'drop':
        noArg();
        f.drop = rate;
        break;
      case 'drop-after':
        noArg();
        f.dropAfter = rate;
        break;
      case '5xx':
        noArg();
        f.serverError = rate;
        break;
      case 'partial':
        noArg();
        f.partial = rate;
        break;
      case 'retry-after':
        f.retryAfter = rate;
        if (arg !== undefined) {
          if (!/^\d+$/.test(arg) || Number(arg) > 3600) throw new FaultSpecError(name, 'the argument is whole seconds, at most 3600');
          f.retryAfterSeconds = Number(arg);
        }
        break;
      case 'latency': {
        f.latency = rate;
        if (arg !== undefined) {
          const lm = /^(\d+)-(\d+)(?:ms)?$/.exec(arg);
          if (!lm || Number(lm[1]) > Number(lm[2]) || Number(lm[2]) > 60_000)
            throw new FaultSpecError(name, 'the argument is MIN-MAX milliseconds (at most 60000)');
          f.latencyMinMs = Number(lm[1]);
          f.latencyMaxMs = Number(lm[2]);
        }
        break;
      }
      default:
        throw new FaultSpecError(
          name,
          'unknown fault (drop, drop-after, 5xx, retry-after, latency, partial, seed, reject-invoice, short-pay)',
        );
    }
  }
  return { ...f, rejectInvoices: rejects, shortPayments: shorts };
}

/** The fault decisions for one request, drawn from a seeded generator. */
export class FaultInjector {
  readonly spec: FaultSpec;
  private readonly rand: () => number;

  constructor(spec: FaultSpec) {
    this.spec = spec;
    this.rand = spec.seed === null ? Math.random : mulberry32(spec.seed);
  }

  /** Whether any fault can fire. */
  get active(): boolean {
    const s = this.spec;
    return s.drop + s.dropAfter + s.serverError + s.retryAfter + s.latency + s.partial > 0;
  }

  /** @internal Whether a fault of this rate fires now. */
  roll(rate: number): boolean {
    return rate > 0 && this.rand() < rate;
  }

  /** @internal The delay to add to this request, ms. */
  latencyMs(): number {
    const s = this.spec;
    if (!this.roll(s.latency)) return 0;
    return s.latencyMinMs + Math.floor(this.rand() * (s.latencyMaxMs - s.latencyMinMs + 1));
  }

  /** @internal One of `xs`, at random. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** @internal A number in [0, 1) from the seeded generator. */
  random(): number {
    return this.rand();
  }

  /** The outcome forced on invoice `number` by `reject-invoice`, if any. */
  forcedRejection(number: number): { status: 'rejected'; code: string; reason: string } | undefined {
    const r = this.spec.rejectInvoices.find((x) => x.number === number);
    if (!r) return undefined;
    const known = (REJECT_REASONS as Record<string, string>)[r.code];
    return {
      status: 'rejected',
      code: r.code,
      reason: `${known ?? "rejected on the fund's control"}: invoice ${number} (fault injected: reject-invoice=${number}:${r.code})`,
    };
  }

  /** Centimes batch `batchId` is paid short by (`short-pay`), 0 if none. */
  shortPayment(batchId: number): number {
    return this.spec.shortPayments.filter((x) => x.batchId === batchId).reduce((n, x) => n + x.centimes, 0);
  }
}
