import type { Logger } from 'pino';
import { today as localToday, type IsoDate } from '../../common/calendar-date';
import { maskId } from '../../common/log';
import type { SignedRights } from '../../sync/rights';
import type { Signer } from '../../sync/signer';
import type { CardRead } from './card-data';
import { describeError } from './errors';
import { cardUsableUntil } from './pricing';
import type { CardSessions, Session } from './session';
import type { InsuredCardPort } from './station';

/**
 * Where the counter gets a card's current rights online (the fund: rights-source.ts). The request
 * is authenticated with the professional card's `signer`, which the counter lends under its lock.
 * Throws a typed error (fund unreachable, unknown card, a signature that is not the fund's); never
 * returns rights it did not verify.
 */
export interface RightsSource {
  fetch(cardSerial: string, signer: Signer): Promise<SignedRights>;
}

/**
 * The online rights update of the card in the reader (docs/counter.md, "Expired cards"): asked of
 * the fund when the card or its rights have expired.
 * - `updated`: the fund's newer rights were verified, written to the card and read back: the
 *   counter prices with them;
 * - `current`: the fund has nothing newer than the card: the card's rights stand;
 * - `failed`: no fund answer the counter could use, or the card refused it;
 * - `unavailable`: no fund is configured.
 * In the last two the counter prices with the card as it is (third-party payment refused for the
 * expiry) and `message` says why it could not do better.
 */
export interface RightsUpdate {
  status: 'updated' | 'current' | 'failed' | 'unavailable';
  /** A stable code for `failed` / `unavailable` (`no-fund`, `fund-unreachable`, `unknown-card`, `bad-fund-signature`, `card-refused-rights`, …). */
  code: string | null;
  message: string;
  /** The fund's version of the rights now on the card, when known. */
  sequence: number | null;
  at: string;
}

/** True when the card, the insured's rights or a beneficiary's own rights have expired on `today`. */
export function rightsExpired(read: CardRead, today: IsoDate): boolean {
  const r = read.rights;
  return today > cardUsableUntil(read) || today > r.rightsEnd || r.beneficiaryRights.some((b) => today > b.rightsEnd);
}

/** Why a fund's refusal leaves the card as it is, for people. */
const FUND_REFUSALS: Record<string, string> = {
  'fund-unreachable': 'the fund cannot be reached',
  'unknown-card': 'the fund has no rights for this card',
  'bad-fund-signature': "the answer is not signed by the fund's key",
  'fund-cert-untrusted': "the answer is not signed by the fund's key",
};

/**
 * The online rights update (docs/counter.md, "Expired cards"), when the card or its rights have
 * expired: the fund's signed rights, verified here, written to the card (which verifies them
 * again and refuses anything not newer), then read back — the counter prices with what the card
 * holds, never with rights the card did not take.
 */
export class OnlineRights {
  constructor(private readonly deps: { source: RightsSource | undefined; sessions: CardSessions; log: Logger; now: () => Date }) {}

  /**
   * Updates the rights of session `s`'s card if `read` (what the PIN opened) shows them expired;
   * null when they have not. `signer` lends the professional card's signer (the caller holds the
   * counter's lock); a card that is not ready is a `failed` update, not an error.
   */
  async update(card: InsuredCardPort, s: Session, read: CardRead, signer: () => Promise<Signer>): Promise<RightsUpdate | null> {
    const now = this.deps.now();
    if (!rightsExpired(read, localToday(now))) return null;
    const at = now.toISOString();
    const serial = maskId(read.holder.cardSerial);
    const failed = (status: 'failed' | 'unavailable', code: string, message: string): RightsUpdate => {
      this.deps.log.warn({ card: serial, code }, 'the card has expired rights and they could not be updated online');
      return { status, code, message, sequence: read.rights.sequence, at };
    };
    const source = this.deps.source;
    if (!source) {
      return failed(
        'unavailable',
        'no-fund',
        'no fund is configured: the counter cannot ask for the current rights of an expired card, so it cannot serve it with third-party payment (the patient pays and claims later)',
      );
    }
    let lent: Signer;
    try {
      lent = await signer();
    } catch (err) {
      const e = describeError(err);
      return failed('failed', e.code, `the fund is asked with the pharmacist's card, which is not ready: ${e.message}`);
    }
    let got: SignedRights;
    try {
      got = await source.fetch(read.holder.cardSerial, lent);
    } catch (err) {
      const e = describeError(err);
      return failed('failed', e.code, `${FUND_REFUSALS[e.code] ?? 'the fund did not give the current rights'}: ${e.message}`);
    }
    if (got.document.sequence <= read.rights.sequence) {
      return { status: 'current', code: null, message: 'the fund has no newer rights for this card', sequence: read.rights.sequence, at };
    }
    // Presenting the fund's certificate ends the professional card's authentication on the card.
    s.authenticated = null;
    const r = await card.updateRights(got.certificate, got.jws);
    if (r.kind !== 'ok') {
      const why =
        r.kind === 'certificateRejected' ? "the card refused the fund's certificate" : `the card refused the document (${r.reason})`;
      return failed('failed', 'card-refused-rights', `${why}: its rights are unchanged`);
    }
    s.read!.rights = await card.readRights();
    this.deps.sessions.publish(s, 'rights');
    this.deps.log.info(
      { card: serial, sequence: got.document.sequence, rightsEnd: got.document.rights.rightsEnd },
      'rights updated online',
    );
    return {
      status: 'updated',
      code: null,
      message: `rights updated online by the fund (version ${got.document.sequence}, valid until ${got.document.rights.rightsEnd})`,
      sequence: got.document.sequence,
      at,
    };
  }
}
