import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { UNPRINTABLE } from '../../src/common/free-text';
import { auditFundStore } from '../../src/fund/audit';
import { FundServer } from '../../src/fund/server';
import { b64uEncode } from '../../src/sync/base64url';
import { canonicalize } from '../../src/sync/canonical';
import { DOWNLINK_NAMES } from '../../src/sync/downlink/format';
import type { InvoiceDocument } from '../../src/sync/invoice';
import { Journal } from '../../src/sync/journal/journal';
import { assemble, jwsHash, type JwsType } from '../../src/sync/jws';
import { addToTotals, emptyTotals, type BatchManifest } from '../../src/sync/manifest';
import type { RequestToken, UploadBody } from '../../src/sync/protocol';
import { EMPTY_BODY_SHA256, sha256b64u } from '../../src/sync/request-auth';
import { SoftwareSigner, type Signer } from '../../src/sync/signer';
import { Uploader } from '../../src/sync/uploader';
import {
  bodyFraming,
  editText,
  frameBody,
  headerValue,
  hostileSegment,
  hostileValue,
  METHODS,
  mutate,
  mutation,
  textEdit,
  type BodyFraming,
  type Mutation,
  type TextEdit,
} from '../support/hostile';
import { captureLogger } from '../support/logs';
import { rawRequest, type RawRequest, type RawResponse } from '../support/raw-http';
import { credentials, fundVerifier, key, sampleDraft, signer, tmpDir } from '../sync/helpers';

/**
 * Property: whatever a client sends — authenticated or not — the reference fund answers without
 * a 500 and without falling over; every 4xx is the protocol's error body `{ error: { code,
 * message, field, expected? } }` naming the field, with nothing echoed whole; every signed
 * answer verifies and is about the pharmacy that asked; and afterwards the fund's store passes
 * its audit (`chifa fund verify`) and an honest pharmacy still syncs its whole journal.
 *
 * The real FundServer (real SQLite, one verification worker thread) is driven over raw node:http
 * on every route it mounts (the test fails if a route is added without being listed here), as
 * three clients: pharmacy 1 (honest: its own journal's batches, mutated or not, never a
 * validly signed document its journal does not hold), pharmacy 2 (anything, including batches it
 * forges and signs with its own card: re-signed tampered invoices, duplicate invoices, hostile
 * headers and payloads in valid signatures, certificates that are not what they claim) and a
 * pharmacy whose card the fund CA did not issue. Requests carry a valid request token (signed
 * with the TEST keys of fixtures/keys for exactly the bytes sent) or a hostile one (none,
 * garbage, another request's, forged fields, replayed, another certificate), and hostile bodies
 * (mutated JSON, text edits, raw bytes, huge arrays and strings, bodies over the size limit),
 * headers (Content-Type, Content-Encoding with really compressed bodies, Content-Length that lies,
 * chunked, both, oversized headers, Idempotency-Key abuse), methods, paths and queries.
 *
 * Fixed seed: CHIFA_FUND_HOSTILE_RUNS runs more (default 400), CHIFA_FUND_HOSTILE_SEED explores
 * elsewhere, CHIFA_FUND_HOSTILE_STATS=1 prints the statuses seen.
 */

const RUNS = Number(process.env.CHIFA_FUND_HOSTILE_RUNS ?? 400);
const SEED = Number(process.env.CHIFA_FUND_HOSTILE_SEED ?? 20251127);
jest.setTimeout(Math.max(120_000, RUNS * 1_000));

// ------------------------------------------------------------------------------------------ the clients

type Who = 'p1' | 'p2' | 'rogue';
const IDS: Record<Who, string> = { p1: 'DZ16-PH-00001', p2: 'DZ31-PH-00002', rogue: 'DZ16-PH-00001' };
const OTHER: Record<Who, string> = { p1: IDS.p2, p2: IDS.p1, rogue: IDS.p2 };

const signers: Record<Who, SoftwareSigner> = {
  p1: signer(1),
  p2: signer(2),
  rogue: SoftwareSigner.fromFiles(key('rogue-pharmacy.key.pem'), key('rogue-pharmacy.cert.pem')),
};
const fundSigning = SoftwareSigner.fromFiles(key('fund-signing.key.pem'), key('fund-signing.cert.pem'));
/** The fund CA's own certificate: a CA, which must never speak for a pharmacy. */
const FUND_CA_DER = new X509Certificate(fs.readFileSync(key('fund-ca.pem'))).raw;
/** Base64 that decodes to something that is not a certificate, and the thumbprint it gets. */
const GARBAGE_CERT = Buffer.from('this is not a DER certificate at all').toString('base64');
const garbageKid = b64uEncode(createHash('sha256').update(Buffer.from(GARBAGE_CERT, 'base64')).digest());

// ------------------------------------------------------------------------------------------ routes

interface RouteSpec {
  /** A plausible value for each path parameter (`<self>`, `<other>`: the pharmacy ids). */
  params?: Record<string, fc.Arbitrary<string>>;
  query?: fc.Arbitrary<string>;
  weight?: number;
  /** The typ of the signed answer. */
  typ?: JwsType;
}

const pharmacyParam = fc.oneof({ weight: 8, arbitrary: fc.constant('<self>') }, { weight: 1, arbitrary: fc.constant('<other>') });

