import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { clip } from '../common/display';
import { b64uDecode, b64uEncode } from './base64url';
import { canonicalize, parseCanonical } from './canonical';
import { JwsError } from './errors';
import type { Signer } from './signer';

/**
 * Compact JWS (RFC 7515 §7.1) with ES256 (RFC 7518 §3.4), written with node:crypto: no JOSE
 * library (measured here, `jose` spent more time around the signature check than in it, and it
 * is ESM-only).
 *
 * The protected header is itself canonical JSON with exactly three members:
 *   {"alg":"ES256","typ":<document type>,"x5t#S256":<certificate thumbprint>}
 * `typ` separates the documents (invoices, batch manifests, the pharmacy's request tokens, the
fund's signed answers: docs/sync.md), so one can never be passed off as another.
 * The payload is the document's RFC 8785 canonical JSON. No other header member is accepted
 * (in particular no `crit`, `jku`, `x5u`: the verifier decides which keys it trusts).
 */

export type JwsType =
  | 'chifa-invoice+jws'
  | 'chifa-manifest+jws'
  /** A pharmacy's request to the fund (src/sync/request-auth.ts). */
  | 'chifa-request+jws'
  /** The fund's answers (src/sync/fund-verifier.ts): a batch acknowledgement, batch summaries, the chain tip, a downlink document. */
  | 'chifa-ack+jws'
  | 'chifa-batches+jws'
  | 'chifa-chain+jws'
  | 'chifa-downlink+jws'
  /** The fund's signed rights of one card (src/sync/rights.ts), which the card itself verifies too. */
  | 'chifa-rights+jws'
  /** The fund's payment notice of a settled batch (what it transferred, and why less than accepted). */
  | 'chifa-payment+jws';
export const JWS_TYPES: readonly JwsType[] = [
  'chifa-invoice+jws',
  'chifa-manifest+jws',
  'chifa-request+jws',
  'chifa-ack+jws',
  'chifa-batches+jws',
  'chifa-chain+jws',
  'chifa-downlink+jws',
  'chifa-rights+jws',
  'chifa-payment+jws',
];

export interface JwsHeader {
  alg: 'ES256';
  typ: JwsType;
  'x5t#S256': string;
}

export interface ParsedJws {
  header: JwsHeader;
  /** The payload's canonical JSON text. */
  payloadText: string;
  /** The parsed payload (already checked to be canonical). */
  payload: unknown;
  /** ASCII `BASE64URL(header) || '.' || BASE64URL(payload)`: what the signature covers. */
  signingInput: string;
  /** r‖s, 64 bytes. */
  signature: Buffer;
}

const headerCache = new Map<string, string>();

function encodedHeader(typ: JwsType, keyId: string): string {
  const k = typ + ' ' + keyId;
  let h = headerCache.get(k);
  if (h === undefined) {
    h = b64uEncode(canonicalize({ alg: 'ES256', typ, 'x5t#S256': keyId }));
    if (headerCache.size > 64) headerCache.clear();
    headerCache.set(k, h);
  }
  return h;
}

/** Prepares the signing input and its SHA-256 for `payload` (canonicalised here). */
export function signingInputFor(payload: unknown, typ: JwsType, keyId: string): { signingInput: string; digest: Buffer } {
  const signingInput = encodedHeader(typ, keyId) + '.' + b64uEncode(canonicalize(payload));
  return { signingInput, digest: createHash('sha256').update(signingInput).digest() };
}

/** Joins a signing input and a signature into a compact JWS, checking the signature's size. */
export function assemble(signingInput: string, signature: Buffer): string {
  if (signature.length !== 64)
    throw new JwsError('bad-signature-size', `an ES256 signature is 64 bytes (r‖s), the signer returned ${signature.length}`);
  return signingInput + '.' + b64uEncode(signature);
}

/** Signs `payload` (as canonical JSON) with `signer`; returns the compact JWS. */
export async function signCompact(payload: unknown, typ: JwsType, signer: Signer): Promise<string> {
  const { signingInput, digest } = signingInputFor(payload, typ, signer.keyId);
  return assemble(signingInput, await signer.sign(digest, Buffer.from(signingInput, 'ascii')));
}

/**
 * Parses a compact JWS strictly: three base64url parts, the header exactly as above, the
 * payload canonical JSON, the signature 64 bytes. Does not check the signature. `field` names
 * the JWS in errors (`invoices[3]`).
 */
