import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../common/paths';
import { FundVerifier } from '../sync/fund-verifier';
import { SoftwareSigner } from '../sync/signer';

/**
 * The TEST ONLY data the package ships under `fixtures/`: card images, the test PKI, the test
 * blacklist. Paths are absolute, so a test can use them from any working directory.
 */

/** The card images shipped in `fixtures/cards/` (all TEST ONLY), by name. */
export const FIXTURE_CARDS = [
  'demo',
  'chronic',
  'full-rings',
  'pin-blocked',
  'expired',
  'blacklisted',
  'no-extended',
  't0',
  'pharmacist-1',
  'pharmacist-2',
  'rogue-pharmacist',
] as const;

/** The name of a card image shipped in `fixtures/cards/`. */
export type FixtureCard = (typeof FIXTURE_CARDS)[number];

/** The TEST ONLY pharmacies of `fixtures/keys/` whose certificates the fund CA issued. */
export type TestPharmacy = 'pharmacy-1' | 'pharmacy-2';

/** Absolute path of a file under the package's `fixtures/` directory. */
export function fixturePath(...parts: string[]): string {
  return path.join(packageRoot(), 'fixtures', ...parts);
}

/** Absolute path of a shipped card image, e.g. `cardFixture('demo')`. */
export function cardFixture(name: FixtureCard): string {
  return fixturePath('cards', `${name}.json`);
}

/** Whether `name` names a shipped card image. */
export function isFixtureCard(name: string): name is FixtureCard {
  return (FIXTURE_CARDS as readonly string[]).includes(name);
}

/**
 * The test PKI of `fixtures/keys/` (every private key in it is public: TEST ONLY). The pharmacy
 * certificates are issued by `fundCa`, which the reference fund trusts by default; `tlsCa`
 * issued `tlsServer`, for HTTPS tests.
 */
export const testKeys = {
  /** The fund CA certificate (PEM) that issues the pharmacists' certificates. */
  get fundCa(): string {
    return fixturePath('keys', 'fund-ca.pem');
  },
  /** The CA (PEM) of the fund's TLS certificate. */
  get tlsCa(): string {
    return fixturePath('keys', 'tls-ca.pem');
  },
  /** The fund's TLS certificate and key (PEM), for 127.0.0.1 and localhost. */
  get tlsServer(): { readonly cert: string; readonly key: string } {
    return { cert: fixturePath('keys', 'tls-server.pem'), key: fixturePath('keys', 'tls-server.key.pem') };
  },
  /** A pharmacy's certificate (PEM) and private key (PKCS#8 PEM). */
  pharmacy(name: TestPharmacy): { readonly cert: string; readonly key: string; readonly pharmacyId: string } {
    return {
      cert: fixturePath('keys', `${name}.cert.pem`),
      key: fixturePath('keys', `${name}.key.pem`),
      pharmacyId: name === 'pharmacy-1' ? 'DZ16-PH-00001' : 'DZ31-PH-00002',
    };
  },
};

/**
 * A software signer holding a test pharmacy's key: signs invoices the reference fund accepts,
 * without a professional card (for journal and upload tests).
 */
export function testSigner(name: TestPharmacy = 'pharmacy-1'): SoftwareSigner {
  const k = testKeys.pharmacy(name);
  return SoftwareSigner.fromFiles(k.key, k.cert);
}

/**
 * A verifier of the fund's signed answers that trusts the TEST ONLY fund CA, as a terminal
 * talking to the reference fund must (`UploaderOptions.verifier`, `fundEndpoint(url, { verifier })`).
 */
export function testFundVerifier(): FundVerifier {
  return FundVerifier.fromFiles([testKeys.fundCa]);
}

/** The card serials on the shipped test blacklist (`fixtures/blacklist.json`), which the fund serves by default. */
export function blacklistedSerials(): string[] {
  const doc = JSON.parse(fs.readFileSync(fixturePath('blacklist.json'), 'utf8')) as { cards: { cardSerial: string }[] };
  return doc.cards.map((c) => c.cardSerial);
}
