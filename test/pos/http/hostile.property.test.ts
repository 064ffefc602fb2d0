import fc from 'fast-check';
import { z } from 'zod';
import { journalPath, type CounterJournal } from '../../../src/pos/counter/journal';
import { cancelSchema, checkoutSchema, counterQuoteSchema, pinSchema } from '../../../src/pos/counter/request';
import { correctBody, paymentBody, statementBody } from '../../../src/pos/backoffice/requests';
import { EmulatedStation } from '../../../src/pos/counter/emulated-station';
import { createApp } from '../../../src/pos/http/app';
import { startCounter, type RunningCounter } from '../../../src/pos/http/server';
import { verifyJournal } from '../../../src/sync/journal/verify';
import { captureLogger, DEMO_PIN, expectInvariant, NOW, PRO_PIN, readCardRecords, tmpDir, type Harness } from '../counter/harness';
import {
  bodyFraming,
  editText,
  frameBody,
  hostileSegment,
  METHODS,
  mutate,
  mutation,
  NASTY_STRINGS,
  textEdit,
  type BodyFraming,
  type Mutation,
  type TextEdit,
} from '../../support/hostile';
import { apiError, rawRequest, type RawRequest } from '../../support/raw-http';

/**
 * Property: whatever a client sends, the counter's HTTP layer answers it without a 500 and
 * without falling over, every 4xx of the API has the `{ error: { code, message, field? } }` shape
 * (with `field` for invalid input, and nothing echoed whole), and the checkout invariant holds
 * afterwards (the journal verifies; every invoice is on the card or cancelled by a credit note).
 *
 * The real counter (startCounter, demo cards in the in-process emulator, real SQLite files) is
 * driven over raw node:http — fetch would normalise the very bytes under test — on every route it
 * mounts (the test fails if a route is added without being listed here), with requests generated
 * as: a body from the route's zod schema (through its JSON Schema, with hints so that some
 * checkouts really sign), then mutated (wrong types, huge strings, lone surrogates, control and
 * bidi characters, deep nesting, extra or missing fields), or raw bytes; odd headers
 * (Content-Type, Content-Encoding with real compressed bodies, Content-Length that lies, chunked,
 * Authorization, Host); bad percent-encoding in paths and query strings; odd methods.
 *
 * The hostile values, mutations, text edits and path segments are test/support/hostile.ts's.
 * Fixed seed: CHIFA_HOSTILE_SEED changes it, CHIFA_HOSTILE_RUNS runs more (default 300).
 */

const RUNS = Number(process.env.CHIFA_HOSTILE_RUNS ?? 300);
const SEED = Number(process.env.CHIFA_HOSTILE_SEED ?? 20251111);
jest.setTimeout(Math.max(180_000, RUNS * 1_000));

// ------------------------------------------------------------------------------------------ routes

const CODES = ['N02BE01-01', 'J01CA04-01', 'M01AE01-01', 'A11GA01-01', 'L04AB04-01'];

interface RouteSpec {
  /** The route's body schema, if it takes one. */
  schema?: z.ZodType;
  /** A valid-looking value for each path parameter. */
  params?: Record<string, fc.Arbitrary<string>>;
  /** How often it is picked (default 1): the routes that sign are where a mistake costs most. */
  weight?: number;
  /** An event stream: an answer that starts is read to its first event, then the connection is closed. */
  stream?: boolean;
}

const number = fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), fc.constantFrom('999', '123456789012345'));

