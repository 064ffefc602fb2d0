import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { createApp } from '../../../src/pos/http/app';
import { EventTickets, TICKET_TTL_MS } from '../../../src/pos/http/events';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { captureLogger, DEMO_PIN, NOW, THREE_LINES, tmpDir } from '../counter/harness';
import { SseClient, type SseEvent } from './sse';

/**
 * `GET /api/events` over real HTTP: who may open it (the bearer token, or a single-use ticket —
 * never the token in the URL), what it sends (hello, then the counter's events with ids, a
 * heartbeat), reconnection with Last-Event-ID, and the events of a PIN, a read and a checkout.
 */

let counter: RunningCounter;
let station: EmulatedStation;
let logs: string[];
const clients: SseClient[] = [];

beforeAll(async () => {
  const dir = tmpDir('chifa-events-');
  const cap = captureLogger();
  logs = cap.lines;
  station = EmulatedStation.openDemo(dir);
  counter = await startCounter({ dataDir: dir, port: 0, logger: cap.logger, station, now: () => NOW });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await counter?.close();
});

const bearer = () => ({ Authorization: `Bearer ${counter.token}` });

async function sse(path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await SseClient.open(counter.url, path, headers);
  clients.push(c);
  return c;
}

async function post(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(counter.url + path, {
    method: 'POST',
    headers: { ...bearer(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

const ofType = (type: string) => (e: SseEvent) => e.event === type;

test('a ticket opens one stream: hello, then the counter events with their ids', async () => {
  const t = await post('/api/events/ticket');
  expect(t.status).toBe(200);
  expect(t.json).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresInMs: TICKET_TTL_MS });
  const c = await sse(`/api/events?ticket=${t.json.ticket}`);
  expect(c.status).toBe(200);
  expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  expect(c.headers['cache-control']).toBe('no-store');
  expect(c.headers['content-security-policy']).toContain("default-src 'none'");
  const hello = await c.next(ofType('hello'));
  expect(hello).toEqual({ id: undefined, event: 'hello', data: { boot: counter.service.events.boot, resync: true } });
  expect(c.retry).toBeGreaterThan(0);

  await post('/api/demo/insured/remove');
  const out = await c.next((e) => e.event === 'station' && (e.data as { insured: unknown }).insured === null);
  expect(out.id).toMatch(new RegExp(`^${counter.service.events.boot}\\.\\d+$`));
  expect(out.data).toMatchObject({ professional: expect.any(Number), serviceAvailable: true, readers: 2 });
  await post('/api/demo/insured/insert');
  await c.next((e) => e.event === 'station' && (e.data as { insured: unknown }).insured !== null);

  // Used once: the same ticket opens nothing.
  const again = await sse(`/api/events?ticket=${t.json.ticket}`);
  expect(again.status).toBe(401);
  expect(JSON.parse(again.body)).toMatchObject({ error: { code: 'unauthorized' } });
  // The query string is not logged: neither the ticket nor anything else in it.
  expect(logs.some((l) => l.includes(t.json.ticket))).toBe(false);
});

test('without the token or a ticket: 401; the token itself is never taken from the URL', async () => {
  const none = await sse('/api/events');
  expect(none.status).toBe(401);
  expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
  expect((await sse(`/api/events?token=${counter.token}`)).status).toBe(401);
  expect((await sse(`/api/events?ticket=${counter.token}`)).status).toBe(401);
  expect((await sse('/api/events', { Authorization: `Bearer ${counter.token}x` })).status).toBe(401);
  const bad = await sse('/api/events?ticket=short');
  expect(bad.status).toBe(400);
  expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'invalid-input', field: 'ticket' } });
  const twice = await sse(`/api/events?lastEventId=a&lastEventId=b`, bearer());
  expect(JSON.parse(twice.body)).toMatchObject({ error: { code: 'invalid-input', field: 'lastEventId' } });
  // The ticket route itself needs the token.
  expect((await fetch(`${counter.url}/api/events/ticket`, { method: 'POST' })).status).toBe(401);
});

