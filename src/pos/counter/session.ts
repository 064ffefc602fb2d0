import type { Logger } from 'pino';
import type { PinResult } from '../../card/chifa';
import { InvalidInputError } from '../../common/errors';
import { maskId } from '../../common/log';
import type { Beneficiary, CardHolder, CardRights, EmergencyData, PrescriptionRecord } from './card-data';
import type { CardWriteStore } from './card-writes';
import { describeError, PinRequiredError } from './errors';
import type { CounterEvents, ReadStage } from './events';
import type { CardHistory } from './history';
import type { RightsUpdate } from './rights-update';
import type { CardStation, InsuredCardPort, ProfessionalCardPort } from './station';

/**
 * The insured card's session at the counter: from the card's opening (holder, no PIN) to its
 * removal. It holds what the PIN opened and what the card itself holds for this insertion — the
 * PIN verified, the professional card's authentication — so the counter neither asks again what
 * the card still grants nor trusts what a pulled or reset card lost.
 */

/** What the PIN opened, as far as it has been read. */
export interface SessionData {
  beneficiaries: Beneficiary[];
  rights: CardRights;
  emergency: EmergencyData;
  /** Null until read (after the duplicate check's dispensations). */
  prescriptions: PrescriptionRecord[] | null;
  history: CardHistory;
  /** The dispensations the duplicate check needs are read: quotes can be answered. */
  priced: boolean;
}

export interface Session {
  insertion: number;
  holder: CardHolder;
  pinRetriesLeft: number | null;
  /**
   * What the PIN opened (kept up to date after writes), while the card holds the PIN verified:
   * null from any VERIFY until it succeeds and the first files are read, and the session itself
   * ends with the insertion.
   */
  read: SessionData | null;
  /**
   * The professional card (its insertion) this insured card has authenticated in this session:
   * the card keeps that until it is reset or leaves the reader, so checkouts need not repeat it.
   */
  authenticated: number | null;
  /** The last online rights update of this card (null: not needed, or not tried yet). */
  rights: RightsUpdate | null;
}

/** The one session of the card in the reader; each change is published as a `card` event. */
export class CardSessions {
  private session: Session | null = null;

  constructor(private readonly deps: { station: CardStation; events: CounterEvents; writes: CardWriteStore; log: Logger }) {}

  publish(s: Session, stage: 'opened' | ReadStage | 'closed'): void {
    this.deps.events.publish('card', { insertion: s.insertion, stage });
  }

  /** The session if it still belongs to the card `insertion` in the reader; drops it otherwise. */
  current(insertion: number | null): Session | null {
    if (this.session && this.session.insertion !== insertion) this.close(this.session, 'insured card removed; session closed');
    return this.session;
  }

  /** Whether `s` is still the session (a queued step of an ended one has nothing to do). */
  isCurrent(s: Session): boolean {
    return this.session === s;
  }

  close(s: Session, why: string): void {
    if (this.session !== s) return;
    this.deps.log.info({ card: maskId(s.holder.cardSerial) }, why);
    this.session = null;
    this.publish(s, 'closed');
  }

  /** A card call of session `s` failed: a pulled card's session is over (its PIN state went with it). */
  failed(s: Session, err: unknown): void {
    const code = describeError(err).code;
    if (code === 'card-removed' || code === 'no-card') this.close(s, 'insured card gone; session closed');
  }

  /** The session of the card now in the reader, opening it (holder, no PIN) on first use. */
  async open(card: InsuredCardPort): Promise<Session> {
    const current = this.current(card.insertion);
    if (current) return current;
    const opened = await card.open();
    const s: Session = {
      insertion: card.insertion,
      holder: opened.holder,
      pinRetriesLeft: opened.pinRetriesLeft,
      read: null,
      rights: null,
      authenticated: null,
    };
    this.session = s;
    this.deps.log.info(
      { card: maskId(s.holder.cardSerial), pending: this.deps.writes.pending(s.holder.cardSerial).length },
      'insured card opened',
    );
    this.publish(s, 'opened');
    return s;
  }

  requireOpen(): Session {
    const st = this.deps.station.status();
    const s = this.current(st.insured);
    if (st.insured === null) {
      this.deps.station.insured(); // throws the right CardMissingError / service error
    }
    if (!s) throw new PinRequiredError();
    return s;
  }

  requireVerified(): Session {
    const s = this.requireOpen();
    if (s.read === null) throw new PinRequiredError();
    return s;
  }
}

/**
 * Sends one VERIFY. From that moment the session is no longer verified, whatever it was: a
 * failed comparison ends the card's verified state for the PIN (ISO 7816-4 §11.5.6 lets the
 * comparison modify the security status; the emulator, like Java Card PIN objects, clears it),
 * a blocked PIN verifies nothing, and a VERIFY cut short leaves the card's state unknown. Only
 * the caller's success (and the read that follows) makes it verified again. A PIN of the wrong
 * shape for the card is refused before it is sent (InvalidInputError): nothing changes.
 */
export async function presentPin(card: InsuredCardPort, s: Session, pin: string): Promise<PinResult> {
  const was = s.read;
  s.read = null;
  try {
    return await card.verifyPin(pin);
  } catch (err) {
    if (err instanceof InvalidInputError) s.read = was;
    throw err;
  }
}

/**
 * Before anything is signed, asks the card whether it still holds the PIN verified (an empty
 * VERIFY: no try spent). The station sees pulls, power losses and resets, but not another
 * application sharing the card (PC/SC shared mode) presenting a PIN in between; signing then
 * would leave an invoice whose card write the card refuses.
 */
export async function confirmPin(card: InsuredCardPort, s: Session, log: Logger): Promise<void> {
  const st = await card.pinStatus();
  if (st === null || st.kind === 'verified') return;
  s.read = null;
  s.pinRetriesLeft = st.kind === 'blocked' ? 0 : st.retriesLeft;
  log.warn({ card: maskId(s.holder.cardSerial) }, 'the card no longer holds the PIN verified; the PIN is needed again');
  throw new PinRequiredError();
}

/**
 * The professional card authenticated to the insured card, once per card session (and again
 * if another professional card is used): PSO: VERIFY CERTIFICATE, GET CHALLENGE, INTERNAL
 * AUTHENTICATE on the professional card, EXTERNAL AUTHENTICATE — three ECDSA operations.
 */
export async function authenticateOnce(card: InsuredCardPort, pro: ProfessionalCardPort, s: Session): Promise<void> {
  if (s.authenticated === pro.insertion) return;
  s.authenticated = null;
  await card.authenticate(pro);
  s.authenticated = pro.insertion;
}
