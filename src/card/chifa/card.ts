import { InvalidInputError } from '../../common/errors';
import {
  appendRecord,
  changeReferenceData,
  externalAuthenticate,
  getChallenge,
  putData,
  resetRetryCounter,
  selectAid,
  verify,
  verifyCertificate,
  verifyStatus,
} from '../commands';
import { CHALLENGE_LENGTH, INSURED_AID, InsuredFiles, PIN_REF, RIGHTS_DOCUMENT_TAG, type FileSpec } from '../layout';
import { SW } from '../status';
import type { CardSession } from '../transport/channel';
import { type CardCapabilities, type CardTransport, TransportError } from '../transport/transport';
import { decodeBeneficiary, decodeDispensation, decodeEmergency, decodeHolder, decodePrescription, decodeRights } from './decode';
import { encodeDispensation, encodePrescription, type NewDispensation } from './encode';
import { AccessDeniedError, AppendInterruptedError, CardProtocolError, NotAChifaCardError } from './errors';
import { MAX_P1, readRecords, readTransparent, RecordReader, type ReadStrategy } from './files';
import { Link, type LinkOptions } from './link';
import { pinBlock, pinResult, pinStatusOf, pukBlock, retriesLeftOf, wipe } from './pin';
import type { FullReadResult, PinResult, PinStatus, ProfessionalAuthResult, RightsUpdateResult, UnblockResult } from './results';
import type { Beneficiary, CardData, Dispensation, Emergency, Holder, IsoDate, Prescription, Rights } from './types';

/** Options of ChifaCard.open. */
export interface ChifaCardOptions extends LinkOptions {
  /** 'multi-record' (default): READ RECORD(S) over whole files; 'naive': one record per APDU (benchmark baseline). */
  strategy?: ReadStrategy;
}

/** Records per READ RECORD(S) when a read may stop early (see HistoryReadOptions.chunk). */
export const DEFAULT_CHUNK = 8;

/**
 * A read of a ring (prescriptions, dispensations) that stops once older records no longer
 * matter. The ring is in the order records were appended, newest first, which for records
 * written at the counter is also date order.
 */
export interface HistoryReadOptions<T> {
  /** Stop at the first record for which this is true: that record and all older ones are left out. */
  readonly until?: (record: T) => boolean;
  /** Only records dated on or after this day (YYYY-MM-DD): stop at the first older one. */
  readonly since?: IsoDate;
  /**
   * Records asked for per READ RECORD(S) / GET RESPONSE (default DEFAULT_CHUNK), at most what one
   * answer carries (256 bytes without extended length); the condition is checked after each.
   * Larger chunks mean fewer APDUs, smaller ones fewer bytes read past the point where the read
   * stops (bench/card-timing.ts measures both).
   */
  readonly chunk?: number;
}

/** Options of the record iterators (`dispensations()`, `prescriptions()`). */
export interface RecordIteratorOptions {
  /**
   * Records per APDU exchange (default DEFAULT_CHUNK, at most what one answer carries); each is
   * one card transaction.
   */
  readonly chunk?: number;
  /**
   * The number of the first record to deliver (default 1, the newest): where an earlier read of
   * the same ring stopped, to go on without reading again what it already has. Record numbers
   * count from the newest, so an APPEND RECORD in between moves every record one further.
   */
  readonly from?: number;
}

/**
 * What the insured card needs from a professional card to authenticate it (ProfessionalCard
 * implements it; so can a test double).
 */
export interface ProfessionalAuthenticator {
  /** The professional's X.509 certificate, DER. */
  readonly certificate: Buffer;
  /** INTERNAL AUTHENTICATE: the raw 64-byte r‖s ECDSA P-256 signature over `challenge`. */
  internalAuthenticate(challenge: Buffer): Promise<Buffer>;
}

const noPin = (command: string): string => `${command}: the card has no PIN reference ${PIN_REF.toString(16)}`;

