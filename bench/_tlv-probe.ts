/**
 * Runs one TLV decoder on one input in its own process (bench/tlv.ts spawns it with a time and
 * memory limit, because some packages loop forever or exhaust the heap on malformed input).
 * argv: <decoder> <hex>. Prints one JSON line: { outcome: 'value' | 'error', detail }.
 */
import { decoders } from './_tlv-decoders';

const [name, hex] = process.argv.slice(2);
const decode = decoders[name ?? ''];
if (!decode || hex === undefined) {
  process.stderr.write('usage: _tlv-probe <decoder> <hex>\n');
  process.exit(2);
}
try {
  const summary = decode(Buffer.from(hex, 'hex'));
  process.stdout.write(JSON.stringify({ outcome: 'value', detail: summary }) + '\n');
} catch (e) {
  const err = e as Error & { code?: string; offset?: number };
  const detail = err.code && err.offset !== undefined ? `${err.code} @${err.offset}` : String(err.message).slice(0, 38);
  process.stdout.write(JSON.stringify({ outcome: 'error', detail }) + '\n');
}
