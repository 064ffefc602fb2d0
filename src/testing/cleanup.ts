/**
 * What the kit's helpers started and have not stopped yet, so `stopAll()` (in an afterAll /
 * after hook) can release everything a failing test left behind.
 */

/** Something a helper started: it stops idempotently. */
export interface Stoppable {
  stop(): Promise<void>;
}

const live = new Set<Stoppable>();

/** Remembers `s` until it stops. */
export function track(s: Stoppable): void {
  live.add(s);
}

/** Forgets `s` (it stopped). */
export function untrack(s: Stoppable): void {
  live.delete(s);
}

/**
 * Stops every card and fund the kit started that is still running (each helper's own `stop()`
 * is the usual way; this is the safety net for a test that failed half-way). Call it from
 * `afterAll` (jest, vitest) or `after` (node:test).
 */
export async function stopAll(): Promise<void> {
  const all = [...live];
  live.clear();
  const results = await Promise.allSettled(all.map((s) => s.stop()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
