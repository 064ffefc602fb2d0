import type { Logger } from 'pino';
import type { Signer } from '../../sync/signer';
import type { PharmacyIdentity } from './card-data';
import { PinBlockedError, PinRequiredError } from './errors';
import type { CounterStatus } from './results';
import type { CardStation, ProfessionalCardPort } from './station';

/**
 * The pharmacist's professional card at the counter: its PIN, the pharmacy it names (read once
 * per insertion) and its signer, lent to whatever signs — invoices, credit notes, batch
 * manifests, the fund's requests. The caller holds the counter's lock for anything that touches
 * the card.
 */
export class ProfessionalCard {
  /** The identity read from the card, with the insertion it belongs to. */
  private pharmacy: { insertion: number; identity: PharmacyIdentity } | null = null;

  constructor(
    private readonly station: CardStation,
    private readonly log: Logger,
  ) {}

  async verifyPin(pin: string): Promise<{ result: 'ok'; pharmacy: PharmacyIdentity } | { result: 'wrong-pin'; retriesLeft: number }> {
    const pro = this.station.professional();
    const r = await pro.verifyPin(pin);
    if (r.kind === 'wrongPin') {
      if (r.retriesLeft === 0) throw new PinBlockedError('professional');
      return { result: 'wrong-pin', retriesLeft: r.retriesLeft };
    }
    if (r.kind === 'blocked') throw new PinBlockedError('professional');
    const identity = await this.identityOf(pro);
    this.log.info({ pharmacy: identity.pharmacyId }, 'professional card unlocked');
    return { result: 'ok', pharmacy: identity };
  }

  async identityOf(pro: ProfessionalCardPort): Promise<PharmacyIdentity> {
    if (this.pharmacy && this.pharmacy.insertion === pro.insertion) return this.pharmacy.identity;
    const identity = await pro.identity();
    this.pharmacy = { insertion: pro.insertion, identity };
    return identity;
  }

  /** The last identity read (whatever card is in the reader now), for receipts. */
  identity(): PharmacyIdentity | null {
    return this.pharmacy?.identity ?? null;
  }

  /** The professional card, unlocked, and its signer: what checkout, recovery and cancel need. */
  async ready(): Promise<{ pro: ProfessionalCardPort; signer: Signer; identity: PharmacyIdentity }> {
    const pro = this.station.professional();
    if (!pro.unlocked) throw new PinRequiredError('professional');
    const identity = await this.identityOf(pro);
    return { pro, signer: await pro.signer(), identity };
  }

  /** The professional card if it is in its reader and unlocked, else null. */
  unlocked(): ProfessionalCardPort | null {
    try {
      const pro = this.station.professional();
      return pro.unlocked ? pro : null;
    } catch {
      return null;
    }
  }

  /** The status' view of it; `insertion` is the station's (null: no card in the reader). */
  status(insertion: number | null): CounterStatus['professional'] {
    if (insertion === null) return { present: false, unlocked: false, pharmacy: null };
    try {
      const p = this.station.professional();
      return {
        present: true,
        unlocked: p.unlocked,
        pharmacy: this.pharmacy && this.pharmacy.insertion === p.insertion ? this.pharmacy.identity : null,
      };
    } catch {
      return { present: false, unlocked: false, pharmacy: null };
    }
  }
}
