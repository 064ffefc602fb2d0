import type { KeyObject } from 'node:crypto';
import type { ParsedCommand } from '../card/apdu';
import type { P256SigningKey } from '../common/p256';
import type { Df, Ef } from './filesystem';
import type { Nvm } from './nvm';
import type { PinObject, SecurityState } from './security';
import type { CardWork } from './work';

/** How the card talks: transmission protocol and the length features it announces in its ATR. */
export interface CardOptions {
  /** T=0 answers '61xx' for response data of case 3/4 commands and '6Cxx' for a wrong Le (ISO 7816-3 §10.3). */
  readonly protocol: 'T=0' | 'T=1';
  /** Extended Lc/Le fields (ISO 7816-4 §5.1); off: such commands get '6700'. */
  readonly extendedLength: boolean;
  /** Command chaining (CLA b5, ISO 7816-4 §5.1.1.1); off: chained commands get '6884'. */
  readonly chaining: boolean;
  /** Journalled NVM writes (see nvm.ts); off only to show what tearing does without it. */
  readonly antiTearing: boolean;
}

export const DEFAULT_OPTIONS: CardOptions = { protocol: 'T=1', extendedLength: true, chaining: true, antiTearing: true };

/** What a command handler answers: response data (possibly empty) and a status word. */
export interface Reply {
  readonly data?: Buffer;
  readonly sw: number;
  /**
   * Response data that did not fit and that the terminal fetches with GET RESPONSE: the card
   * answers `data` with '61xx' instead of `sw` (ISO 7816-4 §5.3.4 response chaining), and the
   * last GET RESPONSE carries `sw`.
   */
  readonly more?: Buffer;
}

/** A parsed command as handlers see it: `ne` is always set (see os.ts for the defaults). */
export type Command = ParsedCommand & { readonly ne: number };

export interface CardKeys {
  /** Insured card: the fund CA's public key, against which professional certificates are checked. */
  readonly fundCa?: KeyObject;
  /** Professional card: the signing key (never leaves the card). */
  readonly signing?: KeyObject;
  /** The same key, ready to sign a digest (PSO: COMPUTE DIGITAL SIGNATURE). */
  readonly signingKey?: P256SigningKey;
}

/** Everything a command handler may touch. */
export interface CommandContext {
  readonly mf: Df;
  readonly currentDf: Df;
  readonly currentEf: Ef | undefined;
  /** Makes `df` current (and `ef`, if given); leaving a DF clears the security state. */
  select(df: Df, ef?: Ef): void;
  readonly security: SecurityState;
  readonly pins: ReadonlyMap<number, PinObject>;
  readonly nvm: Nvm;
  readonly options: CardOptions;
  readonly keys: CardKeys;
  /** GET DATA objects by tag. */
  readonly dataObjects: ReadonlyMap<number, Buffer>;
  /** What the current command does besides moving bytes (signatures; NVM writes are counted by the OS). */
  readonly work: CardWork;
  /** The card's clock (certificate validity). */
  now(): Date;
  random(n: number): Buffer;
}

export type Handler = (ctx: CommandContext, cmd: Command) => Reply;

export const ok = (data?: Buffer): Reply => (data ? { data, sw: 0x9000 } : { sw: 0x9000 });
export const sw = (code: number): Reply => ({ sw: code });

/**
 * Fits response data to Ne: data longer than Ne is not cut (the command's meaning would change);
 * the card answers '6Cxx' with the exact length instead (ISO 7816-4 §5.6), or '6700' if even
 * that cannot be expressed in one byte.
 */
export function fit(data: Buffer, ne: number, okSw = 0x9000): Reply {
  if (data.length <= ne) return { data, sw: okSw };
  if (data.length <= 256) return { sw: 0x6c00 | (data.length & 0xff) };
  return { sw: 0x6700 };
}
