import type { CommandApdu, ResponseApdu } from '../apdu';
import { StatusWordError } from '../status';

/**
 * A command as a value (after gematik OpenHealthCardKit): the APDU to send and how to read its
 * answer. `decode` maps the status words the command expects to a typed result and throws
 * StatusWordError only for a status word that is truly unexpected.
 */
export interface Command<R> {
  /** The ISO name, for errors and traces, e.g. "READ RECORD". */
  readonly name: string;
  /** The command APDU to send. */
  readonly apdu: CommandApdu;
  /** Maps the response to the typed result; throws StatusWordError for an unexpected status word. */
  decode(response: ResponseApdu): R;
}

/** Builds a Command from an APDU and a status map; unmapped status words throw StatusWordError. */
export function command<R>(name: string, apdu: CommandApdu, map: (response: ResponseApdu) => R | undefined): Command<R> {
  return {
    name,
    apdu,
    decode(response) {
      const result = map(response);
      if (result === undefined) throw new StatusWordError(response.sw, name);
      return result;
    },
  };
}

/** Result kinds shared by many commands. */
export type Ok<T = object> = { kind: 'ok' } & T;
/** The card refused: the file's access rule is not met ('6982'). */
export type SecurityNotSatisfied = { kind: 'securityNotSatisfied' };
/** The file or application does not exist ('6A82'). */
export type NotFound = { kind: 'notFound' };

/** CLA of interindustry commands on the basic logical channel, no secure messaging (ISO 7816-4 §5.4.1). */
export const CLA = 0x00;