/** Every route the API mounts, `METHOD /path` under /api. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /health': {},
  'GET /status': {},
  'POST /card/open': {},
  'POST /card/verify': { schema: pinSchema, weight: 2 },
  'GET /card': {},
  'POST /card/rights': {},
  'POST /card/history': {},
  'GET /events': { stream: true },
  'POST /events/ticket': {},
  'POST /professional/verify': { schema: pinSchema, weight: 2 },
  'GET /catalogue': {},
  'GET /catalogue/:code': { params: { code: fc.constantFrom(...CODES, 'NOPE-01') } },
  // The sample's GTIN of N02BE01-01, one no product has, and not a GTIN.
  'GET /catalogue/gtin/:gtin': { params: { gtin: fc.constantFrom('2990000000019', '6130000424231', '02990000000019', '123') } },
  'POST /quote': { schema: counterQuoteSchema, weight: 4 },
  'POST /checkout': { schema: checkoutSchema, weight: 14 },
  'GET /card-writes': {},
  'POST /card-writes/:number/complete': { params: { number } },
  'POST /card-writes/:number/cancel': { schema: cancelSchema, params: { number }, weight: 4 },
  'GET /invoices/rejected': {},
  'GET /invoices/:number/receipt': { params: { number } },
  'GET /sync/backlog': {},
  'GET /openapi.json': {},
  'GET /readers': {},
  'POST /batches/close': { weight: 2 },
  'GET /batches/jobs/:id': { params: { id: fc.constantFrom('AAAAAAAAAAAA', 'x-_9') } },
  'POST /demo/:which/:action': {
    params: { which: fc.constantFrom('insured', 'professional'), action: fc.constantFrom('remove', 'insert') },
  },
  // The back office (src/pos/http/backoffice-routes.ts).
  'GET /backoffice/batches': {},
  'GET /backoffice/batches/:id': { params: { id: number } },
  'GET /backoffice/audit': {},
  'POST /backoffice/payments': { schema: paymentBody },
  'POST /backoffice/payments/statement': { schema: statementBody },
  'GET /backoffice/rejects': {},
  'POST /backoffice/invoices/:number/correct': { schema: correctBody, params: { number }, weight: 2 },
  'GET /backoffice/stats': {},
  'GET /backoffice/register': {},
  'GET /backoffice/refills': {},
  'GET /backoffice/patients/:card/:rank/history': {
    params: { card: fc.constantFrom('CH2-2024-000001', 'NOPE'), rank: fc.constantFrom('1', '2', '0', '100') },
  },
};

/** `METHOD /path` of every route the app mounts under /api (express 5 router stack). */
function mountedRoutes(app: ReturnType<typeof createApp>): string[] {
  type Layer = { handle: { stack?: Layer[] }; route?: { path: string; methods: Record<string, boolean> } };
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  const routers = stack.filter((l) => Array.isArray(l.handle.stack));
  expect(routers).toHaveLength(1); // the /api router
  const out: string[] = [];
  for (const l of routers[0]!.handle.stack!) {
    if (!l.route) continue;
    for (const m of Object.keys(l.route.methods)) out.push(`${m.toUpperCase()} ${l.route.path}`);
  }
  return out.sort();
}

// ------------------------------------------------------------------------------------------ bodies from schemas

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

/** Values for named fields, so that a valid body can really go through (real products, the real PINs). */
const HINTS: Record<string, fc.Arbitrary<unknown>> = {
  code: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...CODES) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Z0-9-]{1,16}$/) }),
  beneficiary: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) },
  ),
  quantity: fc.integer({ min: 1, max: 3 }),
  prescription: fc.constantFrom('RX000124', 'RX-PAPER-1', 'P'),
  // A few shared ids, so that replays and reuses with another basket happen; mostly fresh ones.
  requestId: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/) },
    { weight: 1, arbitrary: fc.constantFrom('hostile-00', 'hostile-01') },
  ),
  approval: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('AP-2025-17', ' accordé n° 5 ', 'موافقة 12') },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  ),
  reason: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('délivrance abandonnée', 'carte illisible') },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  ),
  // A generic substitution, now and then: mostly none, else a catalogue code (400 not-substitutable
  // unless it is an equivalent) or nasty text.
  replaces: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(...CODES) },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  ),
  // A scanned pack, now and then: good, expired (400 expired-lot), or nasty text.
  lot: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('LOT42', 'A1-B2/7') },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  ),
  expiry: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('2027-12-31', '2099-01-01') },
    { weight: 1, arbitrary: fc.constantFrom('2000-01-01', '2027-02-30', '31/12/2027') },
  ),
  serial: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('SN0001', 'SN0002') },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  ),
  // The back office: a batch that exists (or not), a value date, a bank statement with the header
  // it needs, `,` or `;` (test/pos/backoffice/hostile.property.test.ts attacks these fields one by one).
  batchId: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer() }),
  valueDate: fc.constantFrom('2025-06-20', '2025-02-30', '20/06/2025'),
  csv: fc
    .tuple(
      fc.constantFrom(',', ';'),
      fc.array(fc.constantFrom('2025-06-20|10|VIR', '20/06/2025|"1 234,56"|=1+1', 'x|y|z'), { maxLength: 4 }),
    )
    .map(([d, rows]) => ['date|montant|libellé', ...rows].map((r) => r.replaceAll('|', d)).join('\r\n')),
  // Mostly left out (undefined is dropped by JSON.stringify): a random expectation is a 409.
  expect: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.record({ total: fc.nat(100_000), fund: fc.nat(100_000), patient: fc.nat(100_000) }) },
  ),
};

