import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ChifaError } from '../common/errors';
import type { CardOptions } from './context';
import type { CardDefinition } from './definition';
import type { NvmJournal } from './nvm';

/**
 * Persistence of an emulated card: its definition, options and every NVM byte (files, PIN
 * counters and values, a pending anti-tearing journal) in one JSON document.
 *
 * The PIN is in there: it is the card's own memory (a real card keeps it in its EEPROM), not a
 * terminal's data. The state file must be treated like the card itself; nothing here logs it.
 * Writes are atomic — temporary file in the same directory, fsync, rename, fsync of the
 * directory — so a crash of the emulator process leaves either the old or the new state, which
 * is the same promise the card's own journal makes for a power loss.
 */

export const STATE_FORMAT = 'chifa-emulator-state';
export const STATE_VERSION = 1;

/** An in-memory copy of a card: what snapshot() returns and restore() and the state file take. */
export interface CardSnapshot {
  /** @internal The card structure (files, PIN objects, keys). */
  readonly definition: CardDefinition;
  readonly options: CardOptions;
  /** @internal The memory, by region. */
  readonly regions: Readonly<Record<string, Buffer>>;
  /** @internal A write transaction interrupted by a power loss, recovered at the next power-on. */
  readonly journal: NvmJournal | null;
}

/** A persisted card-state file that cannot be read or is not a card state; names the file. */
export class CardStateFileError extends ChifaError {
  constructor(file: string, message: string) {
    super('invalid-card-state', `${file}: ${message}`);
  }
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'expected base64' });

const stateSchema = z.object({
  format: z.literal(STATE_FORMAT),
  version: z.literal(STATE_VERSION),
  savedAt: z.string(),
  // The definition is checked structurally when the file system is built from it.
  definition: z.object({
    kind: z.enum(['insured', 'professional', 'custom']),
    label: z.string(),
    mf: z.object({}).passthrough(),
    pins: z.array(z.object({ ref: z.number(), label: z.string(), length: z.number(), maxTries: z.number() })),
    keys: z.object({ fundCaSpki: b64.optional(), signingKeyPkcs8: b64.optional() }),
    dataObjects: z.record(z.string(), z.string()),
  }),
  options: z.object({
    protocol: z.enum(['T=0', 'T=1']),
    extendedLength: z.boolean(),
    chaining: z.boolean(),
    antiTearing: z.boolean(),
  }),
  regions: z.record(z.string(), b64),
  journal: z
    .object({
      committed: z.boolean(),
      writes: z.array(z.object({ region: z.string(), offset: z.number().int().min(0), bytes: b64 })),
    })
    .nullable(),
});

export function serializeState(s: CardSnapshot): string {
  const regions: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.regions)) regions[k] = v.toString('base64');
  return (
    JSON.stringify(
      {
        format: STATE_FORMAT,
        version: STATE_VERSION,
        savedAt: new Date().toISOString(),
        definition: s.definition,
        options: s.options,
        regions,
        journal: s.journal
          ? {
              committed: s.journal.committed,
              writes: s.journal.writes.map((w) => ({ region: w.region, offset: w.offset, bytes: w.bytes.toString('base64') })),
            }
          : null,
      },
      null,
      1,
    ) + '\n'
  );
}

export function parseState(text: string, file: string): CardSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CardStateFileError(file, `not valid JSON: ${(err as Error).message}`);
  }
  const r = stateSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new CardStateFileError(file, `${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const d = r.data;
  const regions: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(d.regions)) regions[k] = Buffer.from(v, 'base64');
  return {
    definition: d.definition as unknown as CardDefinition,
    options: d.options,
    regions,
    journal: d.journal
      ? {
          committed: d.journal.committed,
          writes: d.journal.writes.map((w) => ({ region: w.region, offset: w.offset, bytes: Buffer.from(w.bytes, 'base64') })),
        }
      : null,
  };
}

export function readStateFile(file: string): CardSnapshot {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CardStateFileError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseState(text, file);
}

/** Write-temp-then-rename with fsync of the file and of its directory. */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}

export function writeStateFile(file: string, s: CardSnapshot): void {
  writeFileAtomic(file, serializeState(s));
}
