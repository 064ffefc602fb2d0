import type { Command } from 'commander';
import { toHex } from '../card/apdu';
import { ChifaCard, type CardData, type FullReadResult } from '../card/chifa';
import { CategoryCode } from '../card/layout';
import { PcscTransport } from '../card/pcsc';
import type { CardTransport } from '../card/transport/transport';
import { ChifaError } from '../common/errors';
import { maskId } from '../common/log';
import { pinFromPrompt, pinFromStdin } from './pin-input';
import { atrInfo, cardCommandFailed, chooseReader } from './readers';
import { reportError } from './report';

/**
 * `chifa read --reader NAME [--pin-stdin] [--json]`: reads the whole insured card — holder,
 * beneficiaries, rights, emergency data, prescriptions, dispensed drugs. The PIN comes from the
 * first line of stdin (--pin-stdin) or a prompt that does not echo; never from the command line,
 * where it would sit in the shell history and the process list. A wrong PIN is reported with the
 * tries left and never retried.
 */
export function register(program: Command): void {
  program
    .command('read')
    .description('read the whole insured card in a reader (PIN from stdin or a prompt, never argv)')
    .option('-r, --reader <name>', 'reader name (default: the only reader with a card)')
    .option('--pin-stdin', 'read the PIN from the first line of standard input')
    .option('--no-pin', 'read only what needs no PIN (the holder)')
    .option('--json', 'print the card as JSON')
    .option('--shared', 'connect in shared mode (default: exclusive)')
    .addHelpText(
      'after',
      `
Examples:
  chifa read --reader "ACS ACR39U ICC Reader 00 00"            # asks for the PIN without echo
  echo 1234 | chifa read --reader "Virtual PCD 00 00" --pin-stdin --json   # the demo card of chifa emulate
  chifa read --no-pin                                          # the holder only`,
    )
    .action(async (opts: { reader?: string; pinStdin?: boolean; pin?: boolean; json?: boolean; shared?: boolean }) => {
      let transport: PcscTransport | undefined;
      try {
        const reader = await chooseReader(opts.reader);
        let pin: string | undefined;
        if (opts.pin !== false)
          pin = opts.pinStdin ? await pinFromStdin() : await pinFromPrompt({ otherwise: 'pipe it with --pin-stdin, or use --no-pin' });
        transport = await PcscTransport.connect(reader, { share: opts.shared ? 'shared' : 'exclusive' });
        const counting = countApdus(transport);
        const start = performance.now();
        const card = await ChifaCard.open(counting);
        const result: FullReadResult | undefined = pin === undefined ? undefined : await card.readAll({ pin });
        pin = undefined;
        const ms = performance.now() - start;
        const meta = {
          reader,
          protocol: transport.protocol,
          atr: toHex(transport.atr),
          capabilities: card.capabilities,
          apdus: counting.count,
          ms: Math.round(ms),
        };
        if (result && result.kind !== 'ok') {
          const refused =
            result.kind === 'blocked'
              ? new ChifaError('pin-blocked', 'the PIN is blocked: unblock it with the PUK')
              : new ChifaError('wrong-pin', `wrong PIN, ${result.retriesLeft} ${result.retriesLeft === 1 ? 'try' : 'tries'} left`);
          reportError('read', refused, 1);
          return;
        }
        if (opts.json) {
          const body = result ? result.data : { holder: card.holder };
          process.stdout.write(JSON.stringify({ ...meta, ...body }, null, 2) + '\n');
        } else {
          process.stdout.write(formatCard(meta, result ? result.data : undefined, card));
        }
      } catch (err) {
        cardCommandFailed('read', err);
      } finally {
        await transport?.close().catch(() => undefined);
      }
    });
}

function countApdus(inner: PcscTransport): CardTransport & { count: number; capabilities: PcscTransport['capabilities']; atr: Buffer } {
  const t = {
    count: 0,
    capabilities: inner.capabilities,
    atr: inner.atr,
    transmit: (cmd: Buffer) => {
      t.count++;
      return inner.transmit(cmd);
    },
    transaction: <T>(fn: () => Promise<T>) => inner.transaction(fn),
  };
  return t;
}

function formatCard(
  meta: { reader: string; protocol: string; atr: string; apdus: number; ms: number },
  data: CardData | undefined,
  card: ChifaCard,
): string {
  const h = card.holder;
  const lines: string[] = [];
  const info = atrInfo(Buffer.from(meta.atr, 'hex')).replace(/^T=[0-9/]+(, )?/, '');
  lines.push(`reader      ${meta.reader} (T=${meta.protocol.slice(1)}${info ? `, ${info}` : ''})`);
  lines.push(`holder      ${h.lastName} ${h.firstName} — ${h.lastNameAr} ${h.firstNameAr}`);
  lines.push(
    `            SSN ${maskId(h.ssn)}, born ${h.birthDate}; ${h.cardType} card ${h.cardSerial}, valid ${h.issueDate} to ${h.expiryDate}`,
  );
  if (data) {
    const r = data.rights;
    lines.push(
      `rights      ${r.fund}, category ${categoryName(r.categoryCode)}, ${r.rateBp / 100} %, until ${r.rightsEnd}${r.chronic.length ? `; chronic: ${r.chronic.map((c) => `${c.code} (to ${c.validUntil})`).join(', ')}` : ''}${r.sequence > 0 ? `; updated by the fund on ${r.issuedOn ?? '?'} (version ${r.sequence})` : ''}`,
    );
    for (const b of data.beneficiaries)
      lines.push(`  rank ${String(b.rank).padEnd(2)} ${b.relationship.padEnd(9)} ${b.lastName} ${b.firstName}, born ${b.birthDate}`);
    const e = data.emergency;
    lines.push(
      `emergency   blood ${e.bloodGroup ?? '?'}; allergies: ${e.allergies.join(', ') || 'none'}; conditions: ${e.conditions.join(', ') || 'none'}`,
    );
    lines.push(`prescriptions (${data.prescriptions.length}, newest first)`);
    for (const p of data.prescriptions.slice(0, 10)) {
      lines.push(
        `  ${p.date} ${p.reference.padEnd(10)} rank ${p.rank} ${p.prescriberId} (${p.speciality}): ${p.lines.map((l) => `${l.productCode} x${l.quantity} ${l.durationDays}d`).join(', ')}`,
      );
    }
    if (data.prescriptions.length > 10) lines.push(`  … ${data.prescriptions.length - 10} more (--json for all)`);
    lines.push(`dispensations (${data.dispensations.length}, newest first)`);
    for (const d of data.dispensations.slice(0, 10)) {
      lines.push(
        `  ${d.date} ${d.productCode.padEnd(12)} x${d.quantity} ${String(d.durationDays).padStart(3)}d rank ${d.rank} ${d.pharmacyId} invoice ${d.invoiceNumber}${d.prescriptionRef ? ` (${d.prescriptionRef})` : ''}`,
      );
    }
    if (data.dispensations.length > 10) lines.push(`  … ${data.dispensations.length - 10} more (--json for all)`);
  } else {
    lines.push('(no PIN given: only the holder is readable)');
  }
  lines.push(`read in ${meta.apdus} APDUs, ${meta.ms} ms`);
  return lines.join('\n') + '\n';
}

/** A card category code with the name the layout's table gives it (the rules may call it otherwise). */
function categoryName(code: number): string {
  const name = Object.entries(CategoryCode).find(([, c]) => c === code)?.[0];
  return name !== undefined ? `${code} (${name})` : String(code);
}