function fromSchema(s: JsonSchema, name: string): fc.Arbitrary<unknown> {
  const hint = HINTS[name];
  if (hint) return hint;
  switch (s.type) {
    case 'object': {
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) model[k] = fromSchema(v, k);
      return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in model) });
    }
    case 'array':
      return fc.array(fromSchema(s.items ?? {}, `${name}[]`), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1e6, -(2 ** 31)), max: Math.min(s.maximum ?? 1e6, 2 ** 31 - 1) });
    case 'number':
      return fc.double({ noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string': {
      const base = s.pattern ? fc.stringMatching(new RegExp(s.pattern)) : fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
      return base.filter((x) => x.length >= (s.minLength ?? 0) && x.length <= (s.maxLength ?? Infinity));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function validBody(schema: z.ZodType): fc.Arbitrary<unknown> {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return fromSchema(js, '').map((v) => {
    // Checkout needs a duration on every line (a refinement JSON Schema cannot say).
    const lines = (v as { lines?: { durationDays?: number }[] }).lines;
    if (schema === checkoutSchema && Array.isArray(lines)) for (const l of lines) l.durationDays ??= 5;
    return v;
  });
}

type BodyPlan =
  { kind: 'none' } | { kind: 'json'; value: unknown; mutations: Mutation[]; edit: TextEdit | null } | { kind: 'bytes'; bytes: Uint8Array };

function bodyPlan(spec: RouteSpec): fc.Arbitrary<BodyPlan> {
  const json = (value: fc.Arbitrary<unknown>) =>
    fc.record({
      kind: fc.constant('json' as const),
      value,
      mutations: fc.oneof(
        { weight: 2, arbitrary: fc.constant<Mutation[]>([]) },
        { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
      ),
      edit: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: textEdit }),
    });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: spec.schema ? 8 : 1, arbitrary: json(spec.schema ? validBody(spec.schema) : fc.jsonValue({ maxDepth: 2 })) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 600 }) }) },
  );
}

function bodyBytes(plan: BodyPlan, route: string): Buffer | undefined {
  if (plan.kind === 'none') return undefined;
  if (plan.kind === 'bytes') return Buffer.from(plan.bytes);
  let v = plan.value;
  for (const m of plan.mutations) v = mutate(v, m);
  // A well-formed PIN goes to the card: keep it the right one, or the cards end up blocked and
  // the rest of the run tests nothing but 409.
  if (route.endsWith('/verify') && pinSchema.safeParse(v).success) v = { pin: route.includes('professional') ? PRO_PIN : DEMO_PIN };
  const text = Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
  return plan.edit ? editText(text, plan.edit, 'lines') : text;
}

// ------------------------------------------------------------------------------------------ paths and headers