/** Every route the fund mounts, `METHOD /path`. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /v1/health': {},
  'POST /v1/batches': { weight: 14, typ: 'chifa-ack+jws' },
  'GET /v1/batches/:pharmacyId/:batchId': {
    params: {
      pharmacyId: pharmacyParam,
      batchId: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 8 }).map(String) },
        { weight: 1, arbitrary: fc.constantFrom('0', '01', '1.0', '1e0', '0x1', '9007199254740993', '99999999999999999999', '%201') },
      ),
    },
    typ: 'chifa-ack+jws',
    weight: 2,
  },
  // The payment notice of a settled batch (this fund settles at once): the same batch numbers.
  'GET /v1/batches/:pharmacyId/:batchId/payment': {
    params: {
      pharmacyId: pharmacyParam,
      batchId: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 8 }).map(String) },
        { weight: 1, arbitrary: fc.constantFrom('0', '01', '1.0', '1e0', '0x1', '9007199254740993', '99999999999999999999', '%201') },
      ),
    },
    typ: 'chifa-payment+jws',
    weight: 2,
  },
  'GET /v1/pharmacies/:pharmacyId/batches': {
    params: { pharmacyId: pharmacyParam },
    query: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => `?from=${n}`) },
      { weight: 1, arbitrary: fc.constant('') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '?from=0',
          '?from=-1',
          '?from=1.5',
          '?from=1e3',
          '?from=0x10',
          '?from=',
          '?from=%ff',
          '?from=%',
          '?from=1&from=2',
          '?from[a]=1',
          '?from=' + '9'.repeat(40),
          '?__proto__=1',
          '?x=' + 'y'.repeat(3000),
        ),
      },
    ),
    typ: 'chifa-batches+jws',
    weight: 2,
  },
  'GET /v1/pharmacies/:pharmacyId/chain': { params: { pharmacyId: pharmacyParam }, typ: 'chifa-chain+jws', weight: 2 },
  'GET /v1/rights/:cardSerial': {
    params: {
      // The two cards of the TEST ONLY rights registry (fixtures/rights.json), others, and serials that are not.
      cardSerial: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('CH1-2014-001234', 'CH2-2023-004711') },
        { weight: 1, arbitrary: fc.constantFrom('CH9-2099-000000', 'ch1-2014-001234', 'AB', 'X'.repeat(21), '__proto__', '%2E%2E') },
      ),
    },
    typ: 'chifa-rights+jws',
    weight: 2,
  },
  'GET /v1/downlink/:name': {
    params: {
      name: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...DOWNLINK_NAMES) },
        { weight: 1, arbitrary: fc.constantFrom('nope', 'Blacklist', 'rules.json', '__proto__', 'constructor', 'x'.repeat(1500)) },
      ),
    },
    weight: 2,
  },
};

/** `METHOD /path` of every route the fund's express app mounts. */
function mountedRoutes(app: FundServer['app']): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> } };
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  const out: string[] = [];
  for (const l of stack) {
    if (!l.route) continue;
    for (const m of Object.keys(l.route.methods)) out.push(`${m.toUpperCase()} ${l.route.path}`);
  }
  return out.sort();
}

// ------------------------------------------------------------------------------------------ signing anything

/**
 * A compact JWS over exactly `payload`: canonical when it can be, otherwise JSON.stringify's
 * text (a lone surrogate, a non-canonical payload), with a real ES256 signature either way.
 */
async function signAny(header: Record<string, unknown>, payload: unknown, s: Signer, canonical = true): Promise<string> {
  let text: string;
  try {
    text = canonical ? canonicalize(payload) : JSON.stringify(payload, null, 1);
  } catch {
    text = JSON.stringify(payload) ?? 'null';
  }
  const input = `${b64uEncode(Buffer.from(JSON.stringify(header)))}.${b64uEncode(Buffer.from(text, 'utf8'))}`;
  const sig = await s.sign(createHash('sha256').update(input).digest(), Buffer.from(input, 'ascii'));
  return assemble(input, sig);
}

const headerOf = (typ: JwsType, s: Signer): Record<string, unknown> => ({ alg: 'ES256', typ, 'x5t#S256': s.keyId });

// ------------------------------------------------------------------------------------------ request tokens

type AuthPlan =
  | { kind: 'valid' }
  | { kind: 'none' }
  | { kind: 'no-certificate' }
  | { kind: 'raw'; authorization: string; certificate: 'own' | 'garbage' | 'huge' | 'two' }
  | { kind: 'forged'; field: keyof RequestToken | 'extra'; value: unknown }
  | { kind: 'certificate'; of: 'other' | 'rogue' | 'fund-signing' | 'ca' }
  | { kind: 'replay' };

const authPlan: fc.Arbitrary<AuthPlan> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'valid' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-certificate' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('raw' as const),
      authorization: fc.oneof(
        fc.constantFrom(
          'Chifa',
          'Chifa ',
          'Bearer x.y.z',
          'chifa a.b.c',
          'Chifa a.b',
          'Chifa ...',
          'Chifa a.b.c.d',
          'Chifa ' + 'a'.repeat(9000),
        ),
        headerValue,
      ),
      certificate: fc.constantFrom('own' as const, 'garbage' as const, 'huge' as const, 'two' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('forged' as const),
      field: fc.constantFrom<keyof RequestToken | 'extra'>('v', 'pharmacyId', 'method', 'path', 'bodySha256', 'iat', 'exp', 'jti', 'extra'),
      value: fc.oneof(hostileValue, fc.constantFrom<unknown>('late', 'early', 'long', 'other')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('certificate' as const),
      of: fc.constantFrom('other' as const, 'rogue' as const, 'fund-signing' as const, 'ca' as const),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'replay' as const }) },
);

