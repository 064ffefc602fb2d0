import { ChifaError, InvalidInputError } from '../../common/errors';
import {
  ChifaCard,
  ProfessionalCard,
  professionalCardSigner,
  type Beneficiary as SdkBeneficiary,
  type Dispensation,
  type Emergency,
  type Holder,
  type NewDispensation,
  type PinResult,
  type PinStatus,
  type Prescription,
  type Rights,
  type RightsUpdateResult,
} from '../../card/chifa';
import { InsuredFiles } from '../../card/layout';
import type { CardTransport } from '../../card/transport/transport';
import type { Signer } from '../../sync/signer';
import type {
  Beneficiary,
  CardHolder,
  CardRights,
  DispensationRecord,
  EmergencyData,
  PharmacyIdentity,
  PrescriptionRecord,
} from './card-data';
import { CardOperationError, CardGoneError, CardServiceUnavailableError, CardMissingError, PinRequiredError } from './errors';
import type { CardApplication, InsuredCardPort, ProfessionalAuthenticatorPort, ProfessionalCardPort } from './station';

/**
 * The card ports over the SDK's Chifa card application (src/card/chifa): the only path from the
 * counter to a card (docs/contributing.md). Whatever the transport — PC/SC or the in-process emulator — a
 * port is one insertion of one card; once the station says the card left (or lost power), every
 * call throws CardGoneError, because the PIN and authentication state went with it.
 *
 * SDK errors are translated to the counter's: a pulled card is `card-removed` (409), a stopped
 * pcscd `pcsc-unavailable` (503), a card that refuses or cannot be decoded a CardOperationError
 * with the SDK's code (409). Messages never contain a PIN (the SDK never puts one in them).
 */

const REMOVED = new Set(['card-removed', 'card-reset', 'card-unresponsive']);
const SERVICE = new Set(['no-service', 'pcsc-unavailable']);

export function translateCardError(err: unknown, which: 'insured' | 'professional' = 'insured'): unknown {
  if (!(err instanceof ChifaError)) return err;
  if (
    err instanceof CardOperationError ||
    err instanceof CardGoneError ||
    err instanceof CardMissingError ||
    err instanceof PinRequiredError ||
    err instanceof CardServiceUnavailableError
  )
    return err;
  let code = err.code;
  // A write interrupted because the card left is, for the counter, a removed card (the records
  // already written are found again by reading the card at the next PIN).
  if (code === 'append-interrupted' && err.cause instanceof ChifaError && REMOVED.has(err.cause.code)) code = err.cause.code;
  if (REMOVED.has(code))
    return new CardGoneError(
      which === 'insured'
        ? 'the card was removed from the reader (or lost power); insert it again'
        : 'the professional card was removed from the reader (or lost power); insert it again',
    );
  if (code === 'no-card') return new CardMissingError(which);
  if (SERVICE.has(code)) return new CardServiceUnavailableError(err.message);
  if (code === 'pin-required') return new PinRequiredError(which);
  // A PIN of the wrong shape for the card (the SDK's PinFormatError, raised before any VERIFY is
  // sent): the client's mistake, naming the field; its message says the shape, never the value.
  if (code === 'invalid-pin-format') return new InvalidInputError([{ field: 'pin', message: err.message }], 'PIN');
  return new CardOperationError(code, err.message, { cause: err });
}

export function toHolder(h: Holder): CardHolder {
  return {
    ssn: h.ssn,
    cardSerial: h.cardSerial,
    lastName: h.lastName,
    firstName: h.firstName,
    lastNameAr: h.lastNameAr,
    firstNameAr: h.firstNameAr,
    birthDate: h.birthDate,
    issueDate: h.issueDate,
    expiryDate: h.expiryDate,
    cardType: h.cardType,
  };
}

export function toDispensation(d: Dispensation): DispensationRecord {
  return {
    date: d.date,
    pharmacyId: d.pharmacyId,
    rank: d.rank,
    productCode: d.productCode,
    quantity: d.quantity,
    durationDays: d.durationDays,
    invoiceNumber: d.invoiceNumber,
    prescriptionRef: d.prescriptionRef ?? null,
  };
}

