import { createHash } from 'node:crypto';
import { computeDigitalSignature, internalAuthenticate, selectAid, verify, verifyStatus } from '../commands';
import { PIN_REF, PRO_SIGN_KEY_REF, PROFESSIONAL_AID, ProfessionalFiles } from '../layout';
import type { CardSession } from '../transport/channel';
import type { CardTransport } from '../transport/transport';
import type { ChifaCard, ProfessionalAuthenticator } from './card';
import { decodePharmacy } from './decode';
import { AccessDeniedError, CardDataError, CardProtocolError, NotAChifaCardError } from './errors';
import { objectExtent, readTransparent } from './files';
import { Link, type LinkOptions } from './link';
import { pinBlock, pinResult, pinStatusOf, retriesLeftOf, wipe } from './pin';
import type { PinResult, PinStatus, ProfessionalAuthResult } from './results';
import type { PharmacyIdentity } from './types';

/** ECDSA P-256 raw signature r‖s. */
const SIGNATURE_LENGTH = 64;
const DIGEST_LENGTH = 32;

const NO_PIN = 'VERIFY: the professional card has no PIN';

/**
 * The health professional's (pharmacist's) card: the pharmacy's identity, its X.509 certificate
 * from the fund's CA, and an ECDSA P-256 key that never leaves the card. It signs SHA-256 digests
 * (PSO: COMPUTE DIGITAL SIGNATURE, for invoices) and answers the insured card's challenge
 * (INTERNAL AUTHENTICATE) so that the insured card accepts writes. Both need its PIN.
 */
export class ProfessionalCard implements ProfessionalAuthenticator {
  private constructor(
    private readonly link: Link,
    readonly identity: PharmacyIdentity,
    /** DER, exactly the certificate's bytes (the file's padding is not included). */
    readonly certificate: Buffer,
  ) {}

  /** Selects the professional application and reads the identity and certificate (no PIN needed). */
  static async open(transport: CardTransport, options: LinkOptions = {}): Promise<ProfessionalCard> {
    const link = new Link(transport, options);
    const { identity, certificate } = await link.atomic(async (s) => {
      const r = await s.run(selectAid(PROFESSIONAL_AID, 'none'));
      if (r.kind === 'notFound') throw new NotAChifaCardError('professional');
      const id = decodePharmacy(await readTransparent(s, ProfessionalFiles.identity, { capabilities: link.capabilities }));
      const certFile = await readTransparent(s, ProfessionalFiles.certificate, { capabilities: link.capabilities });
      return { identity: id, certificate: certificateOf(certFile) };
    });
    return new ProfessionalCard(link, identity, certificate);
  }

  /** base64url SHA-256 of the certificate (the JWS `x5t#S256`). */
  get keyId(): string {
    return createHash('sha256').update(this.certificate).digest('base64url');
  }

  /** Presents the pharmacist's PIN once (never retried); the string goes nowhere but the card. */
  async verifyPin(pin: string): Promise<PinResult> {
    const block = pinBlock(pin);
    try {
      return await this.link.atomic(async (s) => pinResult(await s.run(verify(PIN_REF, block)), NO_PIN));
    } finally {
      wipe(block);
    }
  }

  /** The PIN's state without spending a try. */
  async pinStatus(): Promise<PinStatus> {
    const r = await this.link.atomic((s) => s.run(verifyStatus(PIN_REF)));
    return pinStatusOf(r, NO_PIN);
  }

  /** Tries left before the PIN blocks. */
  async pinRetriesLeft(): Promise<number> {
    return retriesLeftOf(await this.pinStatus());
  }

  /** Signs a 32-byte SHA-256 digest on the card; returns the raw 64-byte r‖s. Needs the PIN. */
  signDigest(digest: Buffer): Promise<Buffer> {
    if (digest.length !== DIGEST_LENGTH) throw new RangeError(`a SHA-256 digest is ${DIGEST_LENGTH} bytes, got ${digest.length}`);
    return this.link.atomic(async (s) => {
      const r = await s.run(computeDigitalSignature(digest));
      if (r.kind === 'securityNotSatisfied')
        throw new AccessDeniedError('pin-required', 'the professional card signs only after its PIN is verified');
      if (r.kind !== 'ok') throw new CardProtocolError(`PSO: COMPUTE DIGITAL SIGNATURE: ${r.kind}`);
      return checkSignature(r.signature, 'PSO: COMPUTE DIGITAL SIGNATURE');
    });
  }

  /** Answers an insured card's challenge (INTERNAL AUTHENTICATE, key 01). Needs the PIN. */
  internalAuthenticate(challenge: Buffer): Promise<Buffer> {
    return this.link.atomic((s) => this.answer(s, challenge));
  }

  /** Runs the professional authentication on `insured` (see ChifaCard.authenticateProfessional). */
  authenticate(insured: ChifaCard): Promise<ProfessionalAuthResult> {
    return insured.authenticateProfessional(this);
  }

  /** Releases the transport. */
  close(): Promise<void> {
    return this.link.close();
  }

  private async answer(s: CardSession, challenge: Buffer): Promise<Buffer> {
    const r = await s.run(internalAuthenticate(challenge, PRO_SIGN_KEY_REF));
    if (r.kind === 'securityNotSatisfied')
      throw new AccessDeniedError('pin-required', 'the professional card authenticates only after its PIN is verified');
    if (r.kind !== 'ok') throw new CardProtocolError(`INTERNAL AUTHENTICATE: ${r.kind}`);
    return checkSignature(r.response, 'INTERNAL AUTHENTICATE');
  }
}

function checkSignature(sig: Buffer, command: string): Buffer {
  if (sig.length !== SIGNATURE_LENGTH)
    throw new CardProtocolError(`${command} returned ${sig.length} bytes, expected a ${SIGNATURE_LENGTH}-byte r‖s`);
  return sig;
}

/** The certificate's DER bytes out of EF.CERTIFICATE (a DER SEQUENCE followed by padding). */
function certificateOf(file: Buffer): Buffer {
  const at = { file: ProfessionalFiles.certificate.name, field: 'certificate' };
  if (file[0] !== 0x30) throw new CardDataError({ ...at, offset: 0 }, 'not a DER certificate (expected a SEQUENCE, tag 30)');
  const extent = objectExtent(file);
  if (!extent || extent > file.length)
    throw new CardDataError({ ...at, offset: 1 }, `certificate length ${extent ?? '?'} runs past the ${file.length} bytes of the file`);
  return Buffer.from(file.subarray(0, extent));
}
