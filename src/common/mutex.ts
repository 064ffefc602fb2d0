/**
 * A FIFO async mutex: callers run one at a time, in the order they called `run`, and a failure
 * releases the lock. Two callers sharing one card must never interleave APDUs: a VERIFY between
 * another caller's GET CHALLENGE and EXTERNAL AUTHENTICATE would break both (Ledger's transport
 * guards its exchange the same way). The counter uses it one level up for the same reason: a
 * checkout (sign, journal, authenticate, append) must not interleave with a PIN check.
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
