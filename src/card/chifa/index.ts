/**
 * The Chifa card application: the one way from the counter (src/pos) to a card. Works over any
 * CardTransport: PC/SC (src/card/pcsc), the in-process emulator, or a replayed transcript.
 */
export {
  ChifaCard,
  DEFAULT_CHUNK,
  type ChifaCardOptions,
  type HistoryReadOptions,
  type ProfessionalAuthenticator,
  type RecordIteratorOptions,
} from './card';
export { ProfessionalCard } from './professional';
export { professionalCardSigner, type CardSigner } from './signer';
export * from './types';
export * from './results';
export * from './errors';
export { type NewDispensation, encodeDispensation, encodePrescription } from './encode';
export {
  decodeHolder,
  decodeBeneficiary,
  decodeRights,
  decodeEmergency,
  decodePrescription,
  decodeDispensation,
  decodePharmacy,
} from './decode';
export { type ReadStrategy } from './files';
export { type LinkOptions } from './link';
export { pinBlock, pukBlock } from './pin';