async function authHeaders(
  plan: AuthPlan,
  who: Who,
  method: string,
  target: string,
  body: Buffer | undefined,
): Promise<Record<string, string>> {
  const s = signers[who];
  const cert = s.certificate.toString('base64');
  const now = Math.floor(Date.now() / 1000);
  const token: Record<string, unknown> = {
    v: 1,
    pharmacyId: IDS[who],
    method: method.toUpperCase(),
    path: target,
    bodySha256: body && body.length > 0 ? sha256b64u(body) : EMPTY_BODY_SHA256,
    iat: now,
    exp: now + 120,
    jti: b64uEncode(randomBytes(16)),
  };
  const sign = async (t: Record<string, unknown>) => `Chifa ${await signAny(headerOf('chifa-request+jws', s), t, s)}`;
  switch (plan.kind) {
    case 'valid':
      return { authorization: await sign(token), 'chifa-certificate': cert };
    case 'none':
      return {};
    case 'no-certificate':
      return { authorization: await sign(token) };
    case 'raw': {
      const c = { own: cert, garbage: GARBAGE_CERT, huge: 'A'.repeat(12_000), two: `${cert}, ${cert}` }[plan.certificate];
      return { authorization: plan.authorization, 'chifa-certificate': c };
    }
    case 'forged': {
      const t = { ...token };
      if (plan.field === 'extra') t.extra = plan.value;
      else if (plan.value === 'late') t.iat = t.exp = now - 3600;
      else if (plan.value === 'early') Object.assign(t, { iat: now + 3600, exp: now + 3700 });
      else if (plan.value === 'long') t.exp = now + 3600;
      else if (plan.value === 'other') t[plan.field] = plan.field === 'pharmacyId' ? OTHER[who] : token.jti;
      else t[plan.field] = plan.value;
      return { authorization: await sign(t), 'chifa-certificate': cert };
    }
    case 'certificate': {
      const other = {
        other: signers[who === 'p2' ? 'p1' : 'p2'].certificate,
        rogue: signers.rogue.certificate,
        'fund-signing': fundSigning.certificate,
        ca: FUND_CA_DER,
      }[plan.of];
      return { authorization: await sign(token), 'chifa-certificate': other.toString('base64') };
    }
    case 'replay': // the whole previous request is sent again (see build)
      return { authorization: await sign(token), 'chifa-certificate': cert };
  }
}

// ------------------------------------------------------------------------------------------ batches

/** The batches each pharmacy's journal closed, as its uploader would send them. */
const journals: Record<'p1' | 'p2', { key: string; body: UploadBody }[]> = { p1: [], p2: [] };

type KeyPlan = 'derived' | 'random' | 'p1-key' | 'p2-key' | 'missing' | 'short' | 'long' | 'bad' | 'twice';
/** Keys the fund must refuse before it looks at anything else. */
const INVALID_KEYS: readonly KeyPlan[] = ['missing', 'short', 'long', 'bad', 'twice'];
const keyPlan: fc.Arbitrary<KeyPlan> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('derived' as const) },
  { weight: 3, arbitrary: fc.constantFrom<KeyPlan>('random', 'p1-key', 'p2-key') },
  { weight: 2, arbitrary: fc.constantFrom<KeyPlan>(...INVALID_KEYS) },
);

type InvoiceShuffle = 'duplicate' | 'reverse' | 'drop-last' | 'append-copy' | 'other-batch' | 'other-pharmacy';

type JwsEdit = {
  target: 'manifest' | number;
  how:
    | 'alg-none'
    | 'extra-header'
    | 'typ'
    | 'kid-garbage'
    | 'kid-missing'
    | 'non-canonical'
    | 'sig-short'
    | 'sig-zero'
    | 'sig-flip'
    | 'four-parts'
    | 'padding'
    | 'empty-part'
    | 'whitespace';
};

type BodyPlan =
  | { kind: 'none' }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'json'; value: unknown }
  | { kind: 'journal'; batch: number | 'next'; key: KeyPlan; mutations: Mutation[]; edit: TextEdit | null; shuffle: InvoiceShuffle | null }
  | {
      kind: 'forge';
      count: number;
      draft: number;
      doc: { index: number; mutation: Mutation } | null;
      manifest: Mutation | null;
      jws: JwsEdit | null;
      signedBy: 'self' | 'p1' | 'rogue';
      extraCertificates: ('garbage' | 'ca' | 'fund-signing' | 'other')[];
      key: KeyPlan;
      edit: TextEdit | null;
    }
  | { kind: 'big'; what: 'over-limit' | 'many-invoices' | 'many-certificates' | 'long-manifest' | 'long-invoice' };

const journalPlan = fc.record({
  kind: fc.constant('journal' as const),
  batch: fc.oneof({ weight: 4, arbitrary: fc.constant('next' as const) }, { weight: 1, arbitrary: fc.nat(8) }),
  key: keyPlan,
  mutations: fc.oneof(
    { weight: 3, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) },
  ),
  edit: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: textEdit }),
  shuffle: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<InvoiceShuffle>('duplicate', 'reverse', 'drop-last', 'append-copy', 'other-batch', 'other-pharmacy'),
    },
  ),
});

