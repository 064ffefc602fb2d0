/**
 * PC/SC readers: follow readers and cards ({@link ReaderMonitor}), talk to a card in a reader
 * ({@link PcscTransport}), list readers once ({@link listReaders}).
 *
 * ```ts
 * import { ChifaCard } from 'chifa-terminal';
 * import { PcscTransport } from 'chifa-terminal/pcsc';
 *
 * const card = await ChifaCard.open(await PcscTransport.connect('ACS ACR39U ICC Reader 00 00'));
 * ```
 *
 * The native binding (the optional dependency `pcsclite`) is loaded on first use, never at
 * import: on a machine without it, importing this entry works and the first PC/SC call throws a
 * {@link PcscUnavailableError} that says what to install. pcscd must be running; without it
 * every call fails at once with {@link PcscNoServiceError}.
 *
 * Another binding (WinSCard, a different node module) plugs in as a {@link PcscBackend}.
 *
 * @packageDocumentation
 * @module chifa-terminal/pcsc
 */

export { ReaderMonitor, type MonitorEvents, type MonitorOptions, type ReaderInfo, type CardEvent } from './monitor';
export { PcscTransport, type PcscTransportOptions } from './transport';
export { listReaders } from './list';
export {
  PcscError,
  PcscUnavailableError,
  PcscNoServiceError,
  ReaderUnavailableError,
  NoCardError,
  SharingViolationError,
  CardResetError,
  CardUnresponsiveError,
  type PcscErrorCode,
} from './errors';
export type {
  PcscBackend,
  PcscContext,
  CardHandle,
  ConnectRequest,
  ReaderStatus,
  ReaderWatch,
  ShareMode,
  Protocol,
  Disposition,
} from './backend';
