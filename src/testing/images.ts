import * as fs from 'node:fs';
import * as path from 'node:path';
import { CardImageError, parseCardImage, type CardImage, type InsuredImage, type ProfessionalImage } from '../emulator/image-schema';
import type { CardOptions } from '../emulator/context';
import { blacklistedSerials, cardFixture, isFixtureCard } from './fixtures';

/**
 * Card images built in code, from a shipped fixture, without editing JSON:
 *
 *   startCard(insuredImage().holder({ lastName: 'TEST' }).blockedPin())
 *
 * Every builder method returns the builder; `build()` validates the result with the emulator's
 * own schema (a bad field is a CardImageError naming it) and returns a fresh copy, so a builder
 * can be reused as a template. Key and certificate paths are made absolute.
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The insured card's holder fields (`holder` of an insured image). */
export type HolderFields = InsuredImage['holder'];
/** The insured card's rights fields (`rights` of an insured image). */
export type RightsFields = InsuredImage['rights'];
/** One beneficiary of an insured image. */
export type BeneficiaryFields = InsuredImage['beneficiaries'][number];
/** The professional card's pharmacy fields (`pharmacy` of a professional image). */
export type PharmacyFields = ProfessionalImage['pharmacy'];

function loadImage(base: string): { image: CardImage; file: string } {
  const file = isFixtureCard(base) ? cardFixture(base) : path.resolve(base);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CardImageError(file, '', `cannot read the card image: ${(err as Error).message}`);
  }
  return { image: parseCardImage(json, file), file };
}

const absolute = (p: string, dir: string): string => (path.isAbsolute(p) ? p : path.resolve(dir, p));

const clone = <T>(x: T): T => structuredClone(x);

/** Adds `years` to an ISO date (29 February becomes 28 February when needed). */
function shiftYears(iso: string, years: number): string {
  const y = Number(iso.slice(0, 4)) + years;
  const md = iso.slice(5) === '02-29' && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? '02-28' : iso.slice(5);
  return `${String(y).padStart(4, '0')}-${md}`;
}

/** Builds an insured (patient) card image. Start with {@link insuredImage}. */
export class InsuredImageBuilder {
  private readonly image: Mutable<InsuredImage>;

  /** Starts from an already validated image (key paths absolute). Prefer {@link insuredImage}. */
  constructor(image: InsuredImage) {
    this.image = clone(image) as Mutable<InsuredImage>;
  }

  /** Changes holder fields (names, SSN, serial, dates, card type). */
  holder(fields: Partial<HolderFields>): this {
    Object.assign(this.image.holder, fields);
    return this;
  }

  /** Replaces the beneficiaries (rank 1 is the insured person and must be there). */
  beneficiaries(list: readonly BeneficiaryFields[]): this {
    this.image.beneficiaries = clone([...list]) as Mutable<BeneficiaryFields>[];
    return this;
  }

  /** Changes the rights: fund, category, rate (basis points), end date, chronic entries, per-rank rights. */
  rights(fields: Partial<RightsFields>): this {
    Object.assign(this.image.rights, clone(fields));
    return this;
  }

  /** The emergency data: allergies (INN), blood group, chronic conditions. */
  emergency(fields: Partial<InsuredImage['emergency']>): this {
    Object.assign(this.image.emergency, clone(fields));
    return this;
  }

  /** The PIN (4 digits), and optionally its tries left (0 blocks it). */
  pin(pin: string, triesLeft?: number): this {
    this.image.pin = pin;
    if (triesLeft !== undefined) this.image.pinRetriesLeft = triesLeft;
    return this;
  }

  /** The PUK (8 digits), and optionally its tries left. */
  puk(puk: string, triesLeft?: number): this {
    this.image.puk = puk;
    if (triesLeft !== undefined) this.image.pukRetriesLeft = triesLeft;
    return this;
  }

  /** A card whose PIN is blocked (no tries left); the PUK still unblocks it. */
  blockedPin(): this {
    this.image.pinRetriesLeft = 0;
    return this;
  }

  /**
   * A card and rights that ended on `on` (default 2024-02-29, as the shipped `expired` card); the
   * card was issued ten years before.
   */
  expired(on = '2024-02-29'): this {
    this.image.holder.expiryDate = on;
    this.image.holder.issueDate = shiftYears(on, -10);
    this.image.rights.rightsEnd = on;
    return this;
  }

