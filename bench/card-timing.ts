import * as path from 'node:path';
import { ChifaCard } from '../src/card/chifa';
import { objectExtent, readTransparent } from '../src/card/chifa/files';
import { CardChannel } from '../src/card/transport/channel';
import { InsuredFiles, type FileSpec } from '../src/card/layout';
import { InProcessTransport } from '../src/emulator/in-process-transport';
import type { TransparentEf, RecordEf } from '../src/emulator/filesystem';
import { TIMING_PROFILES, type TimingProfile } from '../src/emulator/timing-profile';
import { VirtualCard } from '../src/emulator/virtual-card';
import { addDays } from '../src/common/calendar-date';
import { packageRoot } from '../src/common/paths';
import { printTable } from './table';

/**
 * What the pharmacist waits for: the modelled time (src/emulator/timing.ts) of what the counter
 * asks of a card with both rings full, on the ISO default rate (9,600 bit/s) and on a typical
 * card after PPS (129 kbit/s), with the in-process emulator on a virtual clock (nothing sleeps).
 * Each task is set against its floor: the bytes it cannot avoid moving, as bare characters at the
 * agreed rate, plus the card operations it cannot avoid (the VERIFY's EEPROM writes, the reset).
 *
 *   first screen      card inserted (ATR, PPS), holder; PIN; rights, emergency data, 40 prescriptions
 *   full read         card inserted; readAll with the PIN: everything, 400 dispensations included
 *   running supplies  after the PIN: the dispensations since today − the longest treatment,
 *                     newest first, stopping at the first older one (chunk sweep below)
 *
 * Floors count whole records for record files (a READ RECORD's unit) and the templates only for
 * transparent files; "running supplies" must also see the first record older than the horizon
 * to know it can stop. The history on the full-rings card spans about two and a half years, so
 * most of it is old.
 */

const PIN = '1234';
/** The full-rings card's newest record (its image's generate.until). */
const TODAY = '2025-06-30';
/** The longest treatment a dispensation may cover (the generated history's longest). */
const LONGEST_TREATMENT_DAYS = 90;

interface Run {
  apdus: number;
  ms: number;
  wireMs: number;
  cardMs: number;
  nvmPages: number;
  resetMs: number;
}

/**
 * Runs `task` on a fresh connection to `vc` (a reset: ATR and PPS are charged) and returns the
 * modelled time from the moment the task calls `start()` (or from the reset if it never does).
 */
async function measure(
  vc: VirtualCard,
  profile: TimingProfile,
  task: (t: InProcessTransport, start: () => void) => Promise<void>,
): Promise<Run> {
  const t = new InProcessTransport(vc, { timing: profile, clock: 'virtual' });
  let from = { ...t.meter.snapshot(), totalMs: 0, wireMs: 0, commandMs: 0, nvmMs: 0, apdus: 0, nvmPages: 0 };
  const resetMs = t.meter.totalMs;
  let fromReset = true;
  await task(t, () => {
    from = t.meter.snapshot();
    fromReset = false;
  });
  const now = t.meter.snapshot();
  return {
    apdus: now.apdus - from.apdus,
    ms: now.totalMs - from.totalMs,
    wireMs: now.wireMs - from.wireMs,
    cardMs: now.commandMs - from.commandMs + (now.nvmMs - from.nvmMs),
    nvmPages: now.nvmPages - from.nvmPages,
    resetMs: fromReset ? resetMs : 0,
  };
}

/** The bytes a task cannot avoid, from the card's own files (not from what the SDK read). */
export class Needs {
  constructor(private readonly vc: VirtualCard) {}

  private ef(file: FileSpec): TransparentEf | RecordEf {
    const ef = this.vc.os.mf.dfs[0]!.efByFid(file.fid);
    if (!ef) throw new Error(`no ${file.name}`);
    return ef;
  }

  template(file: FileSpec): number {
    return objectExtent((this.ef(file) as TransparentEf).data) ?? 0;
  }

  records(file: FileSpec, n?: number): number {
    const ef = this.ef(file) as RecordEf;
    return Math.min(n ?? ef.count, ef.count) * ef.recordLength;
  }
}

const PIN_BLOCK = 8;

