/**
 * The card SDK's public surface: what a POS vendor imports.
 *
 *   import { ChifaCard, ProfessionalCard, PcscTransport, ReaderMonitor } from 'chifa-terminal/dist/src/card';
 *
 * - Chifa card application (the only way the counter reaches a card): ChifaCard, ProfessionalCard.
 * - PC/SC: ReaderMonitor (readers, cards, service lost/restored), PcscTransport, listReaders.
 * - Protocol core: APDUs, status words, BER-TLV, ATR, the transport stack, ISO commands as values.
 * - The card layout constants, as the `layout` namespace.
 * See docs/sdk.md.
 */
export * from './chifa';
export * from './pcsc';
export * from './apdu';
export * from './status';
export * from './tlv';
export * from './atr';
export * as layout from './layout';
export * from './transport/transport';
export { CardChannel, CardSession, type ChannelOptions } from './transport/channel';
export { type ApduProcessor, type Exchange } from './transport/processors';
export { type TraceEvent, type TraceHook, redactCommand } from './transport/trace';
export { RecordingTransport, ReplayTransport, parseTranscript, type TranscriptEntry } from './transport/transcript';
export * from './commands';