const queryString = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?q=para',
    '?q=%ff',
    '?q=a&q=b',
    '?limit=0',
    '?limit=%ff',
    '?limit=1&limit=2',
    '?q[x]=1',
    '?__proto__=1',
    '?q=' + 'x'.repeat(70),
    // The back office's queries (src/pos/backoffice/requests.ts).
    '?from=2025-01-01&to=2025-12-31',
    '?from=2025-01-01&to=2025-12-31&period=month&format=csv&table=dcis',
    '?from=2025-12-31&to=2025-01-01',
    '?from=1900-01-01&to=2999-12-31',
    '?from=2025-02-30&to=2025-03-01',
    '?format=csv',
    '?format=xml',
    '?table=gap&format=csv',
    '?table=gap&format=csv&delimiter=semicolon',
    '?format=csv&delimiter=semicolon',
    '?format=csv&delimiter=tab',
    '?delimiter=semicolon&delimiter=comma',
    '?days=0',
    '?days=90&format=csv',
    '?days=90&format=csv&delimiter=comma',
    '?pending=1&limit=1001',
    '?before=0',
    '?before=99999999999999999999',
  ),
  fc
    .tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.stringMatching(/^\d{0,4}$/))
    .map(([q, l]) => `?q=${encodeURIComponent(q)}${l ? `&limit=${l}` : ''}`),
  fc.uint8Array({ maxLength: 10 }).map((b) => `?q=${Array.from(b, (x) => `%${x.toString(16).padStart(2, '0')}`).join('')}`),
);

interface HeaderPlan extends BodyFraming {
  auth: 'token' | 'none' | 'wrong' | 'basic' | 'lowercase' | 'bare';
  host: string | null;
}

const headerPlan: fc.Arbitrary<HeaderPlan> = fc.record({
  ...bodyFraming({ contentType: 12, encoding: 10, length: 10 }),
  auth: fc.oneof(
    { weight: 12, arbitrary: fc.constant('token' as const) },
    { weight: 1, arbitrary: fc.constantFrom('none' as const, 'wrong' as const, 'basic' as const, 'lowercase' as const, 'bare' as const) },
  ),
  host: fc.oneof(
    { weight: 15, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('localhost', 'evil.example', '[::1]:1', '127.0.0.1:x') },
  ),
});

const STALE = new Set(['no-card', 'no-professional-card', 'card-removed', 'pin-required', 'professional-pin-required']);

interface Attack {
  /** A well-formed request, sent with both cards ready: it must not meet a card-state conflict. */
  clean: boolean;
  route: string;
  method: string;
  segments: Record<string, string>;
  query: string;
  pathMangle: 'none' | 'trailing-slash' | 'double-slash' | 'upper' | 'outside-api';
  body: BodyPlan;
  headers: HeaderPlan;
}

const routeName = fc.oneof(...Object.entries(ROUTES).map(([r, spec]) => ({ weight: spec.weight ?? 1, arbitrary: fc.constant(r) })));

const hostileAttack: fc.Arbitrary<Attack> = routeName.chain((route) => {
  const spec = ROUTES[route]!;
  const [method] = route.split(' ');
  const params: Record<string, fc.Arbitrary<string>> = {};
  for (const [name, valid] of Object.entries(spec.params ?? {}))
    params[name] = fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostileSegment });
  return fc.record({
    clean: fc.constant(false),
    route: fc.constant(route),
    method: fc.oneof({ weight: 10, arbitrary: fc.constant(method!) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    segments: fc.record(params),
    query: fc.oneof({ weight: route === 'GET /catalogue' ? 4 : 1, arbitrary: queryString }, { weight: 3, arbitrary: fc.constant('') }),
    pathMangle: fc.oneof(
      { weight: 20, arbitrary: fc.constant('none' as const) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('trailing-slash' as const, 'double-slash' as const, 'upper' as const, 'outside-api' as const),
      },
    ),
    body: bodyPlan(spec),
    headers: headerPlan,
  });
});

const CLEAN_HEADERS: HeaderPlan = { contentType: 'application/json', encoding: null, length: { mode: 'auto' }, auth: 'token', host: null };

/** A well-formed request (its body from the schema and the hints): the baseline that really signs invoices. */
const cleanAttack: fc.Arbitrary<Attack> = routeName.chain((route) => {
  const spec = ROUTES[route]!;
  return fc.record({
    clean: fc.constant(true),
    route: fc.constant(route),
    method: fc.constant(route.split(' ')[0]!),
    segments: fc.record(spec.params ?? {}),
    query: fc.constant(''),
    pathMangle: fc.constant('none' as const),
    body: spec.schema
      ? fc.record({
          kind: fc.constant('json' as const),
          value: validBody(spec.schema),
          mutations: fc.constant<Mutation[]>([]),
          edit: fc.constant(null),
        })
      : fc.constant({ kind: 'none' as const }),
    headers: fc.constant(CLEAN_HEADERS),
  });
});

