import type { RecordDecoder, RecordList } from './files';

/**
 * Decoding left to do, done a share at a time while the following reads are on the wire. With a
 * real card each APDU takes milliseconds and decoding costs no time at all; through a fast
 * virtual reader, a share no longer than one round trip keeps the decoding from holding up the
 * answer the reader waits for.
 */
export class DecodeBacklog {
  private readonly jobs: { list: RecordList; out: unknown[]; decode: RecordDecoder<unknown> }[] = [];

  /** Queues `list`'s records; the array returned is complete once finish() has run. */
  records<T>(list: RecordList, decode: RecordDecoder<T>): T[] {
    const out: T[] = [];
    this.jobs.push({ list, out, decode });
    return out;
  }

  /**
   * Decodes `1 / windows` of what is left while `next` — the following read, already sent — is
   * on the wire, then waits for it. A decode error still waits for `next` to settle: the
   * session must not end, and let another caller's APDU in, while one of ours is in flight.
   */
  async during<R>(next: Promise<R>, windows: number): Promise<R> {
    try {
      this.step(Math.ceil(this.left() / windows));
    } catch (err) {
      await next.catch(() => undefined);
      throw err;
    }
    return next;
  }

  finish(): void {
    this.step(this.left());
  }

  private left(): number {
    let n = 0;
    for (const j of this.jobs) n += j.list.count - j.out.length;
    return n;
  }

  private step(n: number): void {
    for (const j of this.jobs) {
      if (n <= 0) return;
      const before = j.out.length;
      j.list.mapNext(j.out, n, j.decode);
      n -= j.out.length - before;
    }
  }
}
