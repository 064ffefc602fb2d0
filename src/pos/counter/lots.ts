import type { IsoDate } from '../../common/calendar-date';
import { InvalidInputError } from '../../common/errors';
import { CounterError } from './errors';
import type { CounterLine } from './request';

/**
 * The packs a basket names by lot, expiry and serial (scanned from their GS1 DataMatrix): a pack
 * past its expiry date is never dispensed, and a serial number names one pack, so its line is
 * one unit and the pack is on one line only. Checked for the quote and again at checkout, on the
 * server's calendar day (the page checks the scan first, the server decides).
 */

/** A line names a pack whose expiry date (GS1 AI 17, the last day of use) is before today: HTTP 400. */
export class ExpiredLotError extends CounterError {
  readonly expiry: IsoDate;
  constructor(field: string, expiry: IsoDate, today: IsoDate) {
    super('expired-lot', `${field}: the pack expired on ${expiry} (today is ${today}) and may not be dispensed`, field);
    this.expiry = expiry;
  }
}

export function checkLots(lines: readonly CounterLine[], today: IsoDate): void {
  const serials = new Map<string, number>();
  lines.forEach((l, i) => {
    if (l.expiry !== undefined && l.expiry < today) throw new ExpiredLotError(`lines[${i}].expiry`, l.expiry, today);
    if (l.serial === undefined) return;
    if (l.quantity !== 1)
      throw new InvalidInputError([{ field: `lines[${i}].quantity`, message: 'a line with a serial number is one pack' }], 'basket');
    const key = `${l.code}\u0000${l.serial}`;
    const first = serials.get(key);
    if (first !== undefined)
      throw new InvalidInputError(
        [{ field: `lines[${i}].serial`, message: `the same pack (serial number) is already on line ${first + 1}` }],
        'basket',
      );
    serials.set(key, i);
  });
}
