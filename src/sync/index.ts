/**
 * The signed invoice journal and its way to the fund: invoices built from the split, signed
 * (ES256 JWS) by the professional card or a software key, chained by hash, grouped in signed
 * batches, uploaded with idempotency keys and retries; the fund's downlink (blacklist, rules,
 * catalogue) fetched back.
 *
 * ```ts
 * import { Journal, Uploader, RequestAuthenticator, FundVerifier, draftFromSplit } from 'chifa-terminal/sync';
 *
 * const journal = Journal.open('./var/journal.sqlite', { signer });
 * await journal.append(draftFromSplit({ split, basket, context, fund: 'CNAS', beneficiary }));
 * await journal.closeOpenBatch();
 * const auth = new RequestAuthenticator(signer); // each request signed by the pharmacist's card
 * const verifier = FundVerifier.fromFiles(['fund-ca.pem']); // the fund's answers checked against its CA
 * await new Uploader(journal, { fund: 'https://fund.example', auth, verifier }).runOnce();
 * ```
 *
 * See docs/sync.md for the formats and the guarantees.
 *
 * @packageDocumentation
 * @module chifa-terminal/sync
 */

export {
  Journal,
  type JournalOptions,
  type AppendOptions,
  type AppendedInvoice,
  type BatchPolicy,
  type BatchState,
  type BatchInfo,
  type Backlog,
  type RejectedInvoice,
  type SignedProof,
  type BankPayment,
  type BankPaymentInput,
  type PaymentSource,
  type RecordedNotice,
} from './journal/journal';
export type { InvoiceAck } from './journal/queries';
export { verifyJournal, type JournalReport, type JournalProblem, type VerifyOptions } from './journal/verify';
export { Uploader, type UploaderOptions, type RetryPolicy, type SyncProgress, type SyncSummary } from './uploader';
export { fundEndpoint, type FundEndpoint, type EndpointOptions } from './http';
export { RequestAuthenticator, type SignerAccess, type RequestAuthOptions } from './request-auth';
export { FundVerifier, type VerifiedAnswer } from './fund-verifier';
export { SoftwareSigner, certificateThumbprint, type Signer } from './signer';
export { TrustStore, type TrustedCertificate } from './trust';
export {
  draftFromSplit,
  checkDraft,
  type Fund,
  type InvoiceKind,
  type InvoiceLine,
  type InvoiceItem,
  type CardContext,
  type Totals,
  type InvoiceReference,
  type InvoiceDraft,
  type InvoiceDocument,
} from './invoice';
export type { BatchManifest, CloseReason, FundTotals } from './manifest';
export type { UploadBody, InvoiceResult, BatchAck, PaymentNotice, PaymentAdjustment } from './protocol';
export { DownlinkStore, refreshDownlink, type DownlinkResult, type DownlinkOptions } from './downlink/client';
export { BlacklistStore } from './downlink/blacklist';
export type { DownlinkName } from './downlink/format';
export { SyncError, JournalError, CertificateError } from './errors';
export { InvalidInvoiceError } from './invoice-check';
