/**
 * Fault injection, scriptable per test: what happens to the Nth APDU from now.
 *
 *   card.faults.removeAt({ apdu: 2, phase: 'during' })   // the 2nd APDU from now tears, card pulled
 *   card.faults.tearAt({ ins: 0xE2, step: 3 })           // the next APPEND RECORD loses power after 3 NVM steps
 *   card.faults.injectSw({ apdu: 1, sw: 0x6581 })        // the next APDU answers 6581, not executed
 *   card.faults.latencyMs = 5                             // every APDU takes 5 ms more
 *
 * A target counts APDUs from the moment the fault is armed: `apdu: 1` (the default) is the next
 * one; with `ins` only APDUs with that INS count. Each fault fires once.
 *
 * Phases of a removal: 'before' — the card leaves before the command reaches it (nothing runs);
 * 'during' — the power goes while it runs: at NVM step `step` (default 0, i.e. before any write;
 * `commit: true` = after the last one), and the response is lost; 'after' — the command completes
 * and its response is delivered, then the card leaves. A tear is a 'during' without the removal:
 * the card stays in the reader, unpowered, until the next power-on (which recovers the journal).
 */

export type RemovalPhase = 'before' | 'during' | 'after';

/** Which APDU a fault waits for. */
export interface FaultTarget {
  /** Which matching APDU from now (1 = the next). Default 1. */
  readonly apdu?: number;
  /** Only count APDUs with this INS. */
  readonly ins?: number;
}

/** When, within a command, the power goes. */
export interface TearSpec {
  /** Power goes after this many NVM programming steps of the command (see nvm.ts). */
  readonly step?: number;
  /** Shorthand: false = step 0 (nothing written), true = after the command's last write. */
  readonly commit?: boolean;
}

/** What the card must do with one APDU. */
export interface FaultAction {
  remove?: RemovalPhase;
  /** Steps after which the power goes (Infinity: after the command completed). */
  tearAfterSteps?: number;
  injectSw?: number;
}

interface Armed {
  remaining: number;
  ins: number | undefined;
  apply(action: FaultAction): void;
}

function stepsOf(t: TearSpec): number {
  if (t.step !== undefined) {
    if (!Number.isInteger(t.step) || t.step < 0) throw new RangeError('step must be an integer >= 0');
    return t.step;
  }
  return t.commit === true ? Infinity : 0;
}

/**
 * The faults armed on a card (`card.faults`). Targets count APDUs from the moment a fault is
 * armed (`apdu: 1` = the next; with `ins`, only those with that INS); each fires once. Removal
 * phases: `before` (nothing runs), `during` (the power goes after `step` NVM programming steps,
 * the answer is lost), `after` (the answer is delivered, then the card leaves). A tear is a
 * `during` that leaves the card in the reader, unpowered, until the next power-on recovers it.
 */
export class FaultScript {
  /** Added delay per APDU, in milliseconds (mimics a real card's processing time). */
  latencyMs = 0;
  /** APDUs seen since the card was created. */
  seen = 0;
  private armed: Armed[] = [];

  /** The card leaves the reader at the target APDU, `before`, `during` or `after` it. */
  removeAt(spec: FaultTarget & TearSpec & { phase: RemovalPhase }): this {
    const steps = spec.phase === 'during' ? stepsOf(spec) : undefined;
    return this.arm(spec, (a) => {
      a.remove = spec.phase;
      if (steps !== undefined) a.tearAfterSteps = steps;
    });
  }

  /** The power goes during the target APDU; the card stays in the reader, unpowered. */
  tearAt(spec: FaultTarget & TearSpec): this {
    const steps = stepsOf(spec);
    return this.arm(spec, (a) => {
      a.tearAfterSteps = steps;
    });
  }

  /** The target APDU is answered with `sw` without running. */
  injectSw(spec: FaultTarget & { sw: number }): this {
    if (!Number.isInteger(spec.sw) || spec.sw < 0 || spec.sw > 0xffff) throw new RangeError('sw must be 0..FFFF');
    return this.arm(spec, (a) => {
      a.injectSw = spec.sw;
    });
  }

  /** Disarms everything (latency included). */
  clear(): void {
    this.armed = [];
    this.latencyMs = 0;
  }

  /** Faults still waiting for their APDU. */
  get pending(): number {
    return this.armed.length;
  }

  /** @internal Called by the card for each APDU: the faults that fire on it. */
  take(apdu: Buffer): FaultAction | undefined {
    this.seen++;
    const ins = apdu.length >= 2 ? apdu[1]! : -1;
    let action: FaultAction | undefined;
    this.armed = this.armed.filter((f) => {
      if (f.ins !== undefined && f.ins !== ins) return true;
      if (--f.remaining > 0) return true;
      action ??= {};
      f.apply(action);
      return false;
    });
    return action;
  }

  private arm(t: FaultTarget, apply: (a: FaultAction) => void): this {
    const n = t.apdu ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError('apdu must be an integer >= 1');
    this.armed.push({ remaining: n, ins: t.ins, apply });
    return this;
  }
}
