import type { Router } from 'express';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { createApp } from '../../../src/pos/http/app';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { SchemaChecker, type JsonSchema } from '../../support/json-schema';
import { captureLogger, NOW, tmpDir } from '../counter/harness';
import { rawRequest } from '../../support/raw-http';

/**
 * The API's own description, `/api/openapi.json` (OpenAPI 3.1, generated from the zod schemas the
 * server validates with): it is served without the token; it names every route the express app
 * mounts (found by walking the app's router stack, not from the route table) and nothing else;
 * and REAL answers of a running counter — demo cards, real SQLite files, loopback HTTP — conform
 * to the response schema the document gives for their route and status, errors included. Every
 * documented operation gets at least one real answer checked.
 */

interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: { 'application/json'?: { schema: JsonSchema }; 'text/csv'?: { schema: JsonSchema } } }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Partial<Record<'get' | 'post', Operation>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

let counter: RunningCounter;
let station: EmulatedStation;
let doc: Document;
let checker: SchemaChecker;
/** `get /api/x/{y}` → statuses answered and checked. */
const seen = new Map<string, Set<number>>();

beforeAll(async () => {
  const { logger } = captureLogger();
  station = EmulatedStation.openDemo(tmpDir('chifa-openapi-'));
  counter = await startCounter({ dataDir: tmpDir('chifa-openapi-'), port: 0, logger, station, now: () => NOW });
  const res = await fetch(`${counter.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
  checker = new SchemaChecker(doc);
});

afterAll(async () => {
  await counter?.close();
});

const templateRegex = (t: string): RegExp => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`);

/** The documented operation `path` (no query) falls under. */
function operationFor(method: string, path: string): { key: string; op: Operation } {
  const matches = Object.keys(doc.paths).filter((t) => templateRegex(t).test(path) && doc.paths[t]![method as 'get' | 'post']);
  // A literal segment wins over a parameter (`/invoices/rejected` over `/invoices/{number}`): fewest parameters first.
  matches.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  const t = matches[0];
  if (t === undefined) throw new Error(`${method.toUpperCase()} ${path} is not in the API description`);
  return { key: `${method} ${t}`, op: doc.paths[t]![method as 'get' | 'post']! };
}

/** Checks a real answer against the document: its status is documented for the route, and its body fits the schema. */
function conform(method: string, path: string, status: number, body: unknown): void {
  const { key, op } = operationFor(method.toLowerCase(), path.split('?')[0]!);
  const response = op.responses[String(status)];
  expect({ route: key, status, documented: response !== undefined }).toEqual({ route: key, status, documented: true });
  const schema = response!.content?.['application/json']?.schema;
  expect({ route: key, status, schema: schema !== undefined }).toEqual({ route: key, status, schema: true });
  expect({ route: key, status, problems: checker.check(schema!, body) }).toEqual({ route: key, status, problems: [] });
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key)!.add(status);
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  options: { token?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== false) headers.Authorization = `Bearer ${counter.token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(counter.url + path, init);
  const json = (await res.json()) as unknown;
  conform(method, path, res.status, json);
  return { status: res.status, json };
}

/** A CSV answer (`?format=csv`): 200, `text/csv`, and the document says the route answers CSV. */
async function csvAnswer(path: string): Promise<string> {
  const res = await fetch(counter.url + path, { headers: { Authorization: `Bearer ${counter.token}` } });
  const { key, op } = operationFor('get', path.split('?')[0]!);
  expect({ route: key, status: res.status, type: res.headers.get('content-type') }).toEqual({
    route: key,
    status: 200,
    type: 'text/csv; charset=utf-8',
  });
  expect({ route: key, csv: Object.keys(op.responses['200']?.content ?? {}) }).toEqual({
    route: key,
    csv: ['application/json', 'text/csv'],
  });
  return Buffer.from(await res.arrayBuffer()).toString('utf8');
}

/** `METHOD /path` of every route of the express app, walking its router stack (nested routers with their mount path). */
function mountedRoutes(app: ReturnType<typeof createApp>): string[] {
  type Layer = {
    handle: Router & { stack?: Layer[] };
    route?: { path: string; methods: Record<string, boolean> };
    match(path: string): boolean;
  };
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const l of stack) {
      if (l.route) {
        for (const m of Object.keys(l.route.methods)) out.push(`${m.toUpperCase()} ${prefix}${l.route.path}`);
      } else if (Array.isArray(l.handle.stack)) {
        // A mounted router: find where (express 5 keeps the mount path only as a matcher).
        const mount = ['/api'].find((p) => l.match(p) && !l.match(p + 'x'));
        if (mount === undefined) throw new Error('a router mounted somewhere this test does not know');
        walk(l.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out.sort();
}

describe('the document', () => {
  test('is OpenAPI 3.1, served without the token, with the bearer scheme and the error body', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes).toEqual({
      bearerToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      eventTicket: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'ticket' }),
    });
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'] });
    const res = await fetch(`${counter.url}/api/openapi.json`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } });
    expect(res.status).toBe(200);
    conform('GET', '/api/openapi.json', 200, await res.json());
  });

  test('names every route the app mounts, and only those; the token routes ask for the bearer token', () => {
    const app = createApp({
      service: counter.service,
      batches: counter.batches,
      token: counter.token,
      logger: captureLogger().logger,
      checkHost: true,
    });
    const mounted = mountedRoutes(app);
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`))
      .sort();
    expect(documented).toEqual(mounted);
    expect(mounted.length).toBeGreaterThan(20);
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(ops)) {
        const open = p === '/api/health' || p === '/api/openapi.json';
        const security = open ? [] : p === '/api/events' ? [{ bearerToken: [] }, { eventTicket: [] }] : [{ bearerToken: [] }];
        expect({ route: `${m} ${p}`, security: op!.security }).toEqual({ route: `${m} ${p}`, security });
        // Every operation documents its error answers with the error body.
        expect(op!.responses['500']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
  });
});