const forgePlan = fc.record({
  kind: fc.constant('forge' as const),
  count: fc.integer({ min: 1, max: 4 }),
  draft: fc.nat(40),
  doc: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.record({ index: fc.nat(3), mutation }) }),
  manifest: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: mutation }),
  jws: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.record({
        target: fc.oneof(fc.constant('manifest' as const), fc.nat(3)),
        how: fc.constantFrom<JwsEdit['how']>(
          'alg-none',
          'extra-header',
          'typ',
          'kid-garbage',
          'kid-missing',
          'non-canonical',
          'sig-short',
          'sig-zero',
          'sig-flip',
          'four-parts',
          'padding',
          'empty-part',
          'whitespace',
        ),
      }),
    },
  ),
  signedBy: fc.oneof(
    { weight: 8, arbitrary: fc.constant('self' as const) },
    { weight: 1, arbitrary: fc.constantFrom('p1' as const, 'rogue' as const) },
  ),
  extraCertificates: fc.oneof(
    { weight: 4, arbitrary: fc.constant<('garbage' | 'ca' | 'fund-signing' | 'other')[]>([]) },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom('garbage' as const, 'ca' as const, 'fund-signing' as const, 'other' as const), { maxLength: 4 }),
    },
  ),
  key: keyPlan,
  edit: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: textEdit }),
});

function bodyPlan(who: Who, route: string): fc.Arbitrary<BodyPlan> {
  const none = fc.constant({ kind: 'none' as const });
  const bytes = fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 600 }) });
  const json = fc.record({ kind: fc.constant('json' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileValue) });
  if (route !== 'POST /v1/batches')
    return fc.oneof({ weight: 12, arbitrary: none }, { weight: 1, arbitrary: bytes }, { weight: 1, arbitrary: json });
  const big = fc.record({
    kind: fc.constant('big' as const),
    what: fc.oneof(
      { weight: 1, arbitrary: fc.constant('over-limit' as const) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'many-invoices' as const,
          'many-certificates' as const,
          'long-manifest' as const,
          'long-invoice' as const,
        ),
      },
    ),
  });
  return fc.oneof(
    { weight: 1, arbitrary: none },
    { weight: 1, arbitrary: bytes },
    { weight: 1, arbitrary: json },
    { weight: who === 'rogue' ? 2 : 10, arbitrary: journalPlan },
    { weight: who === 'p2' ? 14 : 0, arbitrary: forgePlan },
    { weight: 1, arbitrary: big },
  );
}

const other = (who: Who): 'p1' | 'p2' => (who === 'p2' ? 'p1' : 'p2');
const own = (who: Who): 'p1' | 'p2' => (who === 'p2' ? 'p2' : 'p1');

function idempotencyKey(plan: KeyPlan, derived: string, pick: number): string | string[] | undefined {
  const keyOf = (p: 'p1' | 'p2') => journals[p][pick % journals[p].length]!.key;
  switch (plan) {
    case 'derived':
      return derived;
    case 'random':
      return b64uEncode(randomBytes(18));
    case 'p1-key':
      return keyOf('p1');
    case 'p2-key':
      return keyOf('p2');
    case 'missing':
      return undefined;
    case 'short':
      return 'abc';
    case 'long':
      return 'k'.repeat(129);
    case 'bad':
      return `${derived.slice(0, 20)} ü/`;
    case 'twice':
      return [derived, derived];
  }
}

/** Everything the fund holds for `pharmacyId`'s chain, read from its store (in process). */
function tip(pharmacyId: string) {
  return server.store.tip(pharmacyId);
}

/** The next batch of pharmacy `who`, forged from fresh drafts and signed, then damaged as planned. */
async function forge(plan: Extract<BodyPlan, { kind: 'forge' }>, who: Who): Promise<{ body: UploadBody; key: string }> {
  const by = plan.signedBy === 'self' ? signers[who] : signers[plan.signedBy];
  const pharmacyId = plan.signedBy === 'self' ? IDS[who] : IDS[plan.signedBy];
  const t = tip(pharmacyId);
  const issuedAt = new Date().toISOString();
  let prev = t.lastHash;
  const invoices: string[] = [];
  // The document (or 'manifest') whose JWS is damaged.
  const damaged = typeof plan.jws?.target === 'number' ? plan.jws.target % plan.count : plan.jws?.target;
  const totals = emptyTotals();
  for (let i = 0; i < plan.count; i++) {
    const draft = sampleDraft(5000 + plan.draft * 7 + i, { date: '2024-03-15' });
    let doc: unknown = { ...draft, v: 1, kind: 'invoice', pharmacyId, number: t.lastNumber + 1 + i, prev, issuedAt };
    if (plan.doc && plan.doc.index % plan.count === i) doc = mutate(doc, plan.doc.mutation);
    let header = headerOf('chifa-invoice+jws', by);
    let canonical = true;
    if (plan.jws && damaged === i) ({ header, canonical } = editHeader(plan.jws.how, header));
    let jws = await signAny(header, doc, by, canonical);
    if (plan.jws && damaged === i) jws = editJws(plan.jws.how, jws);
    invoices.push(jws);
    prev = jwsHash(jws);
    try {
      const d = doc as InvoiceDocument;
      addToTotals(totals, d.fund, d.kind === 'credit-note', d.totals);
    } catch {
      // a damaged document: the totals of the others
    }
  }
  let manifest: unknown = {
    v: 1,
    kind: 'batch-manifest',
    pharmacyId,
    batchId: t.lastBatch + 1,
    from: t.lastNumber + 1,
    to: t.lastNumber + plan.count,
    count: plan.count,
    totals,
    invoices: invoices.map(jwsHash),
    closedAt: issuedAt,
    closeReason: 'on-demand',
  } satisfies BatchManifest;
  if (plan.manifest) manifest = mutate(manifest, plan.manifest);
  let header = headerOf('chifa-manifest+jws', by);
  let canonical = true;
  if (plan.jws && damaged === 'manifest') ({ header, canonical } = editHeader(plan.jws.how, header));
  let manifestJws = await signAny(header, manifest, by, canonical);
  if (plan.jws && damaged === 'manifest') manifestJws = editJws(plan.jws.how, manifestJws);
  // A header naming the garbage certificate comes with it, so the fund meets bytes it cannot parse.
  const offered = plan.jws?.how === 'kid-garbage' ? ['garbage' as const, ...plan.extraCertificates] : plan.extraCertificates;
  const extra = offered.map((c) =>
    c === 'garbage'
      ? GARBAGE_CERT
      : (c === 'ca' ? FUND_CA_DER : c === 'fund-signing' ? fundSigning.certificate : signers[other(who)].certificate).toString('base64'),
  );
  return {
    body: { certificates: [by.certificate.toString('base64'), ...extra].slice(0, 4), manifest: manifestJws, invoices },
    key: b64uEncode(createHash('sha256').update(manifestJws).digest()),
  };
}

