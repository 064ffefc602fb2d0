/**
 * The card emulator: a virtual ISO/IEC 7816-4 card OS that behaves like the Chifa cards — the
 * same files, PIN counters, professional authentication, T=0 or T=1, extended length or not,
 * anti-tearing writes — with faults on demand. Use it in-process through
 * {@link InProcessTransport}, or put it into pcscd's virtual reader with {@link VpcdBridge}.
 *
 * ```ts
 * import { ChifaCard } from 'chifa-terminal';
 * import { VirtualCard, InProcessTransport } from 'chifa-terminal/emulator';
 *
 * const card = VirtualCard.fromImage(require.resolve('chifa-terminal/fixtures/cards/demo.json'));
 * const chifa = await ChifaCard.open(new InProcessTransport(card));
 * ```
 *
 * All card images, keys and certificates shipped in `fixtures/` are TEST ONLY data.
 * For test suites, `chifa-terminal/testing` wraps this entry in helpers that clean up after
 * themselves.
 *
 * @packageDocumentation
 * @module chifa-terminal/emulator
 */

export { VirtualCard, type VirtualCardOptions, type Exchange } from './virtual-card';
export { InProcessTransport, type InProcessTransportOptions } from './in-process-transport';
export type { CardTimingModel, TimingMeter, ExchangeCost, LinkRate } from './timing';
export { TimingProfileError, type TimingProfile } from './timing-profile';
export type { FaultScript, FaultTarget, TearSpec, RemovalPhase } from './faults';
export { VpcdBridge, vpcdReaderName, VPCD_PORT, type VpcdBridgeOptions } from './vpcd';
export { parseCardImage, CardImageError, type CardImage, type InsuredImage, type ProfessionalImage } from './image-schema';
export { CardStateFileError, type CardSnapshot } from './state';
export type { CardOptions } from './context';
