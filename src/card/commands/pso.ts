import { command, CLA, type Command } from './command';

/**
 * PERFORM SECURITY OPERATION (INS '2A', ISO 7816-8 §5.2 / §5.4 / §5.11). P1-P2 name the operation:
 * '9E9A' COMPUTE DIGITAL SIGNATURE (output: signature, input: data to be signed, here a digest),
 * '00BE' VERIFY CERTIFICATE (input: the certificate to check).
 */
export type SignResult = { kind: 'ok'; signature: Buffer } | { kind: 'securityNotSatisfied' } | { kind: 'wrongData' };

export function computeDigitalSignature(digest: Uint8Array): Command<SignResult> {
  return command('PSO: COMPUTE DIGITAL SIGNATURE', { cla: CLA, ins: 0x2a, p1: 0x9e, p2: 0x9a, data: digest, ne: 256 }, (r) => {
    if (r.ok) return { kind: 'ok', signature: r.data };
    if (r.sw === 0x6982) return { kind: 'securityNotSatisfied' };
    if (r.sw === 0x6a80 || r.sw === 0x6700) return { kind: 'wrongData' };
    return undefined;
  });
}

export type VerifyCertificateResult = { kind: 'ok' } | { kind: 'rejected'; sw: number };

export function verifyCertificate(certificate: Uint8Array): Command<VerifyCertificateResult> {
  return command('PSO: VERIFY CERTIFICATE', { cla: CLA, ins: 0x2a, p1: 0x00, p2: 0xbe, data: certificate }, (r) => {
    if (r.ok) return { kind: 'ok' };
    // '6A80' bad certificate, '6982' not issued by a trusted CA, '6985' expired or unusable.
    if (r.sw === 0x6a80 || r.sw === 0x6982 || r.sw === 0x6985 || r.sw === 0x6300) return { kind: 'rejected', sw: r.sw };
    return undefined;
  });
}
