import type { Command } from 'commander';
import { fromHex, parseCommand, toHex } from '../card/apdu';
import { PcscTransport } from '../card/pcsc';
import { swHex, swText } from '../card/status';
import { CardChannel } from '../card/transport/channel';
import type { TraceEvent } from '../card/transport/trace';
import { atrInfo, cardCommandFailed, chooseReader, UsageError } from './readers';

/**
 * `chifa apdu --reader NAME HEX...`: sends raw command APDUs, one per argument, and prints every
 * exchange on the wire and each answer's status meaning — like pcsc-tools' `scriptor`, for
 * integrators. The channel's processors do the T=0 work: '61xx' is followed by GET RESPONSE and
 * '6Cxx' re-issues the command with the right Le, and the wire lines show it. --raw turns that
 * off. VERIFY-like data is shown as '**'.
 */
export function register(program: Command): void {
  program
    .command('apdu')
    .description('send raw APDUs (hex, one per argument) to the card in a reader and print the answers')
    .argument('<hex...>', 'command APDUs in hex, e.g. 00A4040C0BD2130000014348494641 01 (quote one that has spaces)')
    .option('-r, --reader <name>', 'reader name (default: the only reader with a card)')
    .option('--shared', 'connect in shared mode (default: exclusive)')
    .option('--raw', 'no T=0 handling: print exactly what the card answers')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Example (SELECT the Chifa application, then READ BINARY of the holder file):
  chifa apdu --reader "Virtual PCD 00 00" 00A4040C0BD213000001434849464101 00B0810010`,
    )
    .action(async (hexes: string[], opts: { reader?: string; shared?: boolean; raw?: boolean; json?: boolean }) => {
      let transport: PcscTransport | undefined;
      try {
        const commands = hexes.map((h, i) => {
          try {
            const bytes = fromHex(h);
            parseCommand(bytes);
            return bytes;
          } catch (err) {
            throw new UsageError(`APDU ${i + 1} ("${h}"): ${(err as Error).message}`);
          }
        });
        const reader = await chooseReader(opts.reader);
        transport = await PcscTransport.connect(reader, { share: opts.shared ? 'shared' : 'exclusive' });
        const results: unknown[] = [];
        if (!opts.json) {
          const info = atrInfo(transport.atr);
          process.stdout.write(`reader ${reader}, ${transport.protocol}, ATR ${toHex(transport.atr, ' ')}${info ? ` (${info})` : ''}\n`);
        }
        let wire: TraceEvent[] = [];
        const channel = new CardChannel(transport, { trace: (e) => wire.push(e), capabilities: { extendedLength: true, chaining: false } });
        await transport.transaction(async () => {
          for (const cmd of commands) {
            wire = [];
            let resp: Buffer;
            if (opts.raw) {
              resp = await transport!.transmit(cmd);
              wire.push({ command: toHex(cmd), response: toHex(resp), ms: 0 });
            } else {
              // Sent as parsed so the processors see the APDU's case (T=0 GET RESPONSE, 6Cxx re-issue).
              const parsed = parseCommand(cmd);
              const r = await channel.transmit({ ...parsed, extended: parsed.extended });
              resp = r.toBytes();
            }
            const sw = resp.readUInt16BE(resp.length - 2);
            const data = resp.subarray(0, resp.length - 2);
            if (opts.json) {
              results.push({
                command: wire[0]?.command,
                wire: wire.map((w) => ({ command: w.command, response: w.response })),
                data: toHex(data),
                sw: swHex(sw),
                meaning: swText(sw),
              });
            } else {
              for (const w of wire) {
                process.stdout.write(`=> ${spaced(w.command)}\n`);
                if (w.response !== undefined) process.stdout.write(`<= ${spaced(w.response)}\n`);
              }
              if (wire.length > 1 && data.length > 0) process.stdout.write(`   data (${data.length} bytes): ${toHex(data, ' ')}\n`);
              process.stdout.write(`   ${swHex(sw)}: ${swText(sw)}\n`);
            }
          }
        });
        if (opts.json)
          process.stdout.write(
            JSON.stringify({ reader, protocol: transport.protocol, atr: toHex(transport.atr), exchanges: results }, null, 2) + '\n',
          );
      } catch (err) {
        cardCommandFailed('apdu', err);
      } finally {
        await transport?.close().catch(() => undefined);
      }
    });
}

/** Hex in byte pairs, redaction stars kept together. */
function spaced(hex: string): string {
  return hex.replace(/(..)(?=.)/g, '$1 ');
}
