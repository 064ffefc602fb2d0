import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { encodeTlv, type TlvInput } from '../src/card/tlv';
import { Tags } from '../src/card/layout';
import { rawDecoders } from './_tlv-decoders';
import { medianOps, printTable } from './table';

/**
 * BER-TLV decoding: our strict decoder against the npm packages on the same input — 400
 * dispensation records as a card returns them (the dispensed-drugs ring, templates 'E5') — and
 * what each does with malformed input.
 */
function bcd(date: string): Buffer {
  return Buffer.from(date.replace(/-/g, ''), 'hex');
}
function uint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return Buffer.from(out);
}

export function realisticRecords(count = 400): Buffer {
  const t = Tags.dispensation;
  const nodes: TlvInput[] = [];
  for (let i = 0; i < count; i++) {
    const day = String(1 + (i % 28)).padStart(2, '0');
    nodes.push({
      tag: t.template,
      children: [
        { tag: t.date, value: bcd(`2025-${String(1 + (i % 12)).padStart(2, '0')}-${day}`) },
        { tag: t.pharmacyId, value: Buffer.from('PH160042') },
        { tag: t.rank, value: uint(1 + (i % 4)) },
        { tag: t.productCode, value: Buffer.from(`N${String(10000 + i * 7).slice(0, 5)}`) },
        { tag: t.quantity, value: uint(1 + (i % 3)) },
        { tag: t.durationDays, value: uint(30) },
        { tag: t.invoiceNumber, value: uint(100000 + i) },
        { tag: t.prescriptionRef, value: uint(5000 + (i >> 2)) },
      ],
    });
  }
  return encodeTlv(nodes);
}

const MALFORMED: [string, string][] = [
  ['length 84 80000000 (10 bytes)', '8084800000000000000000'.slice(0, 20)],
  ['truncated value', '80050102'],
  ['child beyond parent', 'E10480050102'],
  ['indefinite length', 'E180800101' + '0000'],
  ['non-minimal length 81 05', '8081050102030405'],
  ['runaway tag bytes', '9F81818181010000'],
  ['trailing garbage byte', '80010012'],
];

function probe(decoder: string, hex: string): string {
  const script = path.join(__dirname, '_tlv-probe.js');
  const r = spawnSync(process.execPath, ['--max-old-space-size=128', script, decoder, hex], { timeout: 4000, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return 'HANG (killed after 4 s)';
  if (r.status !== 0) return /heap|memory/i.test(r.stderr) ? 'CRASH: out of memory' : `CRASH (exit ${r.status ?? r.signal})`;
  try {
    const { outcome, detail } = JSON.parse(r.stdout.trim()) as { outcome: string; detail: string };
    return outcome === 'error' ? `error: ${detail}` : `ACCEPTED: ${detail}`;
  } catch {
    return `no answer (${r.stdout.slice(0, 40)})`;
  }
}

export async function run(): Promise<void> {
  const input = realisticRecords(400);
  const names = Object.keys(rawDecoders);
  const rates = new Map<string, number>();
  for (const name of names) {
    const fn = rawDecoders[name]!;
    rates.set(
      name,
      medianOps(() => fn(input), 5, 400, 400),
    );
  }
  const ours = rates.get('chifa (ours)')!;
  const fastestPkg = Math.max(...names.filter((n) => n !== 'chifa (ours)').map((n) => rates.get(n)!));
  printTable(
    `BER-TLV decode: 400 dispensation records (${input.length} bytes), records/s, median of 5`,
    ['decoder', 'records/s', 'ours ÷ this'],
    names.map((n) => [n, rates.get(n)!, `${(ours / rates.get(n)!).toFixed(1)}x`]),
  );
  process.stdout.write(`\nours vs the fastest package: ${(ours / fastestPkg).toFixed(1)}x (target: faster than all, aim 10x)\n`);
  printTable(
    'BER-TLV malformed input: what each decoder does (separate process, 4 s / 128 MB limit)',
    ['input', ...names],
    MALFORMED.map(([label, hex]) => [label, ...names.map((n) => probe(n, hex))]),
  );
}