export async function run(): Promise<void> {
  const root = packageRoot();
  const image = path.join(root, 'fixtures', 'cards', 'full-rings.json');
  const horizon = addDays(TODAY, -LONGEST_TREATMENT_DAYS);
  const rows: (string | number)[][] = [];
  const sweep: (string | number)[][] = [];
  const notes: string[] = [];

  for (const profileName of ['iso-default', 'typical'] as const) {
    const profile = TIMING_PROFILES[profileName];
    for (const extendedLength of [true, false]) {
      const vc = VirtualCard.fromImage(image, { options: { extendedLength }, timing: profile });
      const model = vc.timing!;
      const need = new Needs(vc);
      const cardName = extendedLength ? 'extended' : 'short APDUs';
      const add = (what: string, r: Run, floorBytes: number): void => {
        const floor = r.resetMs + model.floorMs({ bytes: floorBytes, nvmPages: r.nvmPages });
        const total = r.ms + r.resetMs;
        rows.push([profileName, cardName, what, String(r.apdus), total, r.wireMs, r.cardMs, floor, total / floor]);
      };

      // Card inserted → holder on screen → PIN → rights, emergency data, prescriptions.
      let screen = 0;
      const first = await measure(vc, profile, async (t) => {
        const card = await ChifaCard.open(t);
        screen = t.elapsedMs;
        if ((await card.verifyPin(PIN)).kind !== 'ok') throw new Error('PIN');
        await card.readRights();
        await card.readEmergency();
        if ((await card.readPrescriptions()).length !== 40) throw new Error('prescriptions');
      });
      const holder = need.template(InsuredFiles.holder);
      add(
        'first screen: insert, holder, PIN, rights, emergency, prescriptions',
        first,
        holder +
          PIN_BLOCK +
          need.template(InsuredFiles.rights) +
          need.template(InsuredFiles.emergency) +
          need.records(InsuredFiles.prescriptions),
      );
      if (extendedLength) notes.push(`${profileName}: holder on screen ${screen.toFixed(0)} ms after insertion`);

      // Card inserted → readAll with the PIN.
      const all = await measure(vc, profile, async (t) => {
        const r = await (await ChifaCard.open(t)).readAll({ pin: PIN });
        if (r.kind !== 'ok' || r.data.dispensations.length !== 400) throw new Error('full read');
      });
      const everything =
        holder +
        PIN_BLOCK +
        need.records(InsuredFiles.beneficiaries) +
        need.template(InsuredFiles.rights) +
        need.template(InsuredFiles.emergency) +
        need.records(InsuredFiles.prescriptions) +
        need.records(InsuredFiles.dispensations);
      add('full read: insert, readAll({ pin })', all, everything);

      // After the PIN: the dispensations that may still be running, chunk by chunk.
      let within = 0;
      let running = 0;
      const supplies = (chunk?: number) =>
        measure(vc, profile, async (t, start) => {
          const card = await ChifaCard.open(t);
          await card.verifyPin(PIN);
          start();
          const recent = await card.readDispensations({ since: horizon, ...(chunk ? { chunk } : {}) });
          within = recent.length;
          running = recent.filter((d) => addDays(d.date, d.durationDays) > TODAY).length;
        });
      const until = await supplies();
      const untilFloor = need.records(InsuredFiles.dispensations, within + 1);
      add(`running supplies: dispensations since ${horizon} (${within} of 400)`, until, untilFloor);
      const whole = await measure(vc, profile, async (t, start) => {
        const card = await ChifaCard.open(t);
        await card.verifyPin(PIN);
        start();
        await card.readDispensations();
      });
      add('  the same from all 400 dispensations (read whole, then filtered)', whole, untilFloor);
      if (extendedLength) {
        notes.push(
          `${profileName}: ${within} dispensations since ${horizon}, ${running} still running on ${TODAY}; ` +
            `reading all 400 takes ${(whole.ms / until.ms).toFixed(1)}x as long as stopping at the horizon`,
        );
        for (const chunk of [1, 2, 4, 8, 16, 32, 64]) {
          const r = await supplies(chunk);
          sweep.push([
            profileName,
            String(chunk),
            String(r.apdus),
            r.ms,
            model.floorMs({ bytes: untilFloor }),
            r.ms / model.floorMs({ bytes: untilFloor }),
          ]);
        }

        // Transparent files: the template only (header, then the rest) vs the whole 256-byte file.
        const files = [InsuredFiles.holder, InsuredFiles.rights, InsuredFiles.emergency];
        const templates = files.reduce((n, f) => n + need.template(f), 0);
        const sdk = await measure(vc, profile, async (t, start) => {
          const card = await ChifaCard.open(t);
          await card.verifyPin(PIN);
          start();
          const capabilities = card.capabilities;
          await new CardChannel(t, { capabilities }).session(async (s) => {
            for (const f of files) await readTransparent(s, f, { capabilities });
          });
        });
        const wholeFiles = await measure(vc, profile, async (t, start) => {
          const card = await ChifaCard.open(t);
          await card.verifyPin(PIN);
          start();
          for (const f of files) await t.transmit(Buffer.from([0x00, 0xb0, 0x80 | f.sfi, 0x00, 0x00]));
        });
        add('templates of holder, rights, emergency: header first, then the rest', sdk, templates);
        add('  the same files read whole (one READ BINARY of 256 bytes each)', wholeFiles, templates);
      }
    }
  }

  printTable(
    'Card timing: what the pharmacist waits for (full-rings card, modelled time, virtual clock)',
    ['profile', 'card', 'task', 'APDUs', 'modelled ms', 'line ms', 'card ms', 'floor ms', 'x floor'],
    rows,
  );
  process.stdout.write(
    '\nline = characters, framing and guard times; card = per-command processing and EEPROM writes; the rest of\n' +
      'a task from insertion is the reset (ATR, PPS, IFS). Floor = the bytes the task needs as bare characters at\n' +
      'the agreed rate + the EEPROM writes of its VERIFY + the reset. Profiles: docs/emulator.md ("Timing").\n',
  );
  for (const n of notes) process.stdout.write(`${n}\n`);
  printTable(
    `Running supplies: records per READ RECORD(S) / GET RESPONSE (extended length; dispensations since ${horizon})`,
    ['profile', 'chunk', 'APDUs', 'modelled ms', 'floor ms', 'x floor'],
    sweep,
  );
}
