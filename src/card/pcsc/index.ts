/** PC/SC readers: monitor, transport, one-shot listing, typed errors, and the binding seam. */
export * from './backend';
export * from './errors';
export { ReaderMonitor, type MonitorEvents, type MonitorOptions, type ReaderInfo, type CardEvent } from './monitor';
export { PcscTransport, type PcscTransportOptions } from './transport';
export { listReaders } from './list';
export { PcscliteBackend, pcscliteBackend, loadPcsclite } from './binding';