export function parseCompact(jws: string, field = 'jws', expectType?: JwsType): ParsedJws {
  if (typeof jws !== 'string') throw new JwsError('malformed-jws', `${field}: expected a compact JWS string`, field);
  const a = jws.indexOf('.');
  const b = a < 0 ? -1 : jws.indexOf('.', a + 1);
  if (a < 0 || b < 0 || jws.indexOf('.', b + 1) >= 0) {
    throw new JwsError('malformed-jws', `${field}: a compact JWS has exactly three parts`, field);
  }
  const header = parseProtectedHeader(jws.slice(0, a), field, expectType);
  const payloadText = b64uDecode(jws.slice(a + 1, b), `${field}.payload`).toString('utf8');
  let payload: unknown;
  try {
    payload = parseCanonical(payloadText, `${field}.payload`);
  } catch (err) {
    throw new JwsError('non-canonical-payload', (err as Error).message, `${field}.payload`);
  }
  const signature = b64uDecode(jws.slice(b + 1), `${field}.signature`);
  if (signature.length !== 64)
    throw new JwsError('malformed-jws', `${field}.signature: expected 64 bytes, got ${signature.length}`, `${field}.signature`);
  return { header, payloadText, payload, signingInput: jws.slice(0, b), signature };
}

const parsedHeaders = new Map<string, JwsHeader>();

/** Parses and checks the protected header (its base64url text) as described above. */
export function parseProtectedHeader(encoded: string, field = 'jws', expectType?: JwsType): JwsHeader {
  // Every invoice of one card has the same header text: remember the good ones.
  const known = parsedHeaders.get(encoded);
  if (known !== undefined && (expectType === undefined || known.typ === expectType)) return known;
  const header = parseHeaderText(encoded, field, expectType);
  if (parsedHeaders.size >= 256) parsedHeaders.clear();
  parsedHeaders.set(encoded, header);
  return header;
}

function parseHeaderText(encoded: string, field: string, expectType: JwsType | undefined): JwsHeader {
  const headerText = b64uDecode(encoded, `${field}.header`).toString('utf8');
  let header: unknown;
  try {
    header = parseCanonical(headerText, `${field}.header`);
  } catch (err) {
    throw new JwsError('malformed-jws', (err as Error).message, `${field}.header`);
  }
  const h = header as Record<string, unknown>;
  if (typeof h !== 'object' || h === null || Array.isArray(h) || Object.keys(h).length !== 3) {
    throw new JwsError('malformed-jws', `${field}.header: expected exactly alg, typ and x5t#S256`, `${field}.header`);
  }
  if (h.alg !== 'ES256')
    throw new JwsError(
      'unsupported-alg',
      `${field}.header.alg: expected ES256, got ${clip(String(JSON.stringify(h.alg)))}`,
      `${field}.header.alg`,
    );
  if (typeof h.typ !== 'string' || !(JWS_TYPES as readonly string[]).includes(h.typ)) {
    throw new JwsError('malformed-jws', `${field}.header.typ: unknown type ${clip(String(JSON.stringify(h.typ)))}`, `${field}.header.typ`);
  }
  if (expectType !== undefined && h.typ !== expectType) {
    throw new JwsError('wrong-document-type', `${field}.header.typ: expected ${expectType}, got ${h.typ}`, `${field}.header.typ`);
  }
  if (typeof h['x5t#S256'] !== 'string' || h['x5t#S256'].length !== 43) {
    throw new JwsError('malformed-jws', `${field}.header.x5t#S256: expected a SHA-256 thumbprint`, `${field}.header.x5t#S256`);
  }
  return Object.freeze({ alg: 'ES256', typ: h.typ as JwsType, 'x5t#S256': h['x5t#S256'] });
}

/** Checks an ES256 signature over a signing input with node:crypto. */
export function verifySignature(signingInput: string, signature: Buffer, key: KeyObject): boolean {
  return cryptoVerify('sha256', Buffer.from(signingInput, 'ascii'), { key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** Parses and verifies; throws JwsError('bad-signature') when the signature does not verify. */
export function verifyCompact(jws: string, key: KeyObject, field = 'jws', expectType?: JwsType): ParsedJws {
  const p = parseCompact(jws, field, expectType);
  if (!verifySignature(p.signingInput, p.signature, key))
    throw new JwsError('bad-signature', `${field}: the signature does not verify`, field);
  return p;
}

/** SHA-256 of the compact JWS text, lower-case hex: the link value of the invoice chain. */
export function jwsHash(jws: string): string {
  return createHash('sha256').update(jws, 'ascii').digest('hex');
}
