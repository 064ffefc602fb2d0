import {
  appendRecord,
  changeReferenceData,
  externalAuthenticate,
  getChallenge,
  resetRetryCounter,
  selectAid,
  verify,
  verifyCertificate,
  verifyStatus,
  type VerifyResult,
} from '../commands';
import { CHALLENGE_LENGTH, INSURED_AID, InsuredFiles, PIN_MAX_TRIES, PIN_REF, type FileSpec } from '../layout';
import type { CardSession } from '../transport/channel';
import { type CardCapabilities, type CardTransport, TransportError } from '../transport/transport';
import { decodeBeneficiary, decodeDispensation, decodeEmergency, decodeHolder, decodePrescription, decodeRights } from './decode';
import { encodeDispensation, encodePrescription, type NewDispensation } from './encode';
import { AccessDeniedError, AppendInterruptedError, CardProtocolError, NotAChifaCardError } from './errors';
import { readRecords, readTransparent, type ReadStrategy } from './files';
import { Link, type LinkOptions } from './link';
import { pinBlock, pukBlock, wipe } from './pin';
import type { FullReadResult, PinResult, PinStatus, ProfessionalAuthResult, UnblockResult } from './results';
import type { Beneficiary, CardData, Dispensation, Emergency, Holder, Prescription, Rights } from './types';

export interface ChifaCardOptions extends LinkOptions {
  /** 'multi-record' (default): READ RECORD(S) over whole files; 'naive': one record per APDU (benchmark baseline). */
  strategy?: ReadStrategy;
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

function pinResult(r: VerifyResult, command: string): PinResult {
  if (r.kind === 'referenceNotFound') throw new CardProtocolError(`${command}: the card has no PIN reference ${PIN_REF.toString(16)}`);
  return r;
}

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

  get capabilities(): CardCapabilities {
    return this.link.capabilities;
  }

  /** Presents the PIN once. The string is turned into a block here and goes nowhere else. */
  async verifyPin(pin: string): Promise<PinResult> {
    const block = pinBlock(pin);
    try {
      return await this.link.atomic(async (s) => pinResult(await s.run(verify(PIN_REF, block)), 'VERIFY'));
    } finally {
      wipe(block);
    }
  }

  /** The PIN's state without spending a try. */
  async pinStatus(): Promise<PinStatus> {
    const r = await this.link.atomic((s) => s.run(verifyStatus(PIN_REF)));
    switch (r.kind) {
      case 'verified':
        return { kind: 'verified' };
      case 'retries':
        return { kind: 'notVerified', retriesLeft: r.retriesLeft };
      case 'blocked':
        return { kind: 'blocked' };
      default:
        throw new CardProtocolError('VERIFY: the card has no PIN');
    }
  }

  /** Tries left before the PIN blocks (a verified PIN has all of them: success resets the counter). */
  async pinRetriesLeft(): Promise<number> {
    const st = await this.pinStatus();
    return st.kind === 'verified' ? PIN_MAX_TRIES : st.kind === 'blocked' ? 0 : st.retriesLeft;
  }

  async changePin(oldPin: string, newPin: string): Promise<PinResult> {
    const oldBlock = pinBlock(oldPin);
    const newBlock = pinBlock(newPin, 'new PIN');
    try {
      return await this.link.atomic(async (s) =>
        pinResult(await s.run(changeReferenceData(PIN_REF, oldBlock, newBlock)), 'CHANGE REFERENCE DATA'),
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

  readBeneficiaries(): Promise<Beneficiary[]> {
    return this.link.atomic((s) => this.beneficiaries(s));
  }

  readRights(): Promise<Rights> {
    return this.link.atomic(async (s) => decodeRights(await this.transparent(s, InsuredFiles.rights)));
  }

  readEmergency(): Promise<Emergency> {
    return this.link.atomic(async (s) => decodeEmergency(await this.transparent(s, InsuredFiles.emergency)));
  }

  /** Up to 40 prescriptions, newest first. */
  readPrescriptions(): Promise<Prescription[]> {
    return this.link.atomic((s) => this.prescriptions(s));
  }

  /** Up to 400 dispensed drugs, newest first. */
  readDispensations(): Promise<Dispensation[]> {
    return this.link.atomic((s) => this.dispensations(s));
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
          const pin = pinResult(await s.run(verify(PIN_REF, block)), 'VERIFY');
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
   * Appends dispensations (needs the PIN and an authenticated professional card). All records are
   * encoded and checked first; then one APPEND RECORD each, in order — the last one becomes
   * record 1, the newest. If the link fails midway, AppendInterruptedError says how many made it.
   */
  appendDispensations(items: readonly NewDispensation[]): Promise<{ appended: number }> {
    return this.append(InsuredFiles.dispensations, items.map(encodeDispensation));
  }

  /** Appends prescriptions (same rules as appendDispensations). */
  appendPrescriptions(items: readonly Prescription[]): Promise<{ appended: number }> {
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

  private async prescriptions(s: CardSession): Promise<Prescription[]> {
    return decodeRecords(await this.records(s, InsuredFiles.prescriptions), decodePrescription);
  }

  private async dispensations(s: CardSession): Promise<Dispensation[]> {
    return decodeRecords(await this.records(s, InsuredFiles.dispensations), decodeDispensation);
  }
}

/** Decodes records read in order, numbering them as the card does (record 1 first). */
function decodeRecords<T>(records: readonly Buffer[], decode: (bytes: Buffer, record: number) => T): T[] {
  return records.map((bytes, i) => decode(bytes, i + 1));
}

async function selectInsured(s: CardSession): Promise<void> {
  const r = await s.run(selectAid(INSURED_AID, 'none'));
  if (r.kind === 'notFound') throw new NotAChifaCardError('insured');
}
