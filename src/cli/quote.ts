import type { Command } from 'commander';
import { CatalogueStore } from '../billing/catalogue/store';
import { BillingError } from '../billing/errors';
import { ChifaError } from '../common/errors';
import { resolveDataDir } from '../common/paths';
import { quote } from '../billing/quote';
import { formatQuote } from '../billing/quote-format';
import { parseQuoteRequestJson } from '../billing/quote-request';
import { loadRules } from '../billing/rules/load';
import { reportError } from './report';

/**
 * `chifa quote [--json]`: reads a quote request (JSON) on stdin and prints the third-party-payment
 * split. Bad input → `chifa quote: <code>: <message>` on stderr and exit status 2.
 */
export function register(program: Command): void {
  program
    .command('quote')
    .description('split a prescription between the fund and the patient (request as JSON on stdin; amounts in centimes)')
    .option('--json', 'print the split as JSON (integer centimes) instead of a table')
    .option('--data <dir>', 'data directory holding chifa.sqlite (default: $CHIFA_DATA or ./var)')
    .option('--rules <dir>', 'rules directory (default: the shipped fixtures/rules)')
    .addHelpText(
      'after',
      `
The request (docs/split.md, "chifa quote"): {"date", "category", "lines": [...]} and, optionally,
"cardExpiry", "rightsEnd", "blacklisted", "beneficiary": {"category", "rightsEnd"}, "prescription",
"prescriptionHistory": [{"reference", "date"}]. A line names a catalogue "code" or gives its own
"unitPrice" (centimes), with "quantity" and optionally "referencePrice", "reimbursable",
"priorApproval", "approval", "durationDays", "prescribed": {"quantity", "alreadyDispensed"},
"replaces": {"code" | "referencePrice"} (generic substitution).
A bad request exits 2 naming the field (lines[0].quantity: ...).

Example:
  echo '{"date":"2025-06-01","category":"ordinary","lines":[{"code":"N02BE01-01","quantity":2}]}' | chifa quote`,
    )
    .action(async (opts: { json?: boolean; data?: string; rules?: string }) => {
      let store: CatalogueStore | undefined;
      try {
        if (process.stdin.isTTY) {
          throw new BillingError('no-input', 'expects a quote request as JSON on stdin (see docs/split.md)');
        }
        const request = parseQuoteRequestJson(await readStdin());
        const rules = loadRules(opts.rules);
        const result = quote(request, rules, (code) => {
          // Open (and if need be seed) the catalogue only when a line names a code.
          store ??= CatalogueStore.open(resolveDataDir(opts.data));
          return store.get(code);
        });
        process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatQuote(result));
      } catch (err) {
        if (!(err instanceof ChifaError)) throw err;
        reportError('quote', err);
      } finally {
        store?.close();
      }
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
