/**
 * The test kit for integrators: emulated cards and a reference fund that start in one call and
 * clean up after themselves, card images built in code, scripted faults, and transcript and
 * store assertions. It works the same under jest, vitest and node:test (failures are
 * `AssertionError`s; nothing depends on a runner's globals).
 *
 * ```ts
 * import { ChifaCard } from 'chifa-terminal';
 * import { startCard, insuredImage, tearNextAppend, expectTranscript, stopAll } from 'chifa-terminal/testing';
 *
 * const card = await startCard(insuredImage().holder({ lastName: 'TEST' }));
 * const chifa = await ChifaCard.open(card.transport);
 * // … your product's code against `chifa` …
 * await card.stop();                 // or stopAll() in afterAll / after
 * ```
 *
 * Everything here uses the TEST ONLY card images and keys shipped in the package's `fixtures/`.
 *
 * @packageDocumentation
 * @module chifa-terminal/testing
 */

export {
  startCard,
  pcscdRunning,
  type CardSource,
  type StartCardOptions,
  type StartedCardBase,
  type InProcessCard,
  type VpcdCard,
} from './start-card';
export { removeAt, tearNextAppend, tearNext, statusWord, latency, type CardFault } from './card-faults';
export {
  insuredImage,
  professionalImage,
  InsuredImageBuilder,
  ProfessionalImageBuilder,
  type HolderFields,
  type RightsFields,
  type BeneficiaryFields,
  type PharmacyFields,
} from './images';
export { expectTranscript, type HasTranscript } from './transcript';
export { startFund, type StartFundOptions, type TestFund, type ExpectedAudit, type FundClientOptions } from './start-fund';
export { stopAll } from './cleanup';
export {
  FIXTURE_CARDS,
  fixturePath,
  cardFixture,
  testKeys,
  testSigner,
  testFundVerifier,
  blacklistedSerials,
  type FixtureCard,
  type TestPharmacy,
} from './fixtures';
