import type { FaultScript, RemovalPhase } from '../emulator/faults';

/**
 * Faults for an emulated card, as values: give them to `startCard(image, { faults: [...] })`
 * or to `card.inject(...)`. APDUs count from the moment the fault is armed (1 = the next one);
 * each fault fires once. They drive the emulator's fault script (docs/emulator.md, "Faults").
 */
export type CardFault =
  | {
      readonly kind: 'remove';
      readonly apdu: number;
      readonly phase: RemovalPhase;
      /** Only count APDUs with this INS. */
      readonly ins?: number;
      /** With phase 'during': NVM programming steps done before the power goes. */
      readonly step?: number;
    }
  | {
      readonly kind: 'tear';
      readonly ins: number;
      /** NVM programming steps done before the power goes (absent: see `commit`). */
      readonly step?: number;
      /** false: before any write (old state); true: after the last write, answer lost (new state). */
      readonly commit?: boolean;
    }
  | { readonly kind: 'status-word'; readonly sw: number; readonly apdu: number; readonly ins?: number }
  | { readonly kind: 'latency'; readonly ms: number };

/** INS of APPEND RECORD (ISO/IEC 7816-4 §7.3.7), the command that writes a dispensation. */
const APPEND_RECORD = 0xe2;

/**
 * The card leaves the reader at the `apdu`-th APDU from now: `before` it reaches the card (the
 * default; nothing runs), `during` it (the answer is lost; with `step`, after that many NVM
 * programming steps), or `after` it (the answer is delivered, then the card leaves).
 */
export function removeAt(apdu: number, phase: RemovalPhase = 'before', options: { ins?: number; step?: number } = {}): CardFault {
  return { kind: 'remove', apdu, phase, ...options };
}

/**
 * The next APPEND RECORD (a dispensation or prescription being written) loses power while it runs;
 * the card stays in the reader, unpowered, until the next power-on runs the anti-tearing recovery.
 * Default: before any write (the card keeps its old state); `{ commit: true }`: after the last
 * write, with the answer lost (the new record is there); `{ step }`: after that many steps.
 */
export function tearNextAppend(options: { commit?: boolean; step?: number } = {}): CardFault {
  return { kind: 'tear', ins: APPEND_RECORD, ...options };
}

/** The next APDU with INS `ins` loses power while it runs (see {@link tearNextAppend}). */
export function tearNext(ins: number, options: { commit?: boolean; step?: number } = {}): CardFault {
  return { kind: 'tear', ins, ...options };
}

/** The `apdu`-th APDU from now (default the next; only those with `ins` if given) is answered `sw` without running. */
export function statusWord(sw: number, options: { apdu?: number; ins?: number } = {}): CardFault {
  return { kind: 'status-word', sw, apdu: options.apdu ?? 1, ...(options.ins !== undefined ? { ins: options.ins } : {}) };
}

/** Every APDU from now takes `ms` more milliseconds (0 removes the latency). */
export function latency(ms: number): CardFault {
  return { kind: 'latency', ms };
}

/** Arms `fault` on an emulated card's fault script. */
export function armFault(script: FaultScript, fault: CardFault): void {
  switch (fault.kind) {
    case 'remove':
      script.removeAt({
        apdu: fault.apdu,
        phase: fault.phase,
        ...(fault.ins !== undefined ? { ins: fault.ins } : {}),
        ...(fault.step !== undefined ? { step: fault.step } : {}),
      });
      return;
    case 'tear':
      script.tearAt({
        ins: fault.ins,
        ...(fault.step !== undefined ? { step: fault.step } : {}),
        ...(fault.commit !== undefined ? { commit: fault.commit } : {}),
      });
      return;
    case 'status-word':
      script.injectSw({ sw: fault.sw, apdu: fault.apdu, ...(fault.ins !== undefined ? { ins: fault.ins } : {}) });
      return;
    case 'latency':
      if (!Number.isFinite(fault.ms) || fault.ms < 0) throw new RangeError('latency must be a number of milliseconds >= 0');
      script.latencyMs = fault.ms;
      return;
  }
}
