import type { PinResult, PinStatus, RightsUpdateResult } from '../../card/chifa';
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

/**
 * The counter's view of its card readers: where the insured card and the pharmacist's
 * professional card are, and what can be done with them. Two implementations: PC/SC readers
 * (`pcsc`), and the in-process emulator with the demo cards (`demo`). Both go through the SDK's
 * Chifa card application API; nothing here knows APDU bytes.
 *
 * Card identity: every insertion of a card gets a new `insertion` number. A session the counter
 * opened on insertion 7 is stale once the reader reports insertion 8 (or none): the card was pulled,
 * and its PIN state went with it.
 */

export type StationMode = 'demo' | 'pcsc';

/**
 * Which application a card answered to: the insured person's Chifa application, the
 * pharmacist's professional one, or neither (`other`: not a Chifa card).
 */
export type CardApplication = 'insured' | 'professional' | 'other';

export interface ReaderStatus {
  name: string;
  /** What the counter uses the reader for, if anything. */
  role: 'insured' | 'professional' | null;
  cardPresent: boolean;
  /** The card's ATR (ISO 7816-3 §8), hex; null without a card. */
  atr: string | null;
  /** The card's application once identified; null without a card or before it is identified. */
  application: CardApplication | null;
}

export interface StationStatus {
  mode: StationMode;
  /** False when pcscd is down (the station keeps retrying). Always true in demo mode. */
  serviceAvailable: boolean;
  readers: ReaderStatus[];
  /** Insertion number of the insured card now in its reader, or null. */
  insured: number | null;
  /** Insertion number of the professional card now in its reader, or null. */
  professional: number | null;
}

/**
 * The insured person's card, one insertion of it. Methods throw CardGoneError once it is gone.
 * Reads are one file (or one chunk of a ring) each, so the counter can read in the order the
 * screen needs and stop where it has enough.
 */
export interface InsuredCardPort {
  readonly insertion: number;
  /** How many dispensations the card's ring holds at most (400). */
  readonly historyCapacity: number;
  /** Selects the application and reads the holder identity (no PIN). */
  open(): Promise<{ holder: CardHolder; pinRetriesLeft: number | null }>;
  /** Never logs or keeps the PIN. */
  verifyPin(pin: string): Promise<PinResult>;
  /** The PIN's state on the card now, without spending a try (empty VERIFY); null if the card cannot tell. */
  pinStatus(): Promise<PinStatus | null>;
  /** Needs the PIN (as do all the reads below). */
  readRights(): Promise<CardRights>;
  readBeneficiaries(): Promise<Beneficiary[]>;
  readEmergency(): Promise<EmergencyData>;
  /** Newest first. */
  readPrescriptions(): Promise<PrescriptionRecord[]>;
  /**
   * Writes the fund's signed rights document (the compact JWS as the fund signed it) after
   * presenting the fund's signing certificate (DER); the card verifies both (docs/card-layout.md §6a).
   * Presenting a certificate ends the professional card's authentication on this card.
   */
  updateRights(fundCertificate: Buffer, document: string): Promise<RightsUpdateResult>;
  /**
   * The dispensations newest first from record number `from` (1 is the newest), read from the
   * card a chunk at a time as they are asked for: stop asking and nothing more is read.
   */
  dispensations(from: number): AsyncGenerator<DispensationRecord>;
  /**
   * Authenticates the professional card to this card (the certificate, a challenge signed on the
   * professional card): with the PIN, what APPEND RECORD needs. The card keeps it until it is
   * reset, loses power or leaves the reader. Throws CardOperationError `professional-auth-failed`
   * when the card refuses.
   */
  authenticate(professional: ProfessionalCardPort): Promise<void>;
  /**
   * Appends the records, one APPEND RECORD each, in order (needs the PIN and an authenticated
   * professional card: CardOperationError `professional-auth-required` before the first record
   * otherwise). `onWritten(i)` is called after record i is confirmed by the card. Throws on the
   * first failure (records before it are on the card; the one that failed may be too, if the card
   * tore after writing it).
   */
  appendDispensations(records: readonly DispensationRecord[], onWritten?: (index: number) => void): Promise<void>;
}

/** The pharmacist's professional card, one insertion of it. */
export interface ProfessionalCardPort {
  readonly insertion: number;
  identity(): Promise<PharmacyIdentity>;
  /** Whether its PIN has been verified on this insertion. */
  readonly unlocked: boolean;
  verifyPin(pin: string): Promise<PinResult>;
  /** A journal Signer whose key is on this card (needs the PIN). */
  signer(): Promise<Signer>;
  /** What the insured card's professional authentication needs from this card (needs the PIN). */
  authenticator(): Promise<ProfessionalAuthenticatorPort>;
}

/** The certificate and INTERNAL AUTHENTICATE answer of a professional card. */
export interface ProfessionalAuthenticatorPort {
  readonly certificate: Buffer;
  internalAuthenticate(challenge: Buffer): Promise<Buffer>;
}

export interface CardStation {
  readonly mode: StationMode;
  status(): StationStatus;
  /**
   * Calls `listener` when `status()` may have changed: a reader attached or gone, a card inserted,
   * removed, reset or powered off, the PC/SC service lost or back, a card identified. Returns the
   * unsubscribe function.
   */
  onChange(listener: () => void): () => void;
  /** The insured card now present; throws CardMissingError (or CardServiceUnavailableError). */
  insured(): InsuredCardPort;
  /** The professional card now present; throws CardMissingError('professional'). */
  professional(): ProfessionalCardPort;
  /** Demo mode only: PINs of the demo cards, shown on the page (test data, never real cards). */
  readonly demoHints?: { insuredPin: string; professionalPin?: string };
  close(): Promise<void>;
}