  /**
   * A card on the shipped test blacklist (the one the reference fund serves by default): the card
   * itself works, a counter must refuse it. `serial` must be on that list (default: its first entry).
   */
  blacklisted(serial?: string): this {
    const listed = blacklistedSerials();
    const s = serial ?? listed[0];
    if (s === undefined || !listed.includes(s)) {
      throw new CardImageError('insuredImage().blacklisted()', 'holder.cardSerial', `${String(s)} is not on fixtures/blacklist.json`);
    }
    this.image.holder.cardSerial = s;
    return this;
  }

  /**
   * Both rings full and wrapped: more prescriptions and dispensations than the card holds
   * (40 and 400) are appended through the ring logic, so the ring heads are mid-file. The
   * history is generated from `seed`, newest on `until`.
   */
  fullRings(options: { seed?: number; until?: string } = {}): this {
    this.image.prescriptions = [];
    this.image.dispensations = [];
    this.image.generate = { prescriptions: 53, dispensations: 437, seed: options.seed ?? 7, until: options.until ?? '2025-06-30' };
    return this;
  }

  /** Replaces the card's history (newest first, at most 40 prescriptions and 400 dispensations). */
  history(history: { prescriptions?: InsuredImage['prescriptions']; dispensations?: InsuredImage['dispensations'] }): this {
    if (history.prescriptions) this.image.prescriptions = clone(history.prescriptions) as Mutable<InsuredImage['prescriptions']>;
    if (history.dispensations) this.image.dispensations = clone(history.dispensations) as Mutable<InsuredImage['dispensations']>;
    delete this.image.generate;
    return this;
  }

  /** Protocol and length options: `{ protocol: 'T=0' }`, `{ extendedLength: false }`, … */
  options(options: Partial<CardOptions>): this {
    this.image.options = { ...this.image.options, ...options };
    return this;
  }

  /** The validated image: a fresh copy each call. */
  build(): InsuredImage {
    return parseCardImage(clone(this.image), 'insuredImage()') as InsuredImage;
  }
}

/** Builds a professional (pharmacist) card image. Start with {@link professionalImage}. */
export class ProfessionalImageBuilder {
  private readonly image: Mutable<ProfessionalImage>;

  /** Starts from an already validated image (key paths absolute). Prefer {@link professionalImage}. */
  constructor(image: ProfessionalImage) {
    this.image = clone(image) as Mutable<ProfessionalImage>;
  }

  /** Changes the pharmacy's identity (its id must stay the certificate's CN for the fund to accept it). */
  pharmacy(fields: Partial<PharmacyFields>): this {
    Object.assign(this.image.pharmacy, fields);
    return this;
  }

  /** The PIN (4 digits), and optionally its tries left (0 blocks it). */
  pin(pin: string, triesLeft?: number): this {
    this.image.pin = pin;
    if (triesLeft !== undefined) this.image.pinRetriesLeft = triesLeft;
    return this;
  }

  /** A card whose PIN is blocked. */
  blockedPin(): this {
    this.image.pinRetriesLeft = 0;
    return this;
  }

  /** Protocol and length options. */
  options(options: Partial<CardOptions>): this {
    this.image.options = { ...this.image.options, ...options };
    return this;
  }

  /** The validated image: a fresh copy each call. */
  build(): ProfessionalImage {
    return parseCardImage(clone(this.image), 'professionalImage()') as ProfessionalImage;
  }
}

/**
 * An insured card image to build on: a shipped fixture by name (default `demo`: a family card,
 * CNAS 80 %, PIN 1234) or an image file of your own.
 */
export function insuredImage(base = 'demo'): InsuredImageBuilder {
  const { image, file } = loadImage(base);
  if (image.kind !== 'insured') throw new CardImageError(file, 'kind', 'expected an insured card image');
  return new InsuredImageBuilder({ ...image, fundCa: absolute(image.fundCa, path.dirname(file)) });
}

/**
 * A professional card image to build on: a shipped fixture by name (default `pharmacist-1`:
 * pharmacy DZ16-PH-00001, PIN 0000) or an image file of your own.
 */
export function professionalImage(base = 'pharmacist-1'): ProfessionalImageBuilder {
  const { image, file } = loadImage(base);
  if (image.kind !== 'professional') throw new CardImageError(file, 'kind', 'expected a professional card image');
  const dir = path.dirname(file);
  return new ProfessionalImageBuilder({
    ...image,
    certificate: absolute(image.certificate, dir),
    privateKey: absolute(image.privateKey, dir),
  });
}
