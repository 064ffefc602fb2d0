import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { rateFactors } from '../card/atr';
import { ChifaError } from '../common/errors';
import { firstZodIssue } from '../common/zod-issues';

/**
 * Timing profiles: what a real card and reader pair would take for what the emulator does
 * instantly. A profile describes the card (the TA1 it offers in its ATR, its per-command
 * processing time, its EEPROM page writes, its ECDSA P-256 times) and the reader (its clock, the
 * fastest bit rate it supports, its IFSD). timing.ts turns a profile and an APDU exchange into
 * modelled time. The figures and their public sources are in docs/emulator.md ("Timing").
 *
 *   none         the emulator as it is: no modelled time, no TA1 (the default)
 *   iso-default  a card that offers no faster rate: ISO 7816-3's default Fi 372 / Di 1, with a
 *                reader clocked at 3.5712 MHz → 9,600 bit/s
 *   typical      a card offering TA1 = 18 (Fi 372, Di 12) after PPS, with a reader at 4 MHz
 *                → 129,032 bit/s
 *   FILE.json    a profile of your own (validated; errors name the field)
 */

export interface TimingProfile {
  readonly name: string;
  readonly description?: string | undefined;
  readonly card: {
    /** TA1 in the card's ATR (ISO 7816-3 §8.3); absent: the card offers only the default rate. */
    readonly ta1?: number | undefined;
    /** Processing time of every command, whatever it does (decoding, file access, building the answer). */
    readonly commandMs: number;
    /** Non-volatile memory: bytes per page and the time to program one page. */
    readonly eeprom: { readonly pageBytes: number; readonly pageWriteMs: number };
    /** On-card ECDSA P-256 (SHA-256 included). */
    readonly ecdsaP256: { readonly signMs: number; readonly verifyMs: number };
  };
  readonly reader: {
    /** The clock the reader gives the card, Hz (ISO 7816-3 allows 1–5 MHz during the ATR). */
    readonly clockHz: number;
    /** The fastest bit rate the reader supports (a CCID reader's dwMaxDataRate). */
    readonly maxBitRate: number;
    /** T=1: the reader's IFSD, sent in S(IFS request) after the ATR (default 32 until then). */
    readonly ifsd: number;
  };
}

/** Chip figures shared by the built-in profiles: the same card, only the link differs. */
const CHIP = {
  commandMs: 2,
  eeprom: { pageBytes: 64, pageWriteMs: 3 },
  ecdsaP256: { signMs: 150, verifyMs: 200 },
} as const;

export const TIMING_PROFILES: Readonly<Record<'iso-default' | 'typical', TimingProfile>> = {
  'iso-default': {
    name: 'iso-default',
    description: 'no TA1: ISO 7816-3 default rate (Fi 372, Di 1) at 3.5712 MHz = 9,600 bit/s',
    card: { ...CHIP },
    reader: { clockHz: 3_571_200, maxBitRate: 344_086, ifsd: 254 },
  },
  typical: {
    name: 'typical',
    description: 'TA1 = 18 (Fi 372, Di 12) agreed by PPS, reader clock 4 MHz = 129,032 bit/s',
    card: { ...CHIP, ta1: 0x18 },
    reader: { clockHz: 4_000_000, maxBitRate: 344_086, ifsd: 254 },
  },
};

/** The names `--timing` and the in-process transport accept besides a JSON file. */
export const TIMING_PROFILE_NAMES = ['none', ...Object.keys(TIMING_PROFILES)] as const;

/** A timing profile that is unknown or does not validate; the message names the source and the field. */
export class TimingProfileError extends ChifaError {
  declare readonly field: string;
  constructor(source: string, field: string, message: string) {
    super('invalid-timing-profile', `${source}: ${field ? `${field}: ` : ''}${message}`, { field });
  }
}

const ms = (max: number) =>
  z
    .number()
    .min(0, { message: 'must be at least 0' })
    .max(max, { message: `must be at most ${max}` });
const int = (min: number, max: number) =>
  z
    .number()
    .int({ message: 'expected an integer' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

const ta1 = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}$/, { message: 'expected one byte in hex, e.g. "18"' })
  .transform((s) => parseInt(s, 16))
  .refine((b) => rateFactors(b) !== undefined, { message: 'Fi or Di is a reserved value (ISO 7816-3 tables 7 and 8)' });

const profileSchema = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  description: z.string().max(500).optional(),
  card: z.strictObject({
    ta1: ta1.optional(),
    commandMs: ms(10_000),
    eeprom: z.strictObject({ pageBytes: int(1, 4096), pageWriteMs: ms(1000) }),
    ecdsaP256: z.strictObject({ signMs: ms(60_000), verifyMs: ms(60_000) }),
  }),
  reader: z.strictObject({
    clockHz: int(1_000_000, 5_000_000),
    maxBitRate: int(1, 10_000_000),
    ifsd: int(1, 254),
  }),
});

/** Validates a profile given as parsed JSON; throws TimingProfileError naming the first bad field. */
export function parseTimingProfile(json: unknown, source: string): TimingProfile {
  const r = profileSchema.safeParse(json);
  if (!r.success) {
    const first = firstZodIssue(r.error);
    throw new TimingProfileError(source, first.field, first.message);
  }
  const { name, ...rest } = r.data;
  return { name: name ?? path.basename(source, '.json'), ...rest };
}

/** Reads and validates a profile file. */
export function loadTimingProfile(file: string): TimingProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TimingProfileError(file, '', `cannot read it: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TimingProfileError(file, '', `not valid JSON: ${(err as Error).message}`);
  }
  return parseTimingProfile(json, file);
}

/**
 * `none` → undefined (no timing), a built-in name → its profile, anything else is read as a JSON
 * file. A profile object is returned as it is.
 */
export function resolveTimingProfile(spec: string | TimingProfile): TimingProfile | undefined {
  if (typeof spec !== 'string') return spec;
  if (spec === 'none') return undefined;
  if (spec in TIMING_PROFILES) return TIMING_PROFILES[spec as keyof typeof TIMING_PROFILES];
  if (!spec.endsWith('.json') && !fs.existsSync(spec)) {
    throw new TimingProfileError(spec, '', `unknown timing profile: use ${TIMING_PROFILE_NAMES.join(', ')} or a JSON file`);
  }
  return loadTimingProfile(spec);
}
