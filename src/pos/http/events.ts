import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { CounterEvent, CounterEvents } from '../counter/events';
import { tokensEqual } from './auth';
import { HttpError } from './errors';
import { hasBody } from './request-body';

/**
 * `GET /api/events`: the counter's event bus (src/pos/counter/events.ts) as Server-Sent Events
 * (WHATWG HTML, "Server-sent events"), so the page hears of cards, reads, writes and uploads as
 * they happen instead of polling.
 *
 * Authentication: `Authorization: Bearer <token>` like the rest of the API — but a browser's
 * EventSource cannot set headers, so the page first gets a **ticket** with its token
 * (`POST /api/events/ticket`) and opens `/api/events?ticket=…`. A ticket is good for one stream,
 * opened within `TICKET_TTL_MS`: what ends up in a URL (and in whatever logs URLs) is worthless
 * once used. The token itself never goes in a URL.
 *
 * The stream: a `retry:` line (reconnection delay), a `hello` event (no id: `{ boot, resync }`),
 * the events missed since `Last-Event-ID` (the header an EventSource sends when it reconnects,
 * or `?lastEventId=` for a page that opens a new one) — or `resync: true` when they cannot be told
 * (first connection, another process, too old): the client reloads its state — then every new
 * event with its `id`. A comment line every `heartbeatMs` keeps proxies from closing an idle
 * stream, and a write to a dead connection makes it fail and be cleaned up.
 */

/** How long a ticket may wait before its stream is opened. */
export const TICKET_TTL_MS = 30_000;
/** Tickets not yet used, at most: the oldest go first. */
const MAX_TICKETS = 64;
/** The `retry:` sent: how long an EventSource waits before reconnecting by itself. */
export const RETRY_MS = 1_000;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** A client that lets this much pile up unread is cut off (it reconnects and gets what it missed). */
const MAX_BUFFERED = 1 << 20;

const TICKET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface EventStreamOptions {
  events: CounterEvents;
  token: string;
  logger: Logger;
  heartbeatMs?: number;
  now?: () => number;
}

/** Single-use tickets for opening an event stream. */
export class EventTickets {
  private readonly tickets = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(): { ticket: string; expiresInMs: number } {
    this.prune();
    while (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(ticket, this.now() + TICKET_TTL_MS);
    return { ticket, expiresInMs: TICKET_TTL_MS };
  }

  /** True (and the ticket is spent) if it was issued, not used and not expired. */
  take(ticket: string): boolean {
    const until = this.tickets.get(ticket);
    if (until === undefined) return false;
    this.tickets.delete(ticket);
    return until >= this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [t, until] of this.tickets) if (until < now) this.tickets.delete(t);
  }
}

function oneQueryValue(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new HttpError(400, 'invalid-input', `${name}: expected one value`, name);
}

function frame(e: CounterEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export function eventStream(o: EventStreamOptions): {
  tickets: EventTickets;
  ticket: (req: Request, res: Response) => void;
  stream: (req: Request, res: Response, next: NextFunction) => void;
} {
  const tickets = new EventTickets(o.now);
  const heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

  const authorized = (req: Request): boolean => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(h) : null;
    if (m) return tokensEqual(o.token, m[1]!);
    const ticket = oneQueryValue(req, 'ticket');
    if (ticket === undefined) return false;
    if (!TICKET_SHAPE.test(ticket))
      throw new HttpError(400, 'invalid-input', 'ticket: expected a ticket from POST /api/events/ticket', 'ticket');
    return tickets.take(ticket);
  };

  const stream = (req: Request, res: Response, next: NextFunction): void => {
    let lastId: string | undefined;
    try {
      const ok = authorized(req);
      if (!ok) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="chifa-counter"');
        throw new HttpError(
          401,
          'unauthorized',
          'the event stream needs `Authorization: Bearer <token>` or a fresh ticket (POST /api/events/ticket)',
        );
      }
      // Nothing would read it, and a stream that never ends must not leave a body half read.
      if (hasBody(req)) throw new HttpError(400, 'invalid-input', 'the event stream takes no request body', 'body');
      const header = req.headers['last-event-id'];
      lastId = (typeof header === 'string' && header !== '' ? header : undefined) ?? oneQueryValue(req, 'lastEventId');
      if (lastId !== undefined && lastId.length > 64)
        throw new HttpError(400, 'invalid-input', 'lastEventId: at most 64 characters', 'lastEventId');
    } catch (err) {
      next(err);
      return;
    }

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    req.socket.setNoDelay(true);

    let closed = false;
    const write = (text: string): void => {
      if (closed) return;
      res.write(text);
      if (res.writableLength > MAX_BUFFERED) {
        o.logger.warn({ buffered: res.writableLength }, 'event stream client too slow; disconnected');
        res.destroy();
      }
    };
    const missed = lastId !== undefined ? o.events.since(lastId) : null;
    write(`retry: ${RETRY_MS}\n\n`);
    write(`event: hello\ndata: ${JSON.stringify({ boot: o.events.boot, resync: missed === null })}\n\n`);
    for (const e of missed ?? []) write(frame(e));
    const unsubscribe = o.events.subscribe((e) => write(frame(e)));
    const heartbeat = setInterval(() => write(': \n\n'), heartbeatMs);
    heartbeat.unref();
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
  };

  const ticket = (_req: Request, res: Response): void => {
    res.json(tickets.issue());
  };

  return { tickets, ticket, stream };
}
