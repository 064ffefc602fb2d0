import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { b64uDecode, b64uEncode } from '../../src/sync/base64url';
import { assemble, jwsHash, parseCompact, signCompact, signingInputFor, verifyCompact } from '../../src/sync/jws';
import { certificateThumbprint, SoftwareSigner } from '../../src/sync/signer';
import { key, signer } from './helpers';

describe('SoftwareSigner', () => {
  test('reads the test keys; key id is the certificate thumbprint; pharmacy id from CN', () => {
    const s = signer(1);
    expect(s.pharmacyId).toBe('DZ16-PH-00001');
    expect(s.keyId).toBe(certificateThumbprint(fs.readFileSync(key('pharmacy-1.cert.der'))));
    expect(signer(2).pharmacyId).toBe('DZ31-PH-00002');
  });

  test('refuses a key that does not match the certificate', () => {
    expect(() => SoftwareSigner.fromFiles(key('pharmacy-1.key.pem'), key('pharmacy-2.cert.pem'))).toThrow(/does not match/);
  });

  test('both paths (with the message, digest only) give signatures that verify', async () => {
    const s = signer(1);
    const pub = createPublicKey(createPrivateKey(fs.readFileSync(key('pharmacy-1.key.pem'))));
    const msg = Buffer.from('header.payload');
    const digest = createHash('sha256').update(msg).digest();
    for (const sig of [await s.sign(digest, msg), await s.sign(digest)]) {
      expect(sig.length).toBe(64);
      expect(verify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    }
    // A message that does not match the digest is ignored: the digest is what gets signed.
    const sig = await s.sign(digest, Buffer.from('something else'));
    expect(verify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });
});

describe('compact JWS ES256', () => {
  const s = signer(1);
  const pub = createPublicKey(createPrivateKey(fs.readFileSync(key('pharmacy-1.key.pem'))));

  test('sign then verify; header is exactly alg, typ, x5t#S256', async () => {
    const jws = await signCompact({ b: 2, a: 'é' }, 'chifa-invoice+jws', s);
    const p = verifyCompact(jws, pub, 'jws', 'chifa-invoice+jws');
    expect(p.header).toEqual({ alg: 'ES256', typ: 'chifa-invoice+jws', 'x5t#S256': s.keyId });
    expect(p.payloadText).toBe('{"a":"é","b":2}');
    expect(jwsHash(jws)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a card-style signer (digest only) produces a standard JWS', async () => {
    const cardLike = { certificate: s.certificate, keyId: s.keyId, sign: (digest: Buffer) => s.sign(digest) };
    const jws = await signCompact({ x: 1 }, 'chifa-manifest+jws', cardLike);
    // Verify independently of our parser: node:crypto over the signing input.
    const [h, p, sig] = jws.split('.');
    expect(verify('sha256', Buffer.from(`${h}.${p}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig!, 'base64url'))).toBe(true);
  });

  test('tampering anywhere is detected, with a typed error', async () => {
    const jws = await signCompact({ amount: 100 }, 'chifa-invoice+jws', s);
    const [h, p, sig] = jws.split('.') as [string, string, string];
    const forged = `${h}.${b64uEncode('{"amount":999}')}.${sig}`;
    expect(() => verifyCompact(forged, pub)).toThrow(expect.objectContaining({ code: 'bad-signature' }));
    expect(() => verifyCompact(`${h}.${p}`, pub)).toThrow(expect.objectContaining({ code: 'malformed-jws' }));
    expect(() => verifyCompact(`${h}.${p}.${sig}.x`, pub)).toThrow(expect.objectContaining({ code: 'malformed-jws' }));
    expect(() => parseCompact(jws, 'jws', 'chifa-manifest+jws')).toThrow(expect.objectContaining({ code: 'wrong-document-type' }));
    const none = `${b64uEncode('{"alg":"none","typ":"chifa-invoice+jws","x5t#S256":"' + s.keyId + '"}')}.${p}.${sig}`;
    expect(() => parseCompact(none)).toThrow(expect.objectContaining({ code: 'unsupported-alg' }));
    // What the sender put in the header is shown cut, never whole.
    const long = `${b64uEncode('{"alg":"' + 'A'.repeat(5000) + '","typ":"chifa-invoice+jws","x5t#S256":"' + s.keyId + '"}')}.${p}.${sig}`;
    expect(() => parseCompact(long)).toThrow(expect.objectContaining({ message: expect.stringMatching(/got "A{39}…$/) }));
    const spaced = `${h}.${b64uEncode('{"amount": 100}')}.${sig}`;
    expect(() => parseCompact(spaced)).toThrow(expect.objectContaining({ code: 'non-canonical-payload' }));
    expect(() => parseCompact(`${h}.${p}.${sig.slice(0, -2)}`)).toThrow(/signature/);
    expect(() => parseCompact(`${h}.${p}+.${sig}`)).toThrow(expect.objectContaining({ code: 'bad-base64url' }));
  });

  test('property: any single-character change to a JWS makes it fail to parse or verify', async () => {
    const jws = await signCompact({ n: 1, lines: [{ q: 2 }] }, 'chifa-invoice+jws', s);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat(jws.length - 1), fc.nat(alphabet.length - 1), (i, c) => {
        const ch = alphabet[c]!;
        fc.pre(jws[i] !== ch);
        const t = jws.slice(0, i) + ch + jws.slice(i + 1);
        expect(() => verifyCompact(t, pub)).toThrow();
      }),
      { numRuns: 300 },
    );
  });

  test('assemble refuses a signature that is not 64 bytes', () => {
    const { signingInput } = signingInputFor({}, 'chifa-invoice+jws', s.keyId);
    expect(() => assemble(signingInput, Buffer.alloc(70))).toThrow(/64 bytes/);
  });

  test('strict base64url', () => {
    expect(b64uDecode('AQID', 'f')).toEqual(Buffer.from([1, 2, 3]));
    expect(() => b64uDecode('AQ==', 'f')).toThrow(/not base64url/);
    expect(() => b64uDecode('AR', 'f')).toThrow(/non-canonical/);
    expect(() => b64uDecode('A', 'f')).toThrow(/not base64url/);
  });
});