test('reconnecting with Last-Event-ID gets what was missed; an unknown id is told to reload', async () => {
  const first = await sse('/api/events', bearer());
  await first.next(ofType('hello'));
  await post('/api/demo/insured/remove');
  const seen = await first.next(ofType('station'));
  first.close();
  // Missed while disconnected:
  await post('/api/demo/insured/insert');
  await post('/api/demo/professional/remove');
  await post('/api/demo/professional/insert');
  const missed = counter.service.events.since(seen.id!)!;
  expect(missed.length).toBeGreaterThanOrEqual(3);

  for (const c of [
    await sse('/api/events', { ...bearer(), 'Last-Event-ID': seen.id! }),
    await sse(`/api/events?lastEventId=${seen.id!}`, bearer()),
  ]) {
    await c.next(ofType('hello'));
    expect(c.events[0]!.data).toMatchObject({ resync: false });
    await c.until(() => c.events.length > missed.length);
    expect(c.events.slice(1, 1 + missed.length).map((e) => e.id)).toEqual(missed.map((e) => e.id));
  }
  for (const id of ['other.3', `${counter.service.events.boot}.999999999`, 'x']) {
    const c = await sse('/api/events', { ...bearer(), 'Last-Event-ID': id });
    expect((await c.next(ofType('hello'))).data).toMatchObject({ resync: true });
  }
  await counter.service.verifyProfessionalPin('0000');
});

test('the PIN, the reading and a checkout as events', async () => {
  const c = await sse('/api/events', bearer());
  await c.next(ofType('hello'));
  await post('/api/card/open');
  const v = await post('/api/card/verify', { pin: DEMO_PIN });
  expect(v.json).toMatchObject({ result: 'ok', card: { reading: { history: { complete: true } } } });
  const stage = (s: string) => (e: SseEvent) => e.event === 'card' && (e.data as { stage: string }).stage === s;
  for (const s of ['opened', 'verified', 'rights', 'pricing', 'prescriptions']) await c.next(stage(s));
  const progress = await c.next(ofType('read-progress'));
  expect(progress.data).toMatchObject({ file: 'dispensations', complete: true });
  const out = await post('/api/checkout', THREE_LINES);
  expect(out.status).toBe(201);
  const writes = [];
  for (let from = 0; writes.length === 0 || (writes.at(-1)!.data as { state: string }).state === 'writing';) {
    const e = await c.next(ofType('write-progress'), from);
    from = c.events.indexOf(e) + 1;
    writes.push(e);
  }
  expect(writes.map((e) => (e.data as { written: number }).written)).toEqual([0, 1, 2, 3, 3]);
  expect(writes.at(-1)!.data).toEqual({ invoiceNumber: out.json.invoice.number, written: 3, records: 3, state: 'done' });
  // The whole history on demand.
  const h = await post('/api/card/history');
  expect(h.json.reading.history.complete).toBe(true);
  await c.next(stage('history'));
});

test('heartbeat comments, and a closed client unsubscribes', async () => {
  const app = createApp({
    service: counter.service,
    token: counter.token,
    logger: captureLogger().logger,
    checkHost: true,
    eventHeartbeatMs: 30,
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The streams of the tests before are closed (the server notices a moment later).
    for (let i = 0; counter.service.events.subscribers > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    expect(counter.service.events.subscribers).toBe(0);
    const c = await SseClient.open(url, '/api/events', bearer());
    await c.until(() => c.comments >= 3);
    expect(counter.service.events.subscribers).toBe(1);
    c.close();
    await c.until(() => counter.service.events.subscribers === 0);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('tickets: single use, and no longer good after their time', () => {
  let now = 1_000_000;
  const tickets = new EventTickets(() => now);
  const a = tickets.issue().ticket;
  const b = tickets.issue().ticket;
  expect(a).not.toBe(b);
  expect(tickets.take(a)).toBe(true);
  expect(tickets.take(a)).toBe(false);
  now += TICKET_TTL_MS + 1;
  expect(tickets.take(b)).toBe(false);
  // Never more than a bounded number waiting: the oldest go first.
  const many = Array.from({ length: 200 }, () => tickets.issue().ticket);
  expect(tickets.take(many[0]!)).toBe(false);
  expect(tickets.take(many.at(-1)!)).toBe(true);
});
