/**
 * The card SDK: what a point of sale embeds to talk to Chifa cards over any link.
 *
 * ```ts
 * import { ChifaCard, ProfessionalCard, CardChannel, selectAid, INSURED_AID } from 'chifa-terminal';
 * ```
 *
 * - The Chifa card application: {@link ChifaCard} (the insured card) and {@link ProfessionalCard}
 *   (the pharmacist's card), their decoded records, results and typed errors.
 * - The protocol core: command and response APDUs (ISO/IEC 7816-4 §5), status words, BER-TLV,
 *   the ATR, the card layout's identifiers.
 * - Transports: the {@link CardTransport} interface, {@link CardChannel} (T=0 `61xx`/`6Cxx`,
 *   chaining, extended length, a mutex, redacted traces), transcripts to record and replay.
 * - ISO 7816-4 commands as values ({@link selectAid}, {@link readRecord}, {@link verify}, …).
 *
 * PC/SC readers live in `chifa-terminal/pcsc`: importing this entry never loads a native module.
 * The emulator is `chifa-terminal/emulator`; test helpers are `chifa-terminal/testing`.
 *
 * @packageDocumentation
 * @module chifa-terminal
 */

// The public names are listed one by one (no `export *`): what a vendor may rely on is exactly
// this list, and an internal helper added to a module does not leak into the package.

export { ChifaError } from '../common/errors';

// The Chifa card application.
export {
  ChifaCard,
  DEFAULT_CHUNK,
  type ChifaCardOptions,
  type ProfessionalAuthenticator,
  type HistoryReadOptions,
  type RecordIteratorOptions,
} from './chifa/card';
export { ProfessionalCard } from './chifa/professional';
export { professionalCardSigner, type CardSigner } from './chifa/signer';
export type { LinkOptions } from './chifa/link';
export type { ReadStrategy } from './chifa/files';
export type { NewDispensation } from './chifa/encode';
export type {
  IsoDate,
  Relationship,
  Fund,
  CardKind,
  Holder,
  Beneficiary,
  ChronicEntry,
  BeneficiaryRights,
  Rights,
  Emergency,
  PrescriptionLine,
  Prescription,
  Dispensation,
  PharmacyIdentity,
  CardData,
} from './chifa/types';
export type { PinResult, PinStatus, UnblockResult, ProfessionalAuthResult, FullReadResult, RightsUpdateResult } from './chifa/results';
export {
  CardDataError,
  PinFormatError,
  NotAChifaCardError,
  AccessDeniedError,
  CardProtocolError,
  RecordInputError,
  AppendInterruptedError,
  type DataLocation,
} from './chifa/errors';

// APDUs, status words, BER-TLV, ATR.
export {
  encodeCommand,
  parseCommand,
  parseResponse,
  ResponseApdu,
  ApduFormatError,
  toHex,
  fromHex,
  type CommandApdu,
  type ParsedCommand,
  type ApduCase,
  type ApduErrorCode,
} from './apdu';
export { SW, SW1, swText, swHex, StatusWordError } from './status';
export {
  decodeTlv,
  decodeOne,
  encodeTlv,
  findTag,
  findAllTags,
  findPath,
  TlvError,
  type TlvNode,
  type TlvPrimitive,
  type TlvConstructed,
  type TlvInput,
  type TlvErrorCode,
  type DecodeOptions as TlvDecodeOptions,
} from './tlv';
export { parseAtr, AtrError, type Atr, type RateFactors } from './atr';

// The card layout's identifiers (docs/card-layout.md).
export {
  INSURED_AID,
  PROFESSIONAL_AID,
  InsuredFiles,
  ProfessionalFiles,
  PIN_REF,
  PUK_REF,
  Tags,
  type FileSpec,
  type FileKind,
  type AccessRule,
} from './layout';

// Transports.
export { TransportError, CardRemovedError, TransportTimeoutError, type CardTransport, type CardCapabilities } from './transport/transport';
export { CardChannel, type CardSession, type ChannelOptions } from './transport/channel';
export type { ApduProcessor, Exchange } from './transport/processors';
export { redactCommand, type TraceEvent, type TraceHook } from './transport/trace';
export {
  RecordingTransport,
  ReplayTransport,
  parseTranscript,
  TranscriptFormatError,
  ReplayMismatchError,
  type TranscriptEntry,
} from './transport/transcript';

// ISO 7816-4 commands as values.
export { command, type Command, type Ok, type SecurityNotSatisfied, type NotFound } from './commands/command';
export { selectAid, selectFid, selectMf, selectPath, type SelectResult, type SelectReturn } from './commands/select';
export { readBinary, updateBinary, type ReadBinaryResult, type UpdateResult } from './commands/binary';
export {
  readRecord,
  updateRecord,
  appendRecord,
  RecordMode,
  type RecordModeName,
  type ReadRecordResult,
  type WriteRecordResult,
} from './commands/record';
export { verify, verifyStatus, changeReferenceData, resetRetryCounter, type VerifyResult, type RetriesResult } from './commands/security';
export {
  getChallenge,
  internalAuthenticate,
  externalAuthenticate,
  type ChallengeResult,
  type InternalAuthResult,
  type ExternalAuthResult,
} from './commands/auth';
export { computeDigitalSignature, verifyCertificate, type SignResult, type VerifyCertificateResult } from './commands/pso';
export { getData, type GetDataResult } from './commands/data';