function editHeader(how: JwsEdit['how'], header: Record<string, unknown>): { header: Record<string, unknown>; canonical: boolean } {
  switch (how) {
    case 'alg-none':
      return { header: { ...header, alg: 'none' }, canonical: true };
    case 'extra-header':
      return { header: { ...header, crit: ['exp'], jku: 'https://evil.example/' }, canonical: true };
    case 'typ':
      return {
        header: { ...header, typ: header.typ === 'chifa-manifest+jws' ? 'chifa-invoice+jws' : 'chifa-manifest+jws' },
        canonical: true,
      };
    case 'kid-garbage':
      return { header: { ...header, 'x5t#S256': garbageKid }, canonical: true };
    case 'kid-missing': {
      const h = { ...header };
      delete h['x5t#S256'];
      return { header: h, canonical: true };
    }
    case 'non-canonical':
      return { header, canonical: false };
    default:
      return { header, canonical: true };
  }
}

function editJws(how: JwsEdit['how'], jws: string): string {
  const [h, p, s] = jws.split('.') as [string, string, string];
  switch (how) {
    case 'sig-short':
      return `${h}.${p}.${s.slice(0, 40)}`;
    case 'sig-zero':
      return `${h}.${p}.${b64uEncode(Buffer.alloc(64))}`;
    case 'sig-flip':
      return `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    case 'four-parts':
      return `${jws}.${s}`;
    case 'padding':
      return `${jws}==`;
    case 'empty-part':
      return `${h}..${s}`;
    case 'whitespace':
      return ` ${jws}\n`;
    default:
      return jws;
  }
}

async function batchBody(
  plan: BodyPlan,
  who: Who,
  pick: number,
): Promise<{ body: Buffer | undefined; key: string | string[] | undefined }> {
  switch (plan.kind) {
    case 'none':
      return { body: undefined, key: undefined };
    case 'bytes':
      return { body: Buffer.from(plan.bytes), key: b64uEncode(randomBytes(18)) };
    case 'json':
      return { body: Buffer.from(JSON.stringify(plan.value) ?? 'null'), key: b64uEncode(randomBytes(18)) };
    case 'big': {
      const real = journals.p2[0]!;
      const k = b64uEncode(randomBytes(18));
      switch (plan.what) {
        case 'over-limit':
          return { body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20), key: k };
        case 'many-invoices':
          return {
            body: Buffer.from(JSON.stringify({ ...real.body, invoices: new Array<string>(5001).fill(real.body.invoices[0]!) })),
            key: k,
          };
        case 'many-certificates':
          return {
            body: Buffer.from(JSON.stringify({ ...real.body, certificates: new Array<string>(5).fill(real.body.certificates[0]!) })),
            key: k,
          };
        case 'long-manifest':
          return { body: Buffer.from(JSON.stringify({ ...real.body, manifest: 'a'.repeat(2_000_001) })), key: k };
        case 'long-invoice':
          return { body: Buffer.from(JSON.stringify({ ...real.body, invoices: ['a.' + 'b'.repeat(200_000) + '.c'] })), key: k };
      }
      break;
    }
    case 'journal': {
      const list = journals[own(who)];
      const next = tip(IDS[own(who)]).lastBatch;
      const b = list[plan.batch === 'next' ? Math.min(next, list.length - 1) : plan.batch % list.length]!;
      let value: UploadBody = structuredClone(b.body);
      const inv = value.invoices;
      switch (plan.shuffle) {
        case 'duplicate':
          if (inv.length > 1) inv[1] = inv[0]!;
          break;
        case 'reverse':
          inv.reverse();
          break;
        case 'drop-last':
          if (inv.length > 1) inv.pop();
          break;
        case 'append-copy':
          inv.push(inv[0]!);
          break;
        case 'other-batch':
          value.invoices = list[(list.indexOf(b) + 1) % list.length]!.body.invoices;
          break;
        case 'other-pharmacy':
          value.invoices = journals[other(who)][0]!.body.invoices;
          break;
      }
      for (const m of plan.mutations) value = mutate(value, m) as UploadBody;
      let text: Buffer = Buffer.from(JSON.stringify(value) ?? 'null');
      if (plan.edit) text = editText(text, plan.edit, 'invoices');
      // Pharmacy 1 is honest: a batch of its journal it sends as it is goes under its own key (or a
      // key the fund refuses outright), never stored under a key its uploader will not ask for.
      const untouched = plan.mutations.length === 0 && plan.edit === null && plan.shuffle === null;
      const k = who === 'p1' && untouched && !INVALID_KEYS.includes(plan.key) ? 'derived' : plan.key;
      return { body: text, key: idempotencyKey(k, b.key, pick) };
    }
    case 'forge': {
      const f = await forge(plan, who);
      let text: Buffer = Buffer.from(JSON.stringify(f.body));
      if (plan.edit) text = editText(text, plan.edit, 'invoices');
      return { body: text, key: idempotencyKey(plan.key, f.key, pick) };
    }
  }
  throw new Error('unreachable');
}

// ------------------------------------------------------------------------------------------ headers and paths

interface HeaderPlan extends BodyFraming {
  extra: 'none' | 'huge-header' | 'two-content-types' | 'expect' | 'if-none-match' | 'host' | 'te-gzip' | 'bad-length';
}

const headerPlan: fc.Arbitrary<HeaderPlan> = fc.record({
  ...bodyFraming({ contentType: 14, encoding: 14, length: 14 }, ['application/json; charset=utf-16', 'APPLICATION/JSON']),
  extra: fc.oneof(
    { weight: 20, arbitrary: fc.constant('none' as const) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'huge-header' as const,
        'two-content-types' as const,
        'expect' as const,
        'if-none-match' as const,
        'host' as const,
        'te-gzip' as const,
        'bad-length' as const,
      ),
    },
  ),
});

interface Attack {
  who: Who;
  route: string;
  method: string;
  segments: Record<string, string>;
  query: string;
  pathMangle: 'none' | 'trailing-slash' | 'double-slash' | 'upper' | 'no-prefix' | 'dot-segment';
  auth: AuthPlan;
  headers: HeaderPlan;
  body: BodyPlan;
  /** Sent this many times at once (each with its own token). */
  copies: 1 | 2;
  pick: number;
}

const routeName = fc.oneof(...Object.entries(ROUTES).map(([r, spec]) => ({ weight: spec.weight ?? 1, arbitrary: fc.constant(r) })));
const who = fc.oneof(
  { weight: 5, arbitrary: fc.constant('p1' as const) },
  { weight: 7, arbitrary: fc.constant('p2' as const) },
  {
    weight: 1,
    arbitrary: fc.constant('rogue' as const),
  },
);

const CLEAN_HEADERS: HeaderPlan = { contentType: 'application/json', encoding: null, length: { mode: 'auto' }, extra: 'none' };

/**
 * An attack at the front door (hostile token, headers, method, path: any body), or one that
 * goes through it (a valid token, clean headers, the route's method and plausible parameters)
 * to put a hostile body, query or idempotency key in front of the fund's real work.
 */
const attackOn = (frontDoor: boolean): fc.Arbitrary<Attack> =>
  fc.tuple(who, routeName).chain(([w, route]) => {
    const spec = ROUTES[route]!;
    const params: Record<string, fc.Arbitrary<string>> = {};
    for (const [name, valid] of Object.entries(spec.params ?? {}))
      params[name] = frontDoor ? fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: hostileSegment }) : valid;
    const method = route.split(' ')[0]!;
    return fc.record({
      who: fc.constant(w),
      route: fc.constant(route),
      method: frontDoor
        ? fc.oneof({ weight: 6, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) })
        : fc.constant(method),
      segments: fc.record(params),
      query:
        spec.query ??
        (frontDoor
          ? fc.oneof(
              { weight: 4, arbitrary: fc.constant('') },
              { weight: 1, arbitrary: fc.constantFrom('?x=1', '?%ff', '?a=%', '?a[b]=1&a=2') },
            )
          : fc.constant('')),
      pathMangle: frontDoor
        ? fc.oneof(
            { weight: 8, arbitrary: fc.constant('none' as const) },
            {
              weight: 1,
              arbitrary: fc.constantFrom(
                'trailing-slash' as const,
                'double-slash' as const,
                'upper' as const,
                'no-prefix' as const,
                'dot-segment' as const,
              ),
            },
          )
        : fc.constant('none' as const),
      auth: frontDoor ? authPlan : fc.constant<AuthPlan>({ kind: 'valid' }),
      headers: frontDoor ? headerPlan : fc.constant(CLEAN_HEADERS),
      body: bodyPlan(w, route),
      copies: fc.oneof({ weight: 10, arbitrary: fc.constant(1 as const) }, { weight: 1, arbitrary: fc.constant(2 as const) }),
      pick: fc.nat(),
    });
  });

const attack = fc.oneof({ weight: 1, arbitrary: attackOn(true) }, { weight: 2, arbitrary: attackOn(false) });

interface Built {
  /** The attack the request was built for (a replay's is the one replayed). */
  a: Attack;
  request: RawRequest;
  mayHang: boolean;
  mayReset: boolean;
}

/** The last request sent: what a `replay` sends again, byte for byte. */
let previous: Built | undefined;

async function build(a: Attack): Promise<Built> {
  if (a.auth.kind === 'replay' && previous !== undefined) return previous;
  let target = a.route
    .split(' ')[1]!
    .replace(/:(\w+)/g, (_m, name: string) => a.segments[name]!.replace('<self>', IDS[a.who]).replace('<other>', OTHER[a.who]));
  target += a.query;
  if (a.pathMangle === 'trailing-slash') target = target.replace(/(\?|$)/, '/$1');
  else if (a.pathMangle === 'double-slash') target = target.replace('/v1/', '/v1//');
  else if (a.pathMangle === 'upper') target = target.toUpperCase();
  else if (a.pathMangle === 'no-prefix') target = target.slice(3) || '/';
  else if (a.pathMangle === 'dot-segment') target = target.replace('/v1/', '/v1/x/../');

  const headers: Record<string, string | string[]> = {};
  const planned = await batchBody(a.body, a.who, a.pick);
  let body = planned.body;
  const key = planned.key;
  if (a.route === 'POST /v1/batches' && key !== undefined) headers['Idempotency-Key'] = key;
  const h = a.headers;
  let chunked = false;
  let mayHang = false;
  let mayReset = false;
  if (body !== undefined) ({ body, chunked, mayHang, mayReset } = frameBody(body, h, headers));
  switch (h.extra) {
    case 'huge-header':
      headers['X-Padding'] = 'p'.repeat(20_000);
      mayReset = true;
      break;
    case 'two-content-types':
      headers['Content-Type'] = ['application/json', 'text/plain'];
      break;
    case 'expect':
      headers.Expect = '100-continue';
      break;
    case 'if-none-match':
      headers['If-None-Match'] = ['*', '"abc"', 'W/"x", "y"'][a.pick % 3]!;
      break;
    case 'host':
      headers.Host = ['evil.example', '[::1]:1', '127.0.0.1:x', ''][a.pick % 4]!;
      break;
    case 'te-gzip':
      if (body !== undefined) {
        headers['Transfer-Encoding'] = 'gzip, chunked';
        chunked = true;
        mayReset = true;
      }
      break;
    case 'bad-length':
      headers['Content-Length'] = ['abc', '-1', '1, 2', '99999999999999999999'][a.pick % 4]!;
      mayReset = true;
      mayHang = true;
      break;
  }
  Object.assign(headers, await authHeaders(a.auth, a.who, a.method, target, body));
  return {
    a,
    request: {
      method: a.method,
      path: target,
      headers,
      ...(body !== undefined ? { body } : {}),
      chunked,
      ...(mayHang ? { timeoutMs: 500 } : {}),
    },
    mayHang,
    mayReset,
  };
}

// ------------------------------------------------------------------------------------------ the checks

/** The protocol's error body, or a description of what is wrong with it. */
function errorShape(res: RawResponse): { code: string; message: string; field: string } | string {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `not JSON: ${res.text.slice(0, 200)}`;
  }
  if (typeof body !== 'object' || body === null || Object.keys(body).join() !== 'error') return `not { error }: ${res.text.slice(0, 200)}`;
  const e = (body as { error: Record<string, unknown> }).error;
  if (typeof e !== 'object' || e === null) return 'error is not an object';
  const extra = Object.keys(e).filter((k) => !['code', 'message', 'field', 'expected'].includes(k));
  if (extra.length > 0) return `unexpected members ${extra.join()}`;
  if (typeof e.code !== 'string' || !/^[A-Z][A-Z0-9_]{1,63}$/.test(e.code)) return `code ${JSON.stringify(e.code)}`;
  if (typeof e.message !== 'string' || e.message === '') return 'no message';
  if (typeof e.field !== 'string' || e.field === '') return `${e.code}: no field named (${e.message.slice(0, 200)})`;
  if (e.expected !== undefined && !Number.isSafeInteger(e.expected)) return 'expected is not an integer';
  return e as { code: string; message: string; field: string };
}

// ------------------------------------------------------------------------------------------ the test

let server: FundServer;
let url: string;
let dir: string;
let logs: string[] = [];

beforeAll(async () => {
  dir = tmpDir('chifa-fund-hostile-');
  // The pharmacies' journals: pharmacy 1 with a duplicate dispensing (rejected by the fund's
  // business checks, so the honest run meets a rejection too).
  for (const [p, n] of [
    ['p1', 1],
    ['p2', 2],
  ] as const) {
    const j = Journal.open(path.join(dir, `${p}.sqlite`), { signer: signer(n), batch: { maxCount: 3 } });
    const drafts = Array.from({ length: 14 }, (_, i) => sampleDraft(n * 100 + (p === 'p1' && i === 4 ? 3 : i)));
    await j.appendMany(drafts);
    await j.whenIdle();
    await j.closeOpenBatch('on-demand');
    journals[p] = j.uploadQueue().map((b) => {
      const r = j.uploadRequest(b.id);
      return { key: r.idempotencyKey, body: r.body };
    });
    await j.close();
  }
  const captured = captureLogger('info');
  logs = captured.lines;
  server = new FundServer({ dataDir: path.join(dir, 'fund'), verifyThreads: 1, logger: captured.logger });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
});

test('every route the fund mounts is driven', () => {
  expect(mountedRoutes(server.app)).toEqual(Object.keys(ROUTES).sort());
});

test('property: hostile requests never get a 500 or bring the fund down, 4xx name the field, and the store stays complete', async () => {
  const seen = new Map<string, number>();
  const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
  const verifier = fundVerifier();
  await fc.assert(
    fc.asyncProperty(attack, async (attacked) => {
      const copies = attacked.auth.kind === 'replay' ? 1 : attacked.copies;
      const built = await Promise.all(Array.from({ length: copies }, () => build(attacked)));
      const answers = await Promise.all(built.map((b) => rawRequest(url, b.request)));
      for (let i = 0; i < copies; i++) {
        const { a, request, mayHang, mayReset } = built[i]!;
        const res = answers[i]!;
        const shown = `${a.who} ${request.method} ${request.path.slice(0, 160)} (${a.route}, body ${a.body.kind}, auth ${a.auth.kind})`;
        if (res === 'unsendable') throw new Error(`the generator built a request node:http cannot send: ${shown}`);
        if (res === 'timeout') {
          count('timeout');
          expect({ shown, timeout: true, mayHang }).toEqual({ shown, timeout: true, mayHang: true });
          continue;
        }
        if (res === 'reset') {
          count('reset');
          expect({ shown, reset: true, mayReset }).toEqual({ shown, reset: true, mayReset: true });
          continue;
        }
        count(`${a.route} ${res.status}`);
        expect({ shown, status: res.status, serverError: res.status >= 500, body: res.text.slice(0, 300) }).toEqual({
          shown,
          status: res.status,
          serverError: false,
          body: res.text.slice(0, 300),
        });
        // Node's own HTTP parser answers a few malformed requests (both Content-Length and
        // chunked, oversized headers…) with a bare 400 or 431 before express sees them.
        if (res.headers['content-type'] === undefined && res.status >= 400) {
          expect({ shown, status: res.status, bare: [400, 431].includes(res.status) }).toEqual({ shown, status: res.status, bare: true });
          continue;
        }
        if (res.status >= 400 && request.method !== 'HEAD') {
          const e = errorShape(res);
          expect({ shown, error: typeof e === 'string' ? e : 'ok' }).toEqual({ shown, error: 'ok' });
          const err = e as { code: string; message: string; field: string };
          count(`${res.status} ${err.code}`);
          // Client input is shown cut, never whole, and never with characters that hide the rest.
          expect({ shown, message: err.message.length <= 600, field: err.field.length <= 160 }).toEqual({
            shown,
            message: true,
            field: true,
          });
          expect({ shown, unsafe: UNPRINTABLE.test(err.message) || UNPRINTABLE.test(err.field) }).toEqual({ shown, unsafe: false });
          if (res.status === 401) expect({ shown, challenge: res.headers['www-authenticate'] }).toEqual({ shown, challenge: 'Chifa' });
        }
        // Every signed answer verifies, and is about the pharmacy that asked and nobody else.
        const typ = ROUTES[a.route]!.typ;
        if (res.status === 200 && typ && request.method === a.route.split(' ')[0]) {
          const payload = verifier.verifyAnswer(Buffer.from(res.text), typ, shown).payload as {
            pharmacyId?: unknown;
            cardSerial?: unknown;
          };
          // A card's rights are about the card asked for; everything else about the asking pharmacy.
          if (typ === 'chifa-rights+jws')
            expect({ shown, cardSerial: payload.cardSerial }).toEqual({ shown, cardSerial: a.segments.cardSerial });
          else expect({ shown, pharmacyId: payload.pharmacyId }).toEqual({ shown, pharmacyId: IDS[a.who] });
        }
        if (res.status === 200 && a.route === 'GET /v1/downlink/:name' && request.method === 'GET')
          expect({ shown, signed: typeof res.headers['chifa-signature'] }).toEqual({ shown, signed: 'string' });
      }
      previous = built[built.length - 1]!;
      const health = await rawRequest(url, { method: 'GET', path: '/v1/health' });
      expect({ health: typeof health === 'string' ? health : health.status }).toEqual({ health: 200 });
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );

  if (process.env.CHIFA_FUND_HOSTILE_STATS) console.log(JSON.stringify([...seen].sort(), null, 1));
  // Nothing was logged as the fund's own failure.
  expect(logs.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);

  // The run reached the real work, not only the front door.
  const has = (prefix: string) => [...seen.keys()].some((k) => k.startsWith(prefix));
  expect({
    accepted: has('POST /v1/batches 200'),
    signedGets:
      has('GET /v1/pharmacies/:pharmacyId/chain 200') &&
      has('GET /v1/downlink/:name 200') &&
      has('GET /v1/batches/:pharmacyId/:batchId/payment 200'),
    malformed: has('400 MALFORMED_BODY'),
    unauthenticated: has('401 AUTH_'),
    replayed: has('401 AUTH_REPLAYED'),
    forbidden: has('403 FORBIDDEN'),
    chain: has('409 '),
    tampered: has('422 BAD_SIGNATURE') || has('422 MALFORMED_JWS'),
    invalid: has('422 INVALID_INVOICE'),
    media: has('415 '),
  }).toEqual({
    accepted: true,
    signedGets: true,
    malformed: true,
    unauthenticated: true,
    replayed: true,
    forbidden: true,
    chain: true,
    tampered: true,
    invalid: true,
    media: true,
  });

  // The store is complete and consistent (chifa fund verify)…
  const audit = auditFundStore(path.join(dir, 'fund'));
  expect({ ok: audit.ok, problems: audit.problems, pharmacies: audit.pharmacies.map((p) => p.problems) }).toEqual({
    ok: true,
    problems: [],
    pharmacies: audit.pharmacies.map(() => []),
  });

  // …and nothing pharmacy 2 or the rogue card did keeps pharmacy 1 from syncing its journal.
  const j = Journal.open(path.join(dir, 'p1.sqlite'), { signer: signer(1) });
  try {
    const s = await new Uploader(j, { fund: url, ...credentials(1), sleep: async () => undefined }).runOnce();
    expect({ error: s.error, backlog: j.backlog().unsentBatches }).toEqual({ error: null, backlog: 0 });
  } finally {
    await j.close();
  }
});
