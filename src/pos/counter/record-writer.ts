import type { Logger } from 'pino';
import { maskId } from '../../common/log';
import type { CardWrite, CardWriteStore } from './card-writes';
import { describeError } from './errors';
import type { CounterEvents } from './events';
import { sinceRule, type HorizonOptions } from './history';
import { missingRecords } from './records';
import { writeOutcome, type WriteOutcome } from './results';
import { authenticateOnce, type CardSessions, type Session } from './session';
import type { InsuredCardPort, ProfessionalCardPort } from './station';

/**
 * Steps (c) and (d) of the checkout (service.ts): an invoice's dispensing records appended to the
 * insured card, the professional card authenticated to it, then the card write marked done — and
 * the same for the pending writes of a card whose PIN was just verified (recovery). Every attempt
 * is published as `write-progress`; a failure leaves the write pending with its reason.
 */
export class RecordWriter {
  constructor(
    private readonly deps: {
      writes: CardWriteStore;
      sessions: CardSessions;
      events: CounterEvents;
      log: Logger;
      horizon: HorizonOptions;
    },
  ) {}

  /**
   * Puts the missing records of `write` on the card. With `readFirst`, reads the card's
   * dispensations back to the invoice's date and appends only what is missing (recovery); the
   * caller holds the counter's lock. Never throws for a card failure: the write stays pending and
   * the outcome says why.
   */
  async write(card: InsuredCardPort, pro: ProfessionalCardPort, s: Session, write: CardWrite, readFirst: boolean): Promise<WriteOutcome> {
    const { writes, events, log } = this.deps;
    let written = 0;
    let todo = write.records;
    const progress = (state: 'writing' | 'done' | 'pending') =>
      events.publish('write-progress', { invoiceNumber: write.invoiceNumber, written, records: write.records.length, state });
    try {
      const history = s.read!.history;
      if (readFirst && write.records.length > 0) {
        await history.readUntil(sinceRule(write.records[0]!.date, this.deps.horizon));
        todo = missingRecords(write.records, history.records);
      }
      const already = write.records.length - todo.length;
      written = already;
      progress('writing');
      if (todo.length > 0) {
        const onWritten = () => {
          written++;
          progress('writing');
        };
        await authenticateOnce(card, pro, s);
        try {
          await card.appendDispensations(todo, onWritten);
        } catch (err) {
          // The card no longer holds the authentication (another application on a shared card,
          // a reset the station did not see) and refused the first record: authenticate again.
          if (written !== already || describeError(err).code !== 'professional-auth-required') throw err;
          s.authenticated = null;
          await authenticateOnce(card, pro, s);
          await card.appendDispensations(todo, onWritten);
        }
      }
      writes.markDone(write.invoiceNumber);
      history.appended(todo);
      progress('done');
      log.info(
        { invoice: write.invoiceNumber, card: maskId(write.cardSerial), appended: todo.length, alreadyOnCard: already },
        'card write done',
      );
      return {
        invoiceNumber: write.invoiceNumber,
        state: 'done',
        records: write.records.length,
        written: write.records.length,
        error: null,
      };
    } catch (err) {
      const e = describeError(err);
      writes.attemptFailed(write.invoiceNumber, written, `${e.code}: ${e.message}`);
      progress('pending');
      log.warn(
        { invoice: write.invoiceNumber, card: maskId(write.cardSerial), written, of: write.records.length, error: e.code },
        'card write incomplete; it stays pending',
      );
      // What the counter read no longer tells what is on the card, nor whether the card still
      // holds the authentication: both are done again when next needed. A pulled card's session
      // is over (its PIN state went with it).
      if (s.read) {
        s.read.history.forget();
        s.read.priced = false;
      }
      s.authenticated = null;
      this.deps.sessions.failed(s, err);
      return { invoiceNumber: write.invoiceNumber, state: 'pending', records: write.records.length, written, error: e };
    }
  }

  /**
   * After a PIN verification: completes this card's pending writes, oldest first, with the
   * professional card `ready` lends (a card that is not ready leaves them all pending, saying why).
   */
  async recover(card: InsuredCardPort, s: Session, ready: () => Promise<{ pro: ProfessionalCardPort }>): Promise<WriteOutcome[]> {
    const pending = this.deps.writes.pending(s.holder.cardSerial);
    if (pending.length === 0) return [];
    let pro: ProfessionalCardPort;
    try {
      pro = (await ready()).pro;
    } catch (err) {
      const e = describeError(err);
      return pending.map((w) => writeOutcome(w, e));
    }
    const out: WriteOutcome[] = [];
    for (const w of pending) {
      const o = await this.write(card, pro, s, w, true);
      out.push(o);
      if (o.state !== 'done') {
        // The card is gone or refusing: leave the others for the next time.
        for (const rest of pending.slice(out.length)) out.push(writeOutcome(rest, o.error));
        break;
      }
    }
    return out;
  }
}
