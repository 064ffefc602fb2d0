import { timingSafeEqual, type KeyObject } from 'node:crypto';
import { PIN_BLOCK_LENGTH, PIN_REF, type AccessRule } from '../card/layout';
import type { Nvm, NvmWrite } from './nvm';

/**
 * PIN objects, access rules and the volatile security state (ISO 7816-4 §5.4, §11.5).
 *
 * A PIN object lives in NVM: [retries left, max retries, digit count, 00, PIN block (8 bytes)].
 * VERIFY decrements the counter in its own committed transaction *before* comparing, and only a
 * match resets it: cutting the power after the comparison can therefore never save a try (the
 * classic PIN-tearing attack).
 */

export interface PinDef {
  /** Reference data qualifier (P2 of VERIFY): 0x81 PIN, 0x82 PUK. */
  readonly ref: number;
  readonly label: string;
  /** Required number of digits. */
  readonly length: number;
  readonly maxTries: number;
}

const HEADER = 4;
export const PIN_REGION_SIZE = HEADER + PIN_BLOCK_LENGTH;

/**
 * ASCII digits padded with FF to 8 bytes (the layout's PIN block). Returns undefined when the
 * block is not well-formed (non-digit, digit after padding, no digit at all).
 */
export function parsePinBlock(block: Buffer): string | undefined {
  if (block.length !== PIN_BLOCK_LENGTH) return undefined;
  let digits = '';
  let padding = false;
  for (const b of block) {
    if (b === 0xff) padding = true;
    else if (b >= 0x30 && b <= 0x39 && !padding) digits += String.fromCharCode(b);
    else return undefined;
  }
  return digits.length > 0 ? digits : undefined;
}

export function pinBlock(digits: string): Buffer {
  if (!/^\d{1,8}$/.test(digits)) throw new Error('a PIN is 1 to 8 decimal digits');
  const out = Buffer.alloc(PIN_BLOCK_LENGTH, 0xff);
  out.write(digits, 'ascii');
  return out;
}

export class PinObject {
  constructor(
    readonly def: PinDef,
    private readonly nvm: Nvm,
    readonly region: string,
  ) {}

  get ref(): number {
    return this.def.ref;
  }

  get triesLeft(): number {
    return this.nvm.get(this.region)[0]!;
  }

  get maxTries(): number {
    return this.nvm.get(this.region)[1]!;
  }

  get blocked(): boolean {
    return this.triesLeft === 0;
  }

  /** Constant-time comparison of a presented block with the stored one. */
  matches(block: Buffer): boolean {
    const stored = this.nvm.get(this.region).subarray(HEADER, HEADER + PIN_BLOCK_LENGTH);
    return block.length === stored.length && timingSafeEqual(block, stored);
  }

  /** Whether a presented value has the right shape for this object (digit count). */
  acceptsFormat(block: Buffer): boolean {
    const digits = parsePinBlock(block);
    return digits !== undefined && digits.length === this.def.length;
  }

  stageDecrement(): NvmWrite[] {
    return [{ region: this.region, offset: 0, bytes: Buffer.from([Math.max(0, this.triesLeft - 1)]) }];
  }

  /** Counter back to its maximum, and optionally a new value. */
  stageReset(newBlock?: Buffer): NvmWrite[] {
    const writes: NvmWrite[] = [{ region: this.region, offset: 0, bytes: Buffer.from([this.maxTries]) }];
    if (newBlock) writes.push({ region: this.region, offset: HEADER, bytes: Buffer.from(newBlock) });
    return writes;
  }

  /** Initial contents (personalization). */
  static initial(def: PinDef, digits: string, triesLeft: number): Buffer {
    const out = Buffer.alloc(PIN_REGION_SIZE);
    out[0] = triesLeft;
    out[1] = def.maxTries;
    out[2] = digits.length;
    pinBlock(digits).copy(out, HEADER);
    return out;
  }
}

/** A professional certificate that PSO: VERIFY CERTIFICATE accepted. */
export interface VerifiedCertificate {
  readonly publicKey: KeyObject;
  /** The certificate subject's CN (the pharmacy identifier). */
  readonly subjectCn: string;
}

/** The fund's signing certificate that PSO: VERIFY CERTIFICATE accepted (its EKU says so). */
export interface VerifiedFundSigner {
  readonly publicKey: KeyObject;
  /** base64url SHA-256 of the certificate (DER): what a JWS names in `x5t#S256`. */
  readonly thumbprint: string;
}

/**
 * Volatile security state: cleared on reset, power-off and when another DF becomes current.
 */
export class SecurityState {
  /** PIN references verified in the current DF. */
  readonly verified = new Set<number>();
  /** Set by PSO: VERIFY CERTIFICATE; EXTERNAL AUTHENTICATE checks signatures against its key. */
  certificate: VerifiedCertificate | null = null;
  /** Set by a successful EXTERNAL AUTHENTICATE. */
  professional: VerifiedCertificate | null = null;
  /** Set by PSO: VERIFY CERTIFICATE with the fund's signing certificate; PUT DATA of signed rights checks against it. */
  fundSigner: VerifiedFundSigner | null = null;
  /** The last GET CHALLENGE answer, single-use. */
  challenge: Buffer | null = null;

  clear(): void {
    this.verified.clear();
    this.certificate = null;
    this.professional = null;
    this.fundSigner = null;
    this.challenge = null;
  }
}

/** Whether `rule` is met in `state` (ISO 7816-4 §5.4.3 access conditions, simplified to our four). */
export function accessAllowed(rule: AccessRule | undefined, state: SecurityState): boolean {
  switch (rule) {
    case 'always':
      return true;
    case 'pin':
      return state.verified.has(PIN_REF);
    case 'pin+professional':
      return state.verified.has(PIN_REF) && state.professional !== null;
    default:
      return false;
  }
}
