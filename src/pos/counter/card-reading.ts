import type { RuleBook } from '../../billing/rules/load';
import type { IsoDate } from '../../common/calendar-date';
import type { PrescriptionRecord } from './card-data';
import { CardGoneError } from './errors';
import type { CounterEvents } from './events';
import { CardHistory, horizonRule, sinceRule, type HorizonOptions } from './history';
import { historyWindow } from './pricing';
import type { CounterQuoteRequest } from './request';
import type { CardSessions, Session } from './session';
import type { InsuredCardPort } from './station';

/**
 * Reading the insured card after the PIN, in the order the screen needs it (docs/counter.md,
 * "Reading the card"): rights, beneficiaries and emergency data; the dispensations back to the
 * horizon the duplicate check and the rules' limits need; the prescriptions; the rest of the
 * history on demand. Each step is read once per session and published as a `card` event. The
 * caller holds the counter's lock.
 */
export class CardReading {
  constructor(
    private readonly deps: {
      sessions: CardSessions;
      events: CounterEvents;
      horizon: HorizonOptions;
      /** The rules in force now (the fund may send new ones down). */
      rules: () => RuleBook;
      today: () => IsoDate;
    },
  ) {}

  /** Rights, beneficiaries, emergency data: what the page shows first. */
  async firstScreen(card: InsuredCardPort, s: Session): Promise<void> {
    const rights = await card.readRights();
    const beneficiaries = await card.readBeneficiaries();
    const emergency = await card.readEmergency();
    const history = new CardHistory(
      (from) => card.dispensations(from),
      card.historyCapacity,
      (p) => this.deps.events.publish('read-progress', { insertion: s.insertion, file: 'dispensations', ...p }),
    );
    s.read = { rights, beneficiaries, emergency, prescriptions: null, history, priced: false };
    this.deps.sessions.publish(s, 'rights');
  }

  /**
   * The dispensations back to the horizon (history.ts): from then on quotes and warnings can be
   * answered — the rules' per-period limits' window included.
   */
  async toHorizon(card: InsuredCardPort, s: Session): Promise<void> {
    const data = s.read!;
    if (data.priced) return;
    if (card.insertion !== s.insertion) throw new CardGoneError();
    const today = this.deps.today();
    const rule = this.deps.rules().find(today);
    await data.history.readUntil(horizonRule(today, this.deps.horizon, rule ? historyWindow(rule) : 0));
    data.priced = true;
    this.deps.sessions.publish(s, 'pricing');
  }

  async prescriptions(card: InsuredCardPort, s: Session): Promise<void> {
    const data = s.read!;
    if (data.prescriptions !== null) return;
    data.prescriptions = await card.readPrescriptions();
    this.deps.sessions.publish(s, 'prescriptions');
  }

  /** Whether what is read answers `request`: the horizon, and for a card's prescription what was dispensed against it. */
  enoughFor(s: Session, request: CounterQuoteRequest): boolean {
    const d = s.read!;
    if (!d.priced) return false;
    if (request.prescription === undefined) return true;
    if (d.prescriptions === null) return false;
    const p = prescriptionFor(s, request);
    return p === undefined || d.history.reaches(sinceRule(p.date, this.deps.horizon));
  }

  /** Reads what `request` needs and is not read yet; a pulled card's session ends. */
  async readFor(card: InsuredCardPort, s: Session, request: CounterQuoteRequest): Promise<void> {
    try {
      await this.toHorizon(card, s);
      if (request.prescription === undefined) return;
      await this.prescriptions(card, s);
      const p = prescriptionFor(s, request);
      // The records dispensed against it are dated from its date on.
      if (p) await s.read!.history.readUntil(sinceRule(p.date, this.deps.horizon));
    } catch (err) {
      this.deps.sessions.failed(s, err);
      throw err;
    }
  }

  /** The rest of the dispensation history (the page's history tab); a pulled card's session ends. */
  async wholeHistory(card: InsuredCardPort, s: Session): Promise<void> {
    if (card.insertion !== s.insertion) throw new CardGoneError();
    try {
      await s.read!.history.readAll();
    } catch (err) {
      this.deps.sessions.failed(s, err);
      throw err;
    }
    this.deps.sessions.publish(s, 'history');
  }
}

/** The prescription on the card a basket is dispensed against, if the card holds it (the prescriptions read). */
function prescriptionFor(s: Session, request: CounterQuoteRequest): PrescriptionRecord | undefined {
  const ref = request.prescription;
  return ref === undefined ? undefined : s.read!.prescriptions?.find((p) => p.reference === ref);
}
