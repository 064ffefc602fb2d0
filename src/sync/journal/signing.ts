import type Database from 'better-sqlite3';
import { X509Certificate } from 'node:crypto';
import { testKeyFile } from '../../common/paths';
import { CertificateError, JournalError } from '../errors';
import { pharmacyIdOf, type Signer } from '../signer';
import { TrustStore } from '../trust';
import type { JournalQueries } from './queries';

/**
 * Who signs for the journal: the signer it was opened with (the professional card), the pharmacy
 * its certificate speaks for — which must be the journal's — and the certificate kept in the
 * journal so that every signature can be checked from the file alone.
 *
 * Before anything is signed, the certificate gets the fund's own check (TrustStore: issued by a
 * trusted fund CA, P-256, valid on the date the fund will judge it by): a signature the fund
 * would refuse is never made, since a signed invoice can never be withdrawn.
 *
 * @internal (the Journal class is the API)
 */
export class JournalSigning {
  private readonly ids = new WeakMap<Signer, string>();
  private readonly insertCert: Database.Statement;
  private trust: TrustStore | undefined;

  constructor(
    private readonly queries: JournalQueries,
    readonly signer: Signer | undefined,
    trust: TrustStore | undefined,
  ) {
    this.trust = trust;
    this.insertCert = queries.db.prepare('INSERT OR IGNORE INTO certificates (key_id, der, pharmacy_id, added_at) VALUES (?, ?, ?, ?)');
  }

  /** The signer, or a `no-signer` error saying that `what` (e.g. "appending") needs one. */
  require(what: string): Signer {
    if (!this.signer) throw new JournalError('no-signer', `${what} needs a signer (the professional card)`);
    return this.signer;
  }

  /** The pharmacy `signer` speaks for; refused unless it is this journal's (or the journal is empty). */
  pharmacyOf(signer: Signer): string {
    let id = this.ids.get(signer);
    if (id === undefined) {
      id = pharmacyIdOf(new X509Certificate(signer.certificate));
      this.ids.set(signer, id);
    }
    const mine = this.queries.pharmacyId();
    if (mine !== null && mine !== id) {
      throw new CertificateError('cert-wrong-pharmacy', `this journal belongs to pharmacy ${mine}; the signer's certificate is for ${id}`);
    }
    return id;
  }

  /**
   * Checks `signer` as the fund will: trusted at every date in `at` (cert-untrusted, cert-expired)
   * and issued to this journal's pharmacy (cert-wrong-pharmacy). Returns that pharmacy.
   */
  check(signer: Signer, ...at: Date[]): string {
    // The default CA file is read only when something is to be signed.
    this.trust ??= TrustStore.fromFiles([testKeyFile('fund-ca.pem')]);
    for (const d of at) this.trust.check(signer.certificate, d);
    return this.pharmacyOf(signer);
  }

  /** Inside a write transaction: keeps the signer's certificate (once) with the rows it signed. */
  keepCertificate(signer: Signer, pharmacyId: string, at: string): void {
    this.insertCert.run(signer.keyId, signer.certificate, pharmacyId, at);
  }
}
