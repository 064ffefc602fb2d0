import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { addDays, type IsoDate } from '../common/calendar-date';
import { defaultRightsJson } from '../common/paths';
import { SyncError } from '../sync/errors';
import { cardRightsSchema, type CardRightsData, type RightsDocument } from '../sync/rights';

/**
 * The reference fund's rights registry: the current rights of each card it knows, from which it
 * signs rights documents on request (docs/sync.md, "Rights"). Read from `DATA/rights.json` (default:
 * the shipped TEST ONLY fixtures/rights.json), re-read when the file changes, so an integrator can
 * renew or change a card's rights while the fund runs — raising its `sequence`, or cards that
 * already took the old document refuse the new one. A file that does not validate is not used
 * (the previous good version stays) and the error is thrown to the caller to log.
 */

const registrySchema = z.strictObject({
  $comment: z.string().optional(),
  cards: z
    .array(
      z.strictObject({
        cardSerial: z.string().min(1).max(16),
        sequence: z.number().int().min(1).max(0xffffffff),
        rights: cardRightsSchema,
      }),
    )
    .max(1_000_000),
});

interface Entry {
  sequence: number;
  rights: CardRightsData;
}

/** How many days a signed rights document stays writable to a card (default). */
export const RIGHTS_VALIDITY_DAYS = 7;

export class RightsRegistry {
  private readonly file: string;
  private cards = new Map<string, Entry>();
  private stamp = '';

  constructor(
    dataDir: string,
    private readonly validityDays = RIGHTS_VALIDITY_DAYS,
  ) {
    const own = path.join(dataDir, 'rights.json');
    this.file = fs.existsSync(own) ? own : defaultRightsJson();
  }

  /** The rights document of `cardSerial` as of `today`, or undefined when the fund has no rights for it. */
  document(cardSerial: string, today: IsoDate): RightsDocument | undefined {
    this.reload();
    const e = this.cards.get(cardSerial);
    if (!e) return undefined;
    const until = addDays(today, this.validityDays);
    return { v: 1, cardSerial, sequence: e.sequence, issuedOn: today, validUntil: until, rights: e.rights };
  }

  private reload(): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      this.cards = new Map();
      return;
    }
    const stamp = `${st.mtimeMs}:${st.size}`;
    if (stamp === this.stamp) return;
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new SyncError('bad-rights-file', `${this.file}: not JSON: ${(err as Error).message}`);
    }
    const r = registrySchema.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new SyncError('bad-rights-file', `${this.file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    this.cards = new Map(r.data.cards.map((c) => [c.cardSerial, { sequence: c.sequence, rights: c.rights }]));
    this.stamp = stamp;
  }
}