const attack = fc.oneof({ weight: 1, arbitrary: cleanAttack }, { weight: 2, arbitrary: hostileAttack });

/** The request to send, and what kinds of non-answer it may legitimately get. */
function build(a: Attack, token: string): { request: RawRequest; mayHang: boolean; mayReset: boolean } {
  let path = a.route.split(' ')[1]!.replace(/:(\w+)/g, (_m, name: string) => a.segments[name]!);
  path = `/api${path}${a.query}`;
  if (a.pathMangle === 'trailing-slash') path = path.replace(/(\?|$)/, '/$1');
  else if (a.pathMangle === 'double-slash') path = path.replace('/api/', '/api//');
  else if (a.pathMangle === 'upper') path = path.toUpperCase();
  else if (a.pathMangle === 'outside-api') path = path.slice(4) || '/';

  const headers: Record<string, string> = {};
  const h = a.headers;
  if (h.auth === 'token') headers.Authorization = `Bearer ${token}`;
  else if (h.auth === 'wrong') headers.Authorization = `Bearer ${token}x`;
  else if (h.auth === 'basic') headers.Authorization = 'Basic YWRtaW46YWRtaW4=';
  else if (h.auth === 'lowercase') headers.Authorization = `bearer ${token}`;
  else if (h.auth === 'bare') headers.Authorization = 'Bearer';
  if (h.host !== null) headers.Host = h.host;

  let body = bodyBytes(a.body, a.route);
  let mayHang = false;
  let mayReset = false;
  let chunked = false;
  if (body !== undefined) ({ body, chunked, mayHang, mayReset } = frameBody(body, h, headers));
  const stream = ROUTES[a.route]!.stream === true;
  return {
    request: {
      method: a.method,
      path,
      headers,
      ...(body !== undefined ? { body } : {}),
      chunked,
      ...(mayHang ? { timeoutMs: 400 } : {}),
      ...(stream ? { stream: true } : {}),
    },
    mayHang,
    mayReset,
  };
}

// ------------------------------------------------------------------------------------------ the test

let counter: RunningCounter;
let station: EmulatedStation;
let dir: string;
let logs: string[];
let initialRecords: Harness['initialRecords'];

beforeAll(async () => {
  dir = tmpDir('chifa-hostile-prop-');
  station = EmulatedStation.openDemo(dir);
  initialRecords = await readCardRecords(station.cards.insured);
  const cap = captureLogger();
  logs = cap.lines;
  counter = await startCounter({ dataDir: dir, port: 0, logger: cap.logger, station, now: () => NOW });
});

afterAll(async () => {
  await counter?.close();
});

/** Both cards in, the holder's PIN verified, the professional card unlocked (in-process, not under test). */
async function ready(): Promise<void> {
  station.cards.insured.insert();
  station.cards.professional.insert();
  const st = counter.service.status();
  if (!st.insured.verified) {
    await counter.service.openCard();
    if ((await counter.service.verifyPin(DEMO_PIN)).result !== 'ok') throw new Error('the demo PIN was refused');
  }
  if (!st.professional.unlocked) {
    if ((await counter.service.verifyProfessionalPin(PRO_PIN)).result !== 'ok') throw new Error('the professional PIN was refused');
  }
}

test('every route the server mounts is driven', () => {
  const app = createApp({
    service: counter.service,
    batches: counter.batches,
    token: counter.token,
    logger: captureLogger().logger,
    checkHost: true,
  });
  expect(mountedRoutes(app)).toEqual(Object.keys(ROUTES).sort());
});

