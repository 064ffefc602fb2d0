import type { DfDef } from './filesystem';
import type { PinDef } from './security';

/**
 * The structure of one emulated card: its file tree, PIN objects, keys and GET DATA objects.
 * Plain data (hex and base64 strings) so it can be written to and read from a state file; the
 * bytes of files and PIN counters are in NVM regions, next to it in the state.
 */
export interface CardDefinition {
  readonly kind: 'insured' | 'professional' | 'custom';
  /** For people: which image it came from, e.g. "demo". */
  readonly label: string;
  readonly mf: DfDef;
  /** PIN objects of the application (references 81 PIN, 82 PUK). */
  readonly pins: readonly PinDef[];
  readonly keys: {
    /** Insured card: the fund CA's public key, DER SubjectPublicKeyInfo, base64. */
    readonly fundCaSpki?: string;
    /** Professional card: its private key, DER PKCS#8, base64. Card secret: never logged. */
    readonly signingKeyPkcs8?: string;
  };
  /** GET DATA objects: tag (hex, e.g. "5A") to value (hex). */
  readonly dataObjects: Readonly<Record<string, string>>;
}