/** EF.RIGHTS in the counter's terms; the category names are the rules' business (pricing.ts `withCategories`). */
export function toRights(r: Rights): CardRights {
  return {
    fund: r.fund,
    categoryCode: r.categoryCode,
    category: null,
    categoryLabel: null,
    rateBp: r.rateBp,
    rightsEnd: r.rightsEnd,
    sequence: r.sequence,
    issuedOn: r.issuedOn ?? null,
    cardValidUntil: r.cardValidUntil ?? null,
    chronic: r.chronic.map((c) => ({ ...c })),
    beneficiaryRights: r.beneficiaryRights.map((b) => ({
      rank: b.rank,
      categoryCode: b.categoryCode,
      category: null,
      categoryLabel: null,
      rateBp: b.rateBp,
      rightsEnd: b.rightsEnd,
    })),
  };
}

export function toEmergency(e: Emergency): EmergencyData {
  return { bloodGroup: e.bloodGroup ?? null, allergies: [...e.allergies], conditions: [...e.conditions] };
}

export function toBeneficiary(b: SdkBeneficiary): Beneficiary {
  return { ...b };
}

export function toPrescription(p: Prescription): PrescriptionRecord {
  return { ...p, lines: p.lines.map((l) => ({ ...l })) };
}

function toNew(r: DispensationRecord): NewDispensation {
  return {
    date: r.date,
    pharmacyId: r.pharmacyId,
    rank: r.rank,
    productCode: r.productCode,
    quantity: r.quantity,
    durationDays: r.durationDays,
    invoiceNumber: r.invoiceNumber ?? 0,
    ...(r.prescriptionRef !== null ? { prescriptionRef: r.prescriptionRef } : {}),
  };
}

/** Tells a port whether its insertion is still the card in the reader, and how to reach it. */
export interface Slot {
  /** A transport to the card (connects or reuses a connection). */
  connect(): Promise<CardTransport>;
  /** False once the card was removed or lost power after this port was made. */
  isCurrent(): boolean;
  /** Called when the card was found reset or unpowered while still in the reader: its state is gone. */
  invalidate?(): void;
  /** Called when the card answered (or refused) an application's selection: what the card is. */
  identified?(application: CardApplication): void;
}

abstract class Guarded {
  constructor(
    readonly insertion: number,
    protected readonly slot: Slot,
    private readonly which: 'insured' | 'professional',
  ) {}

  protected async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.slot.isCurrent()) throw translateCardError(new CardGoneError(), this.which);
    try {
      return await fn();
    } catch (err) {
      const e = translateCardError(err, this.which);
      if (e instanceof CardGoneError) this.slot.invalidate?.();
      throw e;
    }
  }
}

/** The empty VERIFY's answer, or null from a card that does not answer it (ISO 7816-4 makes it optional). */
async function statusOf(card: ChifaCard): Promise<PinStatus | null> {
  try {
    return await card.pinStatus();
  } catch (err) {
    if (err instanceof ChifaError && err.code === 'card-protocol') return null;
    throw err;
  }
}

export class SdkInsuredPort extends Guarded implements InsuredCardPort {
  readonly historyCapacity = InsuredFiles.dispensations.maxRecords ?? 0;
  private card: ChifaCard | undefined;

  constructor(insertion: number, slot: Slot) {
    super(insertion, slot, 'insured');
  }

  private async chifa(): Promise<ChifaCard> {
    if (!this.card) {
      try {
        this.card = await ChifaCard.open(await this.slot.connect());
      } catch (err) {
        if (err instanceof ChifaError && err.code === 'not-a-chifa-card') this.slot.identified?.('other');
        throw err;
      }
      this.slot.identified?.('insured');
    }
    return this.card;
  }

  open(): Promise<{ holder: CardHolder; pinRetriesLeft: number | null }> {
    return this.guard(async () => {
      const card = await this.chifa();
      const st = await statusOf(card);
      const retries = st?.kind === 'notVerified' ? st.retriesLeft : st?.kind === 'blocked' ? 0 : null;
      return { holder: toHolder(card.holder), pinRetriesLeft: retries };
    });
  }

  pinStatus(): Promise<PinStatus | null> {
    return this.guard(async () => statusOf(await this.chifa()));
  }

  verifyPin(pin: string): Promise<PinResult> {
    return this.guard(async () => (await this.chifa()).verifyPin(pin));
  }

