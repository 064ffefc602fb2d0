import { createHmac, type KeyObject } from 'node:crypto';

/**
 * ECDSA P-256 over a caller-supplied 32-byte digest (SEC 1 §4.1.3, FIPS 186-4 §6.4), with the
 * nonce k derived deterministically per RFC 6979 §3.2 (HMAC-SHA256).
 *
 * Why: PSO: COMPUTE DIGITAL SIGNATURE receives SHA-256(message), not the message (ISO 7816-8
 * §11.2.3, "input template: hash code"). node:crypto only signs messages (it always hashes), so
 * the emulated card does the curve arithmetic itself. The output verifies with
 * `crypto.verify('sha256', message, publicKey, sig)` in ieee-p1363 encoding. This is bigint code:
 * not constant-time, fine for an emulator holding test keys, never for a real key.
 */

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Affine = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

interface Affine {
  x: bigint;
  y: bigint;
}
/** Jacobian coordinates: x = X/Z², y = Y/Z³; Z = 0 is the point at infinity. */
interface Jac {
  X: bigint;
  Y: bigint;
  Z: bigint;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inv(a: bigint, m: bigint): bigint {
  // Extended Euclid; a is never 0 mod m here.
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function double(p: Jac): Jac {
  if (p.Z === 0n || p.Y === 0n) return { X: 0n, Y: 1n, Z: 0n };
  const Y2 = mod(p.Y * p.Y, P);
  const S = mod(4n * p.X * Y2, P);
  const Z2 = mod(p.Z * p.Z, P);
  const M = mod(3n * p.X * p.X + A * Z2 * Z2, P);
  const X = mod(M * M - 2n * S, P);
  const Y = mod(M * (S - X) - 8n * Y2 * Y2, P);
  const Z = mod(2n * p.Y * p.Z, P);
  return { X, Y, Z };
}

function add(p: Jac, q: Jac): Jac {
  if (p.Z === 0n) return q;
  if (q.Z === 0n) return p;
  const Z1Z1 = mod(p.Z * p.Z, P);
  const Z2Z2 = mod(q.Z * q.Z, P);
  const U1 = mod(p.X * Z2Z2, P);
  const U2 = mod(q.X * Z1Z1, P);
  const S1 = mod(p.Y * q.Z * Z2Z2, P);
  const S2 = mod(q.Y * p.Z * Z1Z1, P);
  if (U1 === U2) return S1 === S2 ? double(p) : { X: 0n, Y: 1n, Z: 0n };
  const H = mod(U2 - U1, P);
  const R = mod(S2 - S1, P);
  const H2 = mod(H * H, P);
  const H3 = mod(H * H2, P);
  const X = mod(R * R - H3 - 2n * U1 * H2, P);
  const Y = mod(R * (U1 * H2 - X) - S1 * H3, P);
  const Z = mod(H * p.Z * q.Z, P);
  return { X, Y, Z };
}

function multiply(k: bigint, point: Affine): Affine {
  let r: Jac = { X: 0n, Y: 1n, Z: 0n };
  const base: Jac = { X: point.x, Y: point.y, Z: 1n };
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    r = double(r);
    if ((k >> i) & 1n) r = add(r, base);
  }
  const zi = inv(r.Z, P);
  const zi2 = mod(zi * zi, P);
  return { x: mod(r.X * zi2, P), y: mod(r.Y * zi2 * zi, P) };
}

function toBytes32(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
}

function fromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** RFC 6979 §2.3.2 bits2int for qlen = hlen = 256, then mod n (bits2octets). */
function bits2octets(h: Buffer): Buffer {
  return toBytes32(mod(fromBytes(h), N));
}

/** RFC 6979 §3.2 nonce generation with HMAC-SHA256; `next` retries for the (negligible) bad-k case. */
function* nonces(d: bigint, digest: Buffer): Generator<bigint> {
  const x = toBytes32(d);
  const h1 = bits2octets(digest);
  let V: Buffer = Buffer.alloc(32, 0x01);
  let K: Buffer = Buffer.alloc(32, 0x00);
  const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
    const m = createHmac('sha256', key);
    for (const p of parts) m.update(p);
    return m.digest();
  };
  K = hmac(K, V, Buffer.from([0x00]), x, h1);
  V = hmac(K, V);
  K = hmac(K, V, Buffer.from([0x01]), x, h1);
  V = hmac(K, V);
  for (;;) {
    V = hmac(K, V);
    const k = fromBytes(V);
    if (k >= 1n && k < N) yield k;
    K = hmac(K, V, Buffer.from([0x00]));
    V = hmac(K, V);
  }
}

/** The private scalar of a P-256 private key. */
export function privateScalar(key: KeyObject): bigint {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new Error('not an EC P-256 private key');
  return fromBytes(Buffer.from(jwk.d, 'base64url'));
}

/**
 * Signs a 32-byte digest; returns r || s (64 bytes, IEEE P1363). s is normalised to the lower
 * half of the group order (harmless for verifiers, and makes signatures canonical).
 */
export function signDigest(d: bigint, digest: Buffer): Buffer {
  if (digest.length !== 32) throw new Error('the digest must be 32 bytes (SHA-256)');
  if (d < 1n || d >= N) throw new Error('private scalar out of range');
  const e = mod(fromBytes(digest), N);
  for (const k of nonces(d, digest)) {
    const r = mod(multiply(k, G).x, N);
    if (r === 0n) continue;
    let s = mod(inv(k, N) * (e + r * d), N);
    if (s === 0n) continue;
    if (s > N / 2n) s = N - s;
    return Buffer.concat([toBytes32(r), toBytes32(s)]);
  }
  throw new Error('unreachable');
}