/** Opens the event stream, reads up to its `hello` event and closes it; checks the answer against the document. */
async function openStream(query: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const res = await fetch(`${counter.url}/api/events${query}`, { headers, signal: abort.signal });
  if (res.status !== 200) {
    const json = (await res.json()) as unknown;
    conform('GET', '/api/events', res.status, json);
    return { status: res.status, text: JSON.stringify(json) };
  }
  const op = doc.paths['/api/events']!.get!;
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(Object.keys(op.responses['200']!.content ?? {})).toEqual(['text/event-stream']);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('event: hello')) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += Buffer.from(chunk.value).toString('utf8');
  }
  abort.abort();
  if (!seen.has('get /api/events')) seen.set('get /api/events', new Set());
  seen.get('get /api/events')!.add(200);
  return { status: 200, text };
}

describe('real answers conform to the document', () => {
  test('the event stream: with the token, with a ticket, and without either', async () => {
    expect((await openStream('', { Authorization: `Bearer ${counter.token}` })).text).toMatch(/event: hello\ndata: \{"boot":/);
    const { ticket } = (await call('POST', '/api/events/ticket')).json as { ticket: string };
    expect((await openStream(`?ticket=${ticket}`)).status).toBe(200);
    expect((await openStream(`?ticket=${ticket}`)).status).toBe(401); // single use
    expect((await openStream('?ticket=short')).status).toBe(400);
  });

  test('service, readers and the insured card', async () => {
    expect((await call('GET', '/api/health', undefined, { token: false })).json).toEqual({ ok: true, mode: 'demo' });
    expect((await call('GET', '/api/status', undefined, { token: false })).status).toBe(401);
    expect((await call('GET', '/api/status')).status).toBe(200);
    const readers = await call('GET', '/api/readers');
    expect(readers.json.readers.map((r: { role: string; card: { application: string } }) => [r.role, r.card.application])).toEqual([
      ['insured', 'insured'],
      ['professional', 'professional'],
    ]);
    expect((await call('GET', '/api/card')).json.error.code).toBe('pin-required');
    expect((await call('POST', '/api/card/open')).status).toBe(200);
    expect((await call('POST', '/api/card/verify', { pin: '12' })).status).toBe(400);
    expect((await call('POST', '/api/card/verify', { pin: '9876' })).json).toEqual({ result: 'wrong-pin', retriesLeft: 2 });
    expect((await call('POST', '/api/card/verify', { pin: '1234' })).json.result).toBe('ok');
    expect((await call('GET', '/api/card')).status).toBe(200);
    expect((await call('POST', '/api/card/history')).json.reading.history.complete).toBe(true);
    // No fund in this counter: nothing to update; the answer is the card as it is.
    expect((await call('POST', '/api/card/rights')).json.card.holder.cardSerial).toBe('CH2-2024-000001');
    expect((await call('POST', '/api/professional/verify', { pin: '9999' })).json.result).toBe('wrong-pin');
    expect((await call('POST', '/api/professional/verify', { pin: '0000' })).json.result).toBe('ok');
  });

  test('catalogue, quote, checkout, receipt', async () => {
    expect((await call('GET', '/api/catalogue?q=parac&limit=3')).json.products.length).toBeGreaterThan(0);
    expect((await call('GET', '/api/catalogue?limit=0')).json.error.field).toBe('limit');
    expect((await call('GET', '/api/catalogue/N02BE01-01')).json.code).toBe('N02BE01-01');
    expect((await call('GET', '/api/catalogue/NOPE-01')).status).toBe(404);
    expect((await call('GET', '/api/catalogue/gtin/2990000000019')).json.product.code).toBe('N02BE01-01');
    expect((await call('GET', '/api/catalogue/gtin/2990000000018')).status).toBe(400);
    const quote = await call('POST', '/api/quote', { lines: [{ code: 'N02BE01-01', quantity: 2 }] });
    expect(quote.json.beneficiary.rank).toBe(1);
    expect((await call('POST', '/api/quote', { lines: [{ code: 'NOPE-01', quantity: 1 }] })).status).toBe(404);
    const basket = { lines: [{ code: 'N02BE01-01', quantity: 2, durationDays: 5 }], requestId: 'openapi-0001' };
    const wrongTotals = await call('POST', '/api/checkout', { ...basket, expect: { total: 1, fund: 0, patient: 1 } });
    expect(wrongTotals.json.error.code).toBe('quote-changed');
    const co = await call('POST', '/api/checkout', basket);
    expect(co.status).toBe(201);
    expect((await call('POST', '/api/checkout', basket)).status).toBe(200);
    expect((await call('GET', `/api/invoices/${co.json.invoice.number}/receipt`)).status).toBe(200);
    expect((await call('GET', '/api/invoices/999/receipt')).status).toBe(404);
    expect((await call('GET', '/api/invoices/0/receipt')).status).toBe(400);
  });

  test('card writes: pending, cancelled, and what cannot be done', async () => {
    station.cards.insured.faults.removeAt({ ins: 0xe2, apdu: 1, phase: 'before' });
    const co = await call('POST', '/api/checkout', { beneficiary: 2, lines: [{ code: 'N02BE01-01', quantity: 1, durationDays: 3 }] });
    expect(co.json.cardWrite.state).toBe('pending');
    expect((await call('GET', '/api/card-writes')).json.pending).toHaveLength(1);
    expect((await call('POST', `/api/card-writes/${co.json.invoice.number}/complete`)).json.error.code).toBe('no-card');
    expect((await call('POST', '/api/card-writes/999/complete')).status).toBe(404);
    expect((await call('POST', `/api/card-writes/${co.json.invoice.number}/cancel`, { reason: 'abandon' })).json.state).toBe('cancelled');
    expect((await call('POST', `/api/card-writes/${co.json.invoice.number}/cancel`)).json.error.code).toBe('card-write-state');
    station.cards.insured.insert();
  });

  test('the journal, and the batch closed on the professional card', async () => {
    expect((await call('GET', '/api/invoices/rejected')).status).toBe(200);
    expect((await call('GET', '/api/sync/backlog')).json.openInvoices).toBe(3);
    const closed = await call('POST', '/api/batches/close');
    expect(closed.status).toBe(202);
    expect(closed.json).toMatchObject({ state: 'done', fundConfigured: false, closed: { count: 3, signed: true }, upload: null });
    expect((await call('GET', `/api/batches/jobs/${closed.json.id}`)).json.id).toBe(closed.json.id);
    expect((await call('GET', '/api/batches/jobs/nope')).status).toBe(404);
    expect((await call('POST', '/api/demo/professional/remove')).json).toEqual({ which: 'professional', inserted: false });
    expect((await call('POST', '/api/batches/close')).json.error.code).toBe('no-professional-card');
    await call('POST', '/api/demo/professional/insert');
    expect((await call('POST', '/api/batches/close')).json.error.code).toBe('professional-pin-required');
    expect((await call('POST', '/api/demo/professional/swap')).status).toBe(400);
  });

  test('the back office: bordereaux, payments, audit, rejects and corrections, statistics, register, refills; JSON and CSV', async () => {
    const range = 'from=2020-01-01&to=2029-12-31';
    expect((await call('GET', '/api/backoffice/batches')).json.batches[0]).toMatchObject({ id: 1, state: 'closed' });
    expect((await call('GET', '/api/backoffice/batches?limit=0')).json.error.field).toBe('limit');
    expect((await call('GET', '/api/backoffice/batches/1')).json.invoices).toHaveLength(3);
    expect((await call('GET', '/api/backoffice/batches/999')).status).toBe(404);
    expect((await call('GET', '/api/backoffice/batches/0')).json.error.field).toBe('id');
    expect((await call('GET', '/api/backoffice/audit')).status).toBe(200);
    const paid = await call('POST', '/api/backoffice/payments', { batchId: 1, amount: 1234, valueDate: '2025-06-20', reference: 'VIR 1' });
    expect(paid.status).toBe(201);
    const payment = (batchId: number) => ({ batchId, amount: 100, valueDate: '2025-06-20', reference: 'VIR 2' });
    expect((await call('POST', '/api/backoffice/payments', payment(99))).json.error).toMatchObject({
      code: 'unknown-batch',
      field: 'batchId',
    });
    expect(
      (await call('POST', '/api/backoffice/payments', { batchId: 1, amount: 1.5, valueDate: '2025-06-20', reference: 'x' })).json.error
        .field,
    ).toBe('amount');
    const statement = await call('POST', '/api/backoffice/payments/statement', {
      csv: 'Date valeur,Montant,Libellé\r\n20/06/2025,"12 345,67",VIR CNAS SANS REFERENCE\r\n',
    });
    expect(statement.json.unmatched).toEqual([expect.objectContaining({ line: 2, reason: 'no-batch' })]);
    expect((await call('POST', '/api/backoffice/payments/statement', { csv: 'date,montant\n' })).json.error.field).toBe('csv');
    expect((await call('GET', '/api/backoffice/rejects?pending=1')).json.rejects).toEqual([]);
    // The professional card is locked since the batch test: nothing signed.
    expect((await call('POST', '/api/backoffice/invoices/1/correct', {})).json.error.code).toBe('professional-pin-required');
    expect((await call('POST', '/api/backoffice/invoices/999/correct', {})).status).toBe(404);
    expect((await call('POST', '/api/professional/verify', { pin: '0000' })).json.result).toBe('ok');
    expect((await call('POST', '/api/card/open')).status).toBe(200);
    expect((await call('POST', '/api/card/verify', { pin: '1234' })).json.result).toBe('ok');
    const co = await call('POST', '/api/checkout', { lines: [{ code: 'N02BE01-01', quantity: 1, durationDays: 5 }] });
    expect((await call('POST', '/api/backoffice/payments', payment(2))).json.error).toMatchObject({ code: 'batch-open', field: 'batchId' });
    const corrected = await call('POST', `/api/backoffice/invoices/${co.json.invoice.number}/correct`, { reason: 'audit' });
    expect(corrected.json).toMatchObject({ references: co.json.invoice.number, beforeSending: true });
    expect((await call('GET', `/api/backoffice/stats?${range}&period=month`)).json.totals.invoices).toBeGreaterThan(0);
    expect((await call('GET', '/api/backoffice/stats?from=2025-06-30&to=2025-06-01')).json.error.field).toBe('to');
    expect((await call('GET', `/api/backoffice/register?${range}`)).json.entries).toEqual([]);
    expect((await call('GET', '/api/backoffice/refills?days=30')).json.days).toBe(30);
    expect((await call('GET', '/api/backoffice/refills?days=91')).json.error.field).toBe('days');
    expect((await call('GET', '/api/backoffice/patients/CH2-2024-000001/1/history')).json.rank).toBe(1);
    expect((await call('GET', '/api/backoffice/patients/CH2-2024-000001/0/history')).json.error.field).toBe('rank');
    // The same pages as CSV files, as documented.
    for (const p of [
      '/api/backoffice/batches',
      '/api/backoffice/batches/1',
      '/api/backoffice/batches/1?table=gap',
      '/api/backoffice/audit',
      '/api/backoffice/rejects',
      `/api/backoffice/stats?${range}&table=dcis`,
      `/api/backoffice/register?${range}`,
      '/api/backoffice/refills',
      '/api/backoffice/patients/CH2-2024-000001/1/history',
    ]) {
      const q = p.includes('?') ? '&' : '?';
      expect(await csvAnswer(p + q + 'format=csv')).toMatch(/^\ufeff[a-z]+,/);
      // The separator French- and Arabic-locale Excel expects, documented like the other query fields.
      expect(await csvAnswer(p + q + 'format=csv&delimiter=semicolon')).toMatch(/^\ufeff[a-z]+;[a-zA-Z]+;/);
      const { key, op } = operationFor('get', p.split('?')[0]!);
      const documented = (op as Operation & { parameters?: { name: string; in: string; schema: unknown }[] }).parameters?.find(
        (x) => x.name === 'delimiter',
      );
      expect({ route: key, documented }).toEqual({
        route: key,
        documented: expect.objectContaining({
          in: 'query',
          description: expect.stringContaining('semicolon'),
          schema: expect.objectContaining({ enum: ['comma', 'semicolon'] }),
        }),
      });
    }
    expect((await call('GET', '/api/backoffice/audit?format=csv&delimiter=tab')).json.error).toMatchObject({
      code: 'invalid-input',
      field: 'delimiter',
    });
  });

  test('what every route answers to a bad request: 413, 415, 403', async () => {
    expect((await call('POST', '/api/quote', { lines: [{ code: 'x'.repeat(70_000), quantity: 1 }] })).status).toBe(413);
    expect((await call('POST', '/api/quote', 'lines', { headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
    const port = new URL(counter.url).port;
    const r = await rawRequest(counter.url, { method: 'GET', path: '/api/readers', headers: { Host: `attacker.example:${port}` } });
    if (typeof r === 'string') throw new Error(`no answer: ${r}`);
    expect(r.status).toBe(403);
    conform('GET', '/api/readers', r.status, JSON.parse(r.text));
  });

  test('the check fails on an answer that is not as documented', async () => {
    const status = (await call('GET', '/api/status')).json as Record<string, unknown>;
    const schema = doc.paths['/api/status']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(checker.check(schema, { ...status, extra: 1 })).toEqual(['$: must NOT have additional properties (extra)']);
    const { mode: _mode, ...noMode } = status;
    expect(checker.check(schema, noMode)).toEqual(["$: must have required property 'mode'"]);
    expect(checker.check(schema, { ...status, today: 20250615 })).toEqual(['$.today: must be string']);
    expect(() => checker.check({ mustMatchTheCard: true }, {})).toThrow(/unknown keyword/);
  });

  test('every documented operation got a real answer checked', () => {
    const all = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(all.filter((k) => !seen.has(k))).toEqual([]);
  });
});