/**
 * The insured person's Chifa card: the holder's identity (no PIN), the PIN, beneficiaries,
 * rights, emergency data, prescriptions and dispensed drugs, and writing dispensations once a
 * professional card has authenticated. Works over any CardTransport (PC/SC, the in-process
 * emulator, a replayed transcript).
 *
 * PIN rule: verifyPin() sends exactly one VERIFY and never retries — every VERIFY with data
 * spends a try. pinRetriesLeft() uses the empty VERIFY, which spends none.
 */
export class ChifaCard {
  private constructor(
    private readonly link: Link,
    readonly holder: Holder,
    private readonly strategy: ReadStrategy,
  ) {}

  /** Selects the insured application and reads the holder (no PIN needed). */
  static async open(transport: CardTransport, options: ChifaCardOptions = {}): Promise<ChifaCard> {
    const link = new Link(transport, options);
    const strategy = options.strategy ?? 'multi-record';
    const holder = await link.atomic(async (s) => {
      await selectInsured(s);
      return decodeHolder(await readTransparent(s, InsuredFiles.holder, { capabilities: link.capabilities }));
    });
    return new ChifaCard(link, holder, strategy);
  }

  /** What the link offers (extended length, chaining), from the ATR or the options. */
  get capabilities(): CardCapabilities {
    return this.link.capabilities;
  }

  /** Presents the PIN once. The string is turned into a block here and goes nowhere else. */
  async verifyPin(pin: string): Promise<PinResult> {
    const block = pinBlock(pin);
    try {
      return await this.link.atomic(async (s) => pinResult(await s.run(verify(PIN_REF, block)), noPin('VERIFY')));
    } finally {
      wipe(block);
    }
  }

  /** The PIN's state without spending a try. */
  async pinStatus(): Promise<PinStatus> {
    const r = await this.link.atomic((s) => s.run(verifyStatus(PIN_REF)));
    return pinStatusOf(r, 'VERIFY: the card has no PIN');
  }

  /** Tries left before the PIN blocks (a verified PIN has all of them: success resets the counter). */
  async pinRetriesLeft(): Promise<number> {
    return retriesLeftOf(await this.pinStatus());
  }

  /** Changes the PIN (CHANGE REFERENCE DATA): one try is spent if `oldPin` is wrong. Neither string goes anywhere but the card. */
  async changePin(oldPin: string, newPin: string): Promise<PinResult> {
    const oldBlock = pinBlock(oldPin);
    const newBlock = pinBlock(newPin, 'new PIN');
    try {
      return await this.link.atomic(async (s) =>
        pinResult(await s.run(changeReferenceData(PIN_REF, oldBlock, newBlock)), noPin('CHANGE REFERENCE DATA')),
      );
    } finally {
      wipe(oldBlock);
      wipe(newBlock);
    }
  }

  /** Unblocks the PIN with the PUK and sets a new PIN (RESET RETRY COUNTER, P1 '00'). */
  async unblockPin(puk: string, newPin: string): Promise<UnblockResult> {
    const pukB = pukBlock(puk);
    const newBlock = pinBlock(newPin, 'new PIN');
    try {
      const r = await this.link.atomic((s) => s.run(resetRetryCounter(PIN_REF, pukB, newBlock)));
      if (r.kind === 'referenceNotFound') throw new CardProtocolError('RESET RETRY COUNTER: the card has no PUK');
      if (r.kind === 'wrongPin') return { kind: 'wrongPuk', retriesLeft: r.retriesLeft };
      return r;
    } finally {
      wipe(pukB);
      wipe(newBlock);
    }
  }

  /** EF.BENEFICIARIES: the insured person (rank 1) and the beneficiaries. Needs the PIN. */
  readBeneficiaries(): Promise<Beneficiary[]> {
    return this.link.atomic((s) => this.beneficiaries(s));
  }

  /** EF.RIGHTS: fund, category, rate, end of rights, chronic entries, per-rank rights. Needs the PIN. */
  readRights(): Promise<Rights> {
    return this.link.atomic(async (s) => decodeRights(await this.transparent(s, InsuredFiles.rights)));
  }

  /** EF.EMERGENCY: blood group, allergies (INN), chronic conditions. Needs the PIN. */
  readEmergency(): Promise<Emergency> {
    return this.link.atomic(async (s) => decodeEmergency(await this.transparent(s, InsuredFiles.emergency)));
  }

