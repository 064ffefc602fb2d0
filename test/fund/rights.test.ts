import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { FundServer } from '../../src/fund/server';
import { fundEndpoint } from '../../src/sync/http';
import { fetchRights, rightsDocumentCurrent } from '../../src/sync/rights';
import { SoftwareSigner, type Signer } from '../../src/sync/signer';
import { RequestAuthenticator } from '../../src/sync/request-auth';
import { credentials, key, onCleanup, pharmacyEndpoint, signer, tmpDir } from '../sync/helpers';

/**
 * The reference fund serves each card's current rights as a document signed with its key
 * (GET /v1/rights/:cardSerial, docs/sync.md "Rights"); the terminal verifies it before it acts on
 * it, and refuses rights the fund did not sign.
 */

const NOW = new Date('2025-06-15T10:00:00Z');
const fundSigning = SoftwareSigner.fromFiles(key('fund-signing.key.pem'), key('fund-signing.cert.pem'));

async function fund(options: { signer?: Signer; rights?: unknown } = {}): Promise<string> {
  const dir = tmpDir('chifa-rights-');
  if (options.rights !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'rights.json'), JSON.stringify(options.rights));
  }
  const server = onCleanup(
    new FundServer({ dataDir: dir, verifyThreads: 0, now: () => NOW, ...(options.signer ? { signer: options.signer } : {}) }),
  );
  return server.listen();
}

/** The pharmacy's endpoint, its request tokens dated by the same clock as the fund's. */
const ep = (url: string) => pharmacyEndpoint(url, 1, { auth: new RequestAuthenticator(signer(1), { now: () => NOW }) });

describe('GET /v1/rights/:cardSerial', () => {
  test('the shipped registry: the expired test card gets renewed rights, signed, valid a week from today', async () => {
    const url = await fund();
    const got = await fetchRights(ep(url), 'CH1-2014-001234');
    expect(got.document).toEqual({
      v: 1,
      cardSerial: 'CH1-2014-001234',
      sequence: 1,
      issuedOn: '2025-06-15',
      validUntil: '2025-06-22',
      rights: {
        fund: 1,
        category: 1,
        rateBp: 8000,
        rightsEnd: '2030-12-31',
        cardValidUntil: '2030-12-31',
        chronic: [],
        beneficiaryRights: [],
      },
    });
    expect(got.jws.split('.')).toHaveLength(3);
    expect(got.certificate.equals(fundSigning.certificate)).toBe(true);
    expect(rightsDocumentCurrent(got.document, '2025-06-22')).toBe(true);
    expect(rightsDocumentCurrent(got.document, '2025-06-23')).toBe(false);
  });

  test("DATA/rights.json replaces the shipped registry; a card it does not list is 'unknown-card'", async () => {
    const url = await fund({
      rights: {
        cards: [
          {
            cardSerial: 'CH2-2024-000001',
            sequence: 4,
            rights: { fund: 1, category: 6, rateBp: 10000, rightsEnd: '2026-01-31', chronic: [], beneficiaryRights: [] },
          },
        ],
      },
    });
    expect((await fetchRights(ep(url), 'CH2-2024-000001')).document).toMatchObject({ sequence: 4, rights: { category: 6 } });
    await expect(fetchRights(ep(url), 'CH1-2014-001234')).rejects.toMatchObject({ code: 'unknown-card' });
  });

  test('a request without the pharmacy token is refused; a malformed serial is a 400 naming it', async () => {
    const url = await fund();
    const anonymous = fundEndpoint(url, { verifier: credentials(1).verifier });
    await expect(fetchRights(anonymous, 'CH1-2014-001234')).rejects.toMatchObject({
      code: 'fund-refused',
      message: expect.stringContaining('HTTP 401'),
    });
    await expect(fetchRights(ep(url), 'ch1 lower')).rejects.toMatchObject({
      code: 'fund-refused',
      message: expect.stringContaining('HTTP 400 BAD_REQUEST: cardSerial: expected a card serial'),
    });
  });

  test("an answer not signed by the fund's key is refused before anything is done with it", async () => {
    // The genuine fund certificate, a signature by another key (the pharmacist's).
    const other = createPrivateKey(fs.readFileSync(key('pharmacy-1.key.pem')));
    const forger: Signer = {
      certificate: fundSigning.certificate,
      keyId: fundSigning.keyId,
      sign: (_digest: Buffer, message?: Buffer) =>
        Promise.resolve(cryptoSign('sha256', message!, { key: other, dsaEncoding: 'ieee-p1363' })),
    };
    const url = await fund({ signer: forger });
    await expect(fetchRights(ep(url), 'CH1-2014-001234')).rejects.toMatchObject({ code: 'bad-fund-signature' });
  });

  test("a fund that cannot be reached is 'fund-unreachable'", async () => {
    const url = await fund();
    const dead = url.replace(/:\d+$/, ':1');
    await expect(fetchRights(ep(dead), 'CH1-2014-001234')).rejects.toMatchObject({ code: 'fund-unreachable' });
  });
});
