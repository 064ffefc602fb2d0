import { createECDH, createHash, createPrivateKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { P256SigningKey } from '../../src/common/p256';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // the P-256 group order
const sha256 = (m: Uint8Array | string): Buffer => createHash('sha256').update(m).digest();
const int = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'));

/** A node:crypto private key for the scalar `d` (hex): the public point comes from node's ECDH. */
function keyFromScalar(dHex: string): KeyObject {
  const d = Buffer.from(dHex, 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey(); // 04 || x || y
  const b64 = (b: Buffer): string => b.toString('base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) },
    format: 'jwk',
  });
}

describe('P256SigningKey (ECDSA P-256 over a SHA-256 digest)', () => {
  test('RFC 6979 A.2.5 vector (P-256, SHA-256, "sample"): same r; s normalised to the low half', () => {
    const key = P256SigningKey.fromKeyObject(keyFromScalar('C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721'));
    const sig = key.signDigest(sha256('sample'));
    expect(sig.subarray(0, 32).toString('hex').toUpperCase()).toBe('EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716');
    // The RFC's s = F7CB1C94… is in the high half; the canonical low-S form is n − s.
    expect(N - int(sig.subarray(32))).toBe(0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8n);
  });

  test('property: every signature verifies with node:crypto and is low-S (s ≤ n/2)', () => {
    const keys = Array.from({ length: 4 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const signers = keys.map((k) => P256SigningKey.fromKeyObject(k.privateKey));
    fc.assert(
      fc.property(fc.nat(keys.length - 1), fc.uint8Array({ maxLength: 200 }), (i, msg) => {
        const sig = signers[i]!.signDigest(sha256(msg));
        expect(sig.length).toBe(64);
        const s = int(sig.subarray(32));
        expect(s > 0n && s <= N / 2n).toBe(true);
        expect(verify('sha256', msg, { key: keys[i]!.publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('deterministic: the same digest gives the same signature', () => {
    const key = P256SigningKey.fromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const digest = sha256('invoice');
    expect(key.signDigest(digest)).toEqual(key.signDigest(digest));
  });

  test('refuses a digest that is not 32 bytes, and a key that is not a P-256 private key', () => {
    const key = P256SigningKey.fromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    expect(() => key.signDigest(Buffer.alloc(31))).toThrow(expect.objectContaining({ code: 'bad-digest', field: 'digest' }));
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => P256SigningKey.fromKeyObject(p384.privateKey)).toThrow(expect.objectContaining({ code: 'bad-signing-key' }));
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => P256SigningKey.fromKeyObject(p256.publicKey)).toThrow(expect.objectContaining({ code: 'bad-signing-key' }));
  });
});