  /**
   * Up to 40 prescriptions, newest first; with `until` or `since`, only those newer than where
   * the read stops, read a chunk at a time (see HistoryReadOptions).
   */
  readPrescriptions(options: HistoryReadOptions<Prescription> = {}): Promise<Prescription[]> {
    return this.link.atomic((s) => this.history(s, InsuredFiles.prescriptions, decodePrescription, options));
  }

  /**
   * Up to 400 dispensed drugs, newest first; with `until` or `since`, only those newer than where
   * the read stops, read a chunk at a time — e.g. `{ since: today - longest treatment }` for
   * the supplies that may still be running.
   */
  readDispensations(options: HistoryReadOptions<Dispensation> = {}): Promise<Dispensation[]> {
    return this.link.atomic((s) => this.history(s, InsuredFiles.dispensations, decodeDispensation, options));
  }

  /**
   * The dispensed drugs newest first, read `chunk` records at a time as the loop asks for them:
   * breaking out of the loop reads nothing more. Each chunk is one card transaction, so other
   * calls on this card may come between two steps (the reader then finds its place again).
   */
  dispensations(options: RecordIteratorOptions = {}): AsyncGenerator<Dispensation> {
    return this.iterate(InsuredFiles.dispensations, decodeDispensation, options);
  }

  /** The prescriptions newest first, a chunk at a time (as `dispensations()`). */
  prescriptions(options: RecordIteratorOptions = {}): AsyncGenerator<Prescription> {
    return this.iterate(InsuredFiles.prescriptions, decodePrescription, options);
  }

  /**
   * Everything on the card in one transaction and as few APDUs as the card allows (8 with
   * extended length). With `pin`, the VERIFY is part of it and a wrong PIN returns its result
   * in place of data; without, the PIN must have been verified already. The files are read
   * first and decoded after the last answer: decoding takes a fraction of a millisecond
   * (bench/card-read.ts), the reads take the card's time.
   */
  async readAll(options: { pin?: string } = {}): Promise<FullReadResult> {
    const block = options.pin !== undefined ? pinBlock(options.pin) : undefined;
    try {
      return await this.link.atomic(async (s) => {
        if (block) {
          const pin = pinResult(await s.run(verify(PIN_REF, block)), noPin('VERIFY'));
          if (pin.kind !== 'ok') return pin;
        }
        const dispensations = await this.records(s, InsuredFiles.dispensations);
        const prescriptions = await this.records(s, InsuredFiles.prescriptions);
        const beneficiaries = await this.records(s, InsuredFiles.beneficiaries);
        const rights = await this.transparent(s, InsuredFiles.rights);
        const emergency = await this.transparent(s, InsuredFiles.emergency);
        const data: CardData = {
          holder: this.holder,
          beneficiaries: decodeRecords(beneficiaries, decodeBeneficiary),
          rights: decodeRights(rights),
          emergency: decodeEmergency(emergency),
          prescriptions: decodeRecords(prescriptions, decodePrescription),
          dispensations: decodeRecords(dispensations, decodeDispensation),
        };
        return { kind: 'ok', data };
      });
    } finally {
      if (block) wipe(block);
    }
  }

  /**
   * Authenticates a professional card to this card, which unlocks APPEND RECORD on the
   * prescription and dispensation rings (with the holder's PIN): PSO: VERIFY CERTIFICATE with the
   * professional's certificate, GET CHALLENGE, INTERNAL AUTHENTICATE on the professional card,
   * EXTERNAL AUTHENTICATE here with its signature. The professional card needs its own PIN.
   */
  authenticateProfessional(pro: ProfessionalAuthenticator): Promise<ProfessionalAuthResult> {
    return this.link.atomic(async (s) => {
      const cert = await s.run(verifyCertificate(pro.certificate));
      if (cert.kind === 'rejected') return { kind: 'certificateRejected', sw: cert.sw };
      const ch = await s.run(getChallenge(CHALLENGE_LENGTH));
      if (ch.kind !== 'ok' || ch.challenge.length !== CHALLENGE_LENGTH) {
        throw new CardProtocolError(`GET CHALLENGE did not return ${CHALLENGE_LENGTH} bytes`);
      }
      const signature = await pro.internalAuthenticate(ch.challenge);
      const r = await s.run(externalAuthenticate(signature));
      switch (r.kind) {
        case 'ok':
          return { kind: 'ok' };
        case 'failed':
          return { kind: 'signatureRejected' };
        case 'blocked':
          return { kind: 'blocked' };
        default:
          throw new CardProtocolError(`EXTERNAL AUTHENTICATE: ${r.kind}`);
      }
    });
  }

