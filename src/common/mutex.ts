/**
 * A FIFO async mutex. Two callers sharing one card must never interleave APDUs: a VERIFY between
 * another caller's GET CHALLENGE and EXTERNAL AUTHENTICATE would break both (Ledger's transport
 * guards its exchange the same way).
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const prev = this.tail;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
      release();
    }
  }
}
