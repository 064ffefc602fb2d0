import { SW } from '../status';
import { command, CLA, type Command } from './command';

/**
 * PERFORM SECURITY OPERATION (INS '2A', ISO 7816-8 §5.2 / §5.4 / §5.11). P1-P2 name the operation:
 * '9E9A' COMPUTE DIGITAL SIGNATURE (output: signature, input: data to be signed, here a digest),
 * '00BE' VERIFY CERTIFICATE (input: the certificate to check).
 */
export type SignResult = { kind: 'ok'; signature: Buffer } | { kind: 'securityNotSatisfied' } | { kind: 'wrongData' };

/** PSO: COMPUTE DIGITAL SIGNATURE over a 32-byte digest with the selected key. */
export function computeDigitalSignature(digest: Uint8Array): Command<SignResult> {
  return command('PSO: COMPUTE DIGITAL SIGNATURE', { cla: CLA, ins: 0x2a, p1: 0x9e, p2: 0x9a, data: digest, ne: 256 }, (r) => {
    if (r.ok) return { kind: 'ok', signature: r.data };
    if (r.sw === SW.SECURITY_STATUS_NOT_SATISFIED) return { kind: 'securityNotSatisfied' };
    if (r.sw === SW.WRONG_DATA || r.sw === SW.WRONG_LENGTH) return { kind: 'wrongData' };
    return undefined;
  });
}

const REJECTED: ReadonlySet<number> = new Set([
  SW.WRONG_DATA,
  SW.SECURITY_STATUS_NOT_SATISFIED,
  SW.CONDITIONS_OF_USE_NOT_SATISFIED,
  SW.VERIFICATION_FAILED,
]);

/** What PSO: VERIFY CERTIFICATE answers (`rejected` with the status word). */
export type VerifyCertificateResult = { kind: 'ok' } | { kind: 'rejected'; sw: number };

/** PSO: VERIFY CERTIFICATE: the card checks a DER certificate against the CA key it holds (chained when longer than one APDU). */
export function verifyCertificate(certificate: Uint8Array): Command<VerifyCertificateResult> {
  return command('PSO: VERIFY CERTIFICATE', { cla: CLA, ins: 0x2a, p1: 0x00, p2: 0xbe, data: certificate }, (r) => {
    if (r.ok) return { kind: 'ok' };
    // A refusal, whichever reason the card gives (the status word goes to the caller): a malformed
    // certificate, one not issued by a CA the card trusts, one expired or otherwise unusable, or a
    // signature that does not verify.
    if (REJECTED.has(r.sw)) return { kind: 'rejected', sw: r.sw };
    return undefined;
  });
}