  /**
   * Writes the fund's signed rights document to the card (docs/card-layout.md §6a): PSO: VERIFY
   * CERTIFICATE with the fund's signing certificate, then PUT DATA '00E2' with the document as the
   * fund signed it (a compact JWS). The card checks the signature, the card serial, the validity
   * and that the document is newer than its rights, and replaces EF.RIGHTS in one atomic write;
   * a refusal leaves the rights as they were. Read the rights again afterwards (needs the PIN).
   * The certificate verification ends a professional authentication (as any PSO: VERIFY
   * CERTIFICATE does).
   */
  updateRights(fundCertificate: Buffer, document: string): Promise<RightsUpdateResult> {
    const data = Buffer.from(document, 'latin1');
    return this.link.atomic(async (s) => {
      const cert = await s.run(verifyCertificate(fundCertificate));
      if (cert.kind === 'rejected') return { kind: 'certificateRejected', sw: cert.sw };
      const r = await s.run(putData(RIGHTS_DOCUMENT_TAG, data));
      switch (r.kind) {
        case 'ok':
          return { kind: 'ok' };
        case 'securityNotSatisfied':
          return { kind: 'refused', reason: 'not-a-fund-key', sw: SW.SECURITY_STATUS_NOT_SATISFIED };
        case 'verificationFailed':
          return { kind: 'refused', reason: 'bad-signature', sw: SW.VERIFICATION_FAILED };
        case 'wrongData':
          return { kind: 'refused', reason: 'malformed', sw: SW.WRONG_DATA };
        case 'conditionsNotSatisfied':
          return { kind: 'refused', reason: 'not-current', sw: SW.CONDITIONS_OF_USE_NOT_SATISFIED };
        case 'notEnoughMemory':
          return { kind: 'refused', reason: 'too-large', sw: SW.NOT_ENOUGH_MEMORY };
        case 'notFound':
          return { kind: 'refused', reason: 'not-supported', sw: SW.REFERENCE_DATA_NOT_FOUND };
      }
    });
  }

  /**
   * Appends dispensations (needs the PIN and an authenticated professional card). All records are
   * encoded and checked first; then one APPEND RECORD each, in order — the last one becomes
   * record 1, the newest. If the link fails midway, AppendInterruptedError says how many made it.
   */
  // async: a record that does not encode (RecordInputError) rejects the promise like every other
  // failure, rather than throwing before the caller has a promise to catch.
  async appendDispensations(items: readonly NewDispensation[]): Promise<{ appended: number }> {
    return this.append(InsuredFiles.dispensations, items.map(encodeDispensation));
  }

  /** Appends prescriptions (same rules as appendDispensations). */
  async appendPrescriptions(items: readonly Prescription[]): Promise<{ appended: number }> {
    return this.append(InsuredFiles.prescriptions, items.map(encodePrescription));
  }

  /** Releases the transport. */
  close(): Promise<void> {
    return this.link.close();
  }