test('property: hostile requests never get a 500, never bring the server down, and leave the journal invariant intact', async () => {
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(attack, async (a) => {
      await ready();
      const { request, mayHang, mayReset } = build(a, counter.token);
      const res = await rawRequest(counter.url, request);
      const shown = `${request.method} ${request.path.slice(0, 200)}`;
      if (res === 'unsendable') throw new Error(`the generator built a request node:http cannot send: ${shown}`);
      if (res === 'timeout') expect({ shown, timeout: true, mayHang }).toEqual({ shown, timeout: true, mayHang: true });
      else if (res === 'reset') expect({ shown, reset: true, mayReset }).toEqual({ shown, reset: true, mayReset: true });
      else {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect({ shown, status: res.status, serverError: res.status >= 500, body: res.text.slice(0, 300) }).toEqual({
          shown,
          status: res.status,
          serverError: false,
          body: res.text.slice(0, 300),
        });
        // Answers that went through express carry its security headers; Node's own HTTP parser
        // answers a few malformed requests (both Content-Length and chunked…) with a bare 400.
        const viaExpress = res.headers['x-content-type-options'] === 'nosniff';
        if (!viaExpress) expect({ shown, status: res.status }).toEqual({ shown, status: 400 });
        const api = request.path.startsWith('/api/') || request.path.startsWith('/api?');
        if (viaExpress && api && res.status >= 400 && request.method !== 'HEAD') {
          const e = apiError(res);
          expect({ shown, shape: e !== undefined, text: res.text.slice(0, 300) }).toEqual({
            shown,
            shape: true,
            text: res.text.slice(0, 300),
          });
          codes.set(`${res.status} ${e!.code}`, (codes.get(`${res.status} ${e!.code}`) ?? 0) + 1);
          if (e!.code === 'invalid-input') expect({ shown, field: typeof e!.field }).toEqual({ shown, field: 'string' });
          // Whatever came before, a well-formed request with both cards in and unlocked is not
          // refused for the cards' state (a stale session or signer would be).
          if (a.clean && !a.route.startsWith('POST /demo/'))
            expect({ shown, code: e!.code, stale: STALE.has(e!.code) }).toEqual({ shown, code: e!.code, stale: false });
          // Client input is shown cut (clip: 40 code points), never whole.
          expect({ shown, messageLength: e!.message.length <= 300 }).toEqual({ shown, messageLength: true });
          expect({ shown, fieldLength: (e!.field ?? '').length <= 120 }).toEqual({ shown, fieldLength: true });
        }
      }
      const health = await rawRequest(counter.url, { method: 'GET', path: '/api/health' });
      expect({ shown, health: typeof health === 'string' ? health : health.status }).toEqual({ shown, health: 200 });
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );

  if (process.env.CHIFA_HOSTILE_STATS) console.log(JSON.stringify({ statuses: [...statuses], codes: [...codes] }));
  // Nothing was logged as an internal error.
  expect(logs.filter((l) => l.includes('"msg":"request failed"'))).toEqual([]);

  // The run reached the real work, not only the front door.
  const count = (prefix: string) => [...codes.entries()].filter(([k]) => k.startsWith(prefix)).reduce((n, [, c]) => n + c, 0);
  expect({
    ok: (statuses.get(200) ?? 0) > 0,
    signed: (statuses.get(201) ?? 0) > 0,
    invalid: count('400 invalid-input') > 0,
    unauthorized: count('401') > 0,
    media: count('415') > 0,
  }).toEqual({ ok: true, signed: true, invalid: true, unauthorized: true, media: true });

  // The journal verifies, every invoice has its card write, and — once the pending writes are
  // completed by the next PIN verification — every invoice is on the card or cancelled.
  const report = verifyJournal(journalPath(dir));
  expect({ ok: report.ok, problems: report.problems }).toEqual({ ok: true, problems: [] });
  expect(counter.service.journal.invoicesWithoutCardWrite()).toEqual([]);
  station.cards.insured.remove();
  await ready();
  expect(counter.service.pendingWrites()).toEqual([]);
  await expectInvariant({
    dir,
    station,
    insured: station.cards.insured,
    professional: station.cards.professional,
    service: counter.service,
    journal: counter.service.journal as CounterJournal,
    catalogue: counter.service.catalogue,
    logs,
    initialRecords,
    close: async () => undefined,
  });
});