  readRights(): Promise<CardRights> {
    return this.guard(async () => toRights(await (await this.chifa()).readRights()));
  }

  readBeneficiaries(): Promise<Beneficiary[]> {
    return this.guard(async () => (await (await this.chifa()).readBeneficiaries()).map(toBeneficiary));
  }

  updateRights(fundCertificate: Buffer, document: string): Promise<RightsUpdateResult> {
    return this.guard(async () => (await this.chifa()).updateRights(fundCertificate, document));
  }

  readEmergency(): Promise<EmergencyData> {
    return this.guard(async () => toEmergency(await (await this.chifa()).readEmergency()));
  }

  readPrescriptions(): Promise<PrescriptionRecord[]> {
    return this.guard(async () => (await (await this.chifa()).readPrescriptions()).map(toPrescription));
  }

  async *dispensations(from: number): AsyncGenerator<DispensationRecord> {
    const records = await this.guard(async () => (await this.chifa()).dispensations({ from }));
    try {
      for (;;) {
        // Each step may read a chunk from the card: guarded like any other card call.
        const next = await this.guard(() => records.next());
        if (next.done) return;
        yield toDispensation(next.value);
      }
    } finally {
      await records.return(undefined);
    }
  }

  authenticate(professional: ProfessionalCardPort): Promise<void> {
    return this.guard(async () => {
      const card = await this.chifa();
      const r = await card.authenticateProfessional(await professional.authenticator());
      if (r.kind !== 'ok') {
        const why =
          r.kind === 'certificateRejected'
            ? "the insured card refused the professional card's certificate"
            : r.kind === 'signatureRejected'
              ? "the insured card refused the professional card's answer"
              : 'professional authentication is blocked on this card';
        throw new CardOperationError('professional-auth-failed', why);
      }
    });
  }

  appendDispensations(records: readonly DispensationRecord[], onWritten?: (index: number) => void): Promise<void> {
    return this.guard(async () => {
      const card = await this.chifa();
      // One APPEND RECORD per call, so progress is known record by record.
      for (let i = 0; i < records.length; i++) {
        await card.appendDispensations([toNew(records[i]!)]);
        onWritten?.(i);
      }
    });
  }
}

export class SdkProfessionalPort extends Guarded implements ProfessionalCardPort {
  private card: ProfessionalCard | undefined;
  private verified = false;

  constructor(insertion: number, slot: Slot) {
    super(insertion, slot, 'professional');
  }

  private async pro(): Promise<ProfessionalCard> {
    if (!this.card) {
      this.card = await ProfessionalCard.open(await this.slot.connect());
      this.slot.identified?.('professional');
    }
    return this.card;
  }

  get unlocked(): boolean {
    return this.verified && this.slot.isCurrent();
  }

  identity(): Promise<PharmacyIdentity> {
    return this.guard(async () => ({ ...(await this.pro()).identity }));
  }

  async verifyPin(pin: string): Promise<PinResult> {
    // Not verified from this VERIFY on, unless it succeeds (ISO 7816-4 §11.5.6); a PIN of the
    // wrong shape never reaches the card and changes nothing.
    const was = this.verified;
    this.verified = false;
    try {
      const r = await this.guard(async () => (await this.pro()).verifyPin(pin));
      this.verified = r.kind === 'ok';
      return r;
    } catch (err) {
      if (err instanceof InvalidInputError) this.verified = was;
      throw err;
    }
  }

  signer(): Promise<Signer> {
    return this.guard(async () => {
      if (!this.verified) throw new PinRequiredError('professional');
      const s = professionalCardSigner(await this.pro());
      // Signing goes through guard too, so a pulled card is `card-removed`, not a raw transport error.
      return { certificate: s.certificate, keyId: s.keyId, sign: (digest: Buffer) => this.guard(() => s.sign(digest)) };
    });
  }

  authenticator(): Promise<ProfessionalAuthenticatorPort> {
    return this.guard(async () => {
      if (!this.verified) throw new PinRequiredError('professional');
      const card = await this.pro();
      return {
        certificate: card.certificate,
        internalAuthenticate: (challenge: Buffer) => this.guard(() => card.internalAuthenticate(challenge)),
      };
    });
  }
}
