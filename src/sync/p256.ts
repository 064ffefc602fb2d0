import { createHmac } from 'node:crypto';

/**
 * ECDSA P-256 signing over a 32-byte SHA-256 digest (FIPS 186-4 §6.4, SEC 1 §4.1.3), with the
 * nonce derived deterministically per RFC 6979 §3.2.
 *
 * Why this exists: node:crypto signs *messages* (it always hashes first), but a professional card
 * signs a *digest* (PSO: COMPUTE DIGITAL SIGNATURE receives SHA-256(message)). A software signer
 * asked to sign only a digest has no other way to produce the same signature. It is slow next to
 * OpenSSL (a few ms) and is not constant-time: it is for tests and the card emulator's
 * test keys, never for a production key. `SoftwareSigner` uses OpenSSL whenever it is given the
 * message as well.
 */

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

type Jacobian = [bigint, bigint, bigint]; // (X, Y, Z) with x = X/Z², y = Y/Z³; Z = 0 is infinity

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** Inverse modulo a prime (Fermat). */
const inv = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

// Doubling for a = −3 ("dbl-2001-b", hyperelliptic.org EFD).
function double([X, Y, Z]: Jacobian): Jacobian {
  if (Z === 0n || Y === 0n) return [0n, 1n, 0n];
  const delta = (Z * Z) % P;
  const gamma = (Y * Y) % P;
  const beta = (X * gamma) % P;
  const alpha = mod(3n * (X - delta) * (X + delta), P);
  const X3 = mod(alpha * alpha - 8n * beta, P);
  const Z3 = mod((Y + Z) * (Y + Z) - gamma - delta, P);
  const Y3 = mod(alpha * (4n * beta - X3) - 8n * gamma * gamma, P);
  return [X3, Y3, Z3];
}

// General addition ("add-2007-bl").
function add(p: Jacobian, q: Jacobian): Jacobian {
  const [X1, Y1, Z1] = p;
  const [X2, Y2, Z2] = q;
  if (Z1 === 0n) return q;
  if (Z2 === 0n) return p;
  const Z1Z1 = (Z1 * Z1) % P;
  const Z2Z2 = (Z2 * Z2) % P;
  const U1 = (X1 * Z2Z2) % P;
  const U2 = (X2 * Z1Z1) % P;
  const S1 = (Y1 * Z2 * Z2Z2) % P;
  const S2 = (Y2 * Z1 * Z1Z1) % P;
  if (U1 === U2) return S1 === S2 ? double(p) : [0n, 1n, 0n];
  const H = mod(U2 - U1, P);
  const I = (4n * H * H) % P;
  const J = (H * I) % P;
  const r = mod(2n * (S2 - S1), P);
  const V = (U1 * I) % P;
  const X3 = mod(r * r - J - 2n * V, P);
  const Y3 = mod(r * (V - X3) - 2n * S1 * J, P);
  const Z3 = mod(((Z1 + Z2) * (Z1 + Z2) - Z1Z1 - Z2Z2) * H, P);
  return [X3, Y3, Z3];
}

function mulG(k: bigint): { x: bigint; y: bigint } {
  let r: Jacobian = [0n, 1n, 0n];
  let q: Jacobian = [GX, GY, 1n];
  while (k > 0n) {
    if (k & 1n) r = add(r, q);
    q = double(q);
    k >>= 1n;
  }
  const zi = inv(r[2], P);
  const zi2 = (zi * zi) % P;
  return { x: (r[0] * zi2) % P, y: (r[1] * zi2 * zi) % P };
}

const toInt = (b: Buffer): bigint => BigInt('0x' + (b.length ? b.toString('hex') : '0'));
const int2octets = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');

/**
 * RFC 6979 §3.2 nonces for P-256 with HMAC-SHA-256 (qlen = hlen = 256, so bits2int is plain):
 * the first value is k; later values are what step h.3 gives if k was unusable.
 */
export function* rfc6979Nonces(d: bigint, digest: Buffer): Generator<bigint, never> {
  const x = int2octets(d);
  const h1 = int2octets(mod(toInt(digest), N));
  let V: Buffer = Buffer.alloc(32, 1);
  let K: Buffer = Buffer.alloc(32, 0);
  const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  K = hmac(K, V, Buffer.of(0), x, h1);
  V = hmac(K, V);
  K = hmac(K, V, Buffer.of(1), x, h1);
  V = hmac(K, V);
  for (;;) {
    V = hmac(K, V);
    const k = toInt(V);
    if (k >= 1n && k < N) yield k;
    K = hmac(K, V, Buffer.of(0));
    V = hmac(K, V);
  }
}

/**
 * Signs a 32-byte digest with the private scalar `d` (32 bytes, big-endian). Returns r‖s, 64
 * bytes, the JWS ES256 form (RFC 7518 §3.4).
 */
export function signDigestP256(privateScalar: Buffer, digest: Buffer): Buffer {
  if (digest.length !== 32) throw new RangeError(`signDigestP256: digest must be 32 bytes, got ${digest.length}`);
  const d = toInt(privateScalar);
  if (d <= 0n || d >= N) throw new RangeError('signDigestP256: private scalar out of range');
  const z = toInt(digest); // bits2int: a 256-bit digest for a 256-bit order needs no shift
  for (const k of rfc6979Nonces(d, digest)) {
    // r = 0 or s = 0 has probability ~2^-256; RFC 6979 then takes the next candidate.
    const r = mod(mulG(k).x, N);
    if (r === 0n) continue;
    const s = mod(inv(k, N) * (z + r * d), N);
    if (s === 0n) continue;
    return Buffer.concat([int2octets(r), int2octets(s)]);
  }
  throw new Error('unreachable'); // the nonce generator never ends
}