  private append(file: FileSpec, records: Buffer[]): Promise<{ appended: number }> {
    return this.link.atomic(async (s) => {
      let written = 0;
      for (const data of records) {
        let r;
        try {
          r = await s.run(appendRecord({ sfi: file.sfi, data }));
        } catch (err) {
          // A link failure leaves the current record's fate unknown; any failure after the first
          // record leaves a partial batch. Both must make the caller read the card again.
          if (err instanceof TransportError || written > 0) throw new AppendInterruptedError(written, records.length, err);
          throw err;
        }
        if (r.kind === 'securityNotSatisfied') {
          if (written > 0) throw new AppendInterruptedError(written, records.length, new Error('access denied'));
          throw new AccessDeniedError(
            'professional-auth-required',
            `appending to ${file.name} needs the holder's PIN and an authenticated professional card`,
          );
        }
        if (r.kind !== 'ok') throw new CardProtocolError(`APPEND RECORD ${file.name}: ${r.kind}`);
        written++;
      }
      return { appended: written };
    });
  }

  private transparent(s: CardSession, file: FileSpec): Promise<Buffer> {
    return readTransparent(s, file, { capabilities: this.link.capabilities });
  }

  private records(s: CardSession, file: FileSpec): Promise<Buffer[]> {
    return readRecords(s, file, { capabilities: this.link.capabilities, strategy: this.strategy });
  }

  private async beneficiaries(s: CardSession): Promise<Beneficiary[]> {
    return decodeRecords(await this.records(s, InsuredFiles.beneficiaries), decodeBeneficiary);
  }

  /** A ring read whole (no stop condition), or chunk by chunk until the condition says stop. */
  private async history<T extends { readonly date: IsoDate }>(
    s: CardSession,
    file: FileSpec,
    decode: (bytes: Buffer, record: number) => T,
    options: HistoryReadOptions<T>,
  ): Promise<T[]> {
    const stop = stopCondition(options);
    if (!stop) return decodeRecords(await this.records(s, file), decode);
    const reader = new RecordReader(file, this.link.capabilities);
    const step = Math.min(checkChunk(options.chunk ?? DEFAULT_CHUNK), reader.perApdu);
    const out: T[] = [];
    while (!reader.finished) {
      const first = reader.position;
      const records = await reader.next(s, step);
      for (const [i, bytes] of records.entries()) {
        const r = decode(bytes, first + i);
        if (stop(r)) return out;
        out.push(r);
      }
    }
    return out;
  }

  private async *iterate<T>(
    file: FileSpec,
    decode: (bytes: Buffer, record: number) => T,
    options: RecordIteratorOptions,
  ): AsyncGenerator<T> {
    const reader = new RecordReader(file, this.link.capabilities, checkFrom(options.from ?? 1, file));
    const step = Math.min(checkChunk(options.chunk ?? DEFAULT_CHUNK), reader.perApdu);
    while (!reader.finished) {
      const first = reader.position;
      const records = await this.link.atomic((s) => reader.next(s, step));
      for (const [i, bytes] of records.entries()) yield decode(bytes, first + i);
    }
  }
}

function checkChunk(chunk: number): number {
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 1024) {
    throw new InvalidInputError([{ field: 'chunk', message: `must be an integer 1..1024, got ${chunk}` }], 'read options');
  }
  return chunk;
}

function checkFrom(from: number, file: FileSpec): number {
  const max = file.maxRecords ?? MAX_P1;
  if (!Number.isInteger(from) || from < 1 || from > max + 1) {
    throw new InvalidInputError([{ field: 'from', message: `must be a record number 1..${max + 1}, got ${from}` }], 'read options');
  }
  return from;
}

function stopCondition<T extends { readonly date: IsoDate }>(options: HistoryReadOptions<T>): ((r: T) => boolean) | undefined {
  const { until, since } = options;
  if (since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(since)) {
    throw new InvalidInputError([{ field: 'since', message: `expected a date YYYY-MM-DD, got ${String(since)}` }], 'read options');
  }
  if (since === undefined) return until;
  return until ? (r) => r.date < since || until(r) : (r) => r.date < since;
}

/** Decodes records read in order, numbering them as the card does (record 1 first). */
function decodeRecords<T>(records: readonly Buffer[], decode: (bytes: Buffer, record: number) => T): T[] {
  return records.map((bytes, i) => decode(bytes, i + 1));
}

async function selectInsured(s: CardSession): Promise<void> {
  const r = await s.run(selectAid(INSURED_AID, 'none'));
  if (r.kind === 'notFound') throw new NotAChifaCardError('insured');
}
