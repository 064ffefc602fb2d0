import * as http from 'node:http';

/**
 * A Server-Sent Events client over node:http for the tests (the browser's EventSource is in the
 * Chromium test): it keeps every event and comment it read, and waits for the ones a test wants.
 */

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  retry: number | undefined;
  closed = false;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly req: http.ClientRequest,
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly body: string,
  ) {}

  /** Opens `path` on `baseUrl`; a non-200 answer is read whole and returned with its body. */
  static open(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const url = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: Number(url.port), method: 'GET', path, headers, agent: false });
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(new SseClient(req, res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        const c = new SseClient(req, 200, res.headers, '');
        res.setEncoding('utf8');
        res.on('data', (text: string) => c.feed(text));
        const end = () => {
          c.closed = true;
          c.wake();
        };
        res.on('end', end);
        res.on('error', end);
        res.on('close', end);
        resolve(c);
      });
      req.end();
    });
  }

  /** The first event (from index `from` on) that `match` accepts; waits for it up to `timeoutMs`. */
  async next(match: (e: SseEvent) => boolean, from = 0, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`stream closed; events: ${this.events.map((e) => e.event).join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such event in ${timeoutMs} ms; events: ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits until `check()` holds (checked after each thing read). */
  async until(check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.req.destroy();
  }

  private feed(text: string): void {
    this.buffer += text;
    let at: number;
    while ((at = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments++;
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'id') id = value;
        else if (name === 'event') event = value;
        else if (name === 'data') data.push(value);
        else if (name === 'retry') this.retry = Number(value);
      }
      if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) as unknown });
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
