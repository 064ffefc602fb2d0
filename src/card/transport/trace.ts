import { toHex } from '../apdu';
import type { CardTransport } from './transport';

/**
 * APDU tracing that never shows secrets: the data field of VERIFY ('20'), CHANGE REFERENCE DATA
 * ('24') and RESET RETRY COUNTER ('2C') carries PINs and PUKs, so it is replaced by '*' pairs of
 * the same length before any hook sees it.
 */
export const SECRET_INS: ReadonlySet<number> = new Set([0x20, 0x21, 0x24, 0x25, 0x2c, 0x2d]);

/** One exchange as a trace hook sees it, secrets already masked. */
export interface TraceEvent {
  /** Command bytes as hex, secrets redacted. */
  readonly command: string;
  /** Response bytes as hex, when one came. */
  readonly response?: string;
  /** The error thrown by the link, when one was. */
  readonly error?: Error;
  readonly ms: number;
}

/** Receives every exchange of a channel (ChannelOptions.trace). */
export type TraceHook = (event: TraceEvent) => void;

/** Whether this command's data field is secret (PIN / PUK bearing). */
export function isSecretCommand(command: Uint8Array): boolean {
  return command.length > 4 && SECRET_INS.has(command[1]!);
}

/**
 * Hex of a command with the data field of secret commands masked. Only the body after the
 * header is masked, including the length bytes' content; the header stays so traces still say
 * which PIN reference was used.
 */
export function redactCommand(command: Uint8Array): string {
  if (!isSecretCommand(command)) return toHex(command);
  const header = toHex(command.subarray(0, 4));
  const b4 = command[4]!;
  // Short form: Lc then data (and maybe Le); extended: 00 Lc1 Lc2 then data.
  if (b4 !== 0) return `${header}${toHex(command.subarray(4, 5))}${'**'.repeat(command.length - 5)}`;
  return `${header}${toHex(command.subarray(4, Math.min(7, command.length)))}${'**'.repeat(Math.max(0, command.length - 7))}`;
}

/** Wraps a transport so every exchange (including GET RESPONSE rounds) reaches the hook. */
export function tracedTransport(inner: CardTransport, hook: TraceHook): CardTransport {
  return {
    async transmit(command) {
      const start = performance.now();
      try {
        const resp = await inner.transmit(command);
        hook({ command: redactCommand(command), response: toHex(resp), ms: performance.now() - start });
        return resp;
      } catch (err) {
        hook({ command: redactCommand(command), error: err as Error, ms: performance.now() - start });
        throw err;
      }
    },
    close: inner.close ? () => inner.close!() : undefined,
  };
}
