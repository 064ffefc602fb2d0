/**
 * One card operation at a time: the counter has one insured card and one professional card, and
 * a checkout (sign, journal, authenticate, append) must not interleave with a PIN check or a
 * recovery. Callers queue in order; a failure releases the lock.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      this.held = true;
      try {
        return await fn();
      } finally {
        this.held = false;
      }
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
