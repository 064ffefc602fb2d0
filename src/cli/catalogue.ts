import * as fs from 'node:fs';
import type { Command } from 'commander';
import { parseCatalogueEncoding, type CatalogueEncoding } from '../billing/catalogue/encoding';
import { importCatalogue } from '../billing/catalogue/import';
import { CatalogueStore } from '../billing/catalogue/store';
import { formatRowProblem, BillingError } from '../billing/errors';
import { ChifaError } from '../common/errors';
import { quoteClipped } from '../common/display';
import { formatDa } from '../billing/money';
import { databasePath, resolveDataDir } from '../common/paths';
import { reportError, writeProblems } from './report';

/**
 * `chifa catalogue import FILE.csv [--skip-bad] [--encoding E]` and `chifa catalogue show CODE [--json]`.
 * Import is all or nothing: any bad row is listed (line, column) and nothing is written, unless
 * `--skip-bad` imports the good rows and lists the rest. The file is UTF-8 (a byte that is not
 * stops the import) unless `--encoding windows-1252` says it was saved in the Windows code page.
 */
export function register(program: Command): void {
  const cat = program.command('catalogue').description('the drug catalogue (nomenclature and reference tariffs)');

  cat
    .command('import <file>')
    .description(
      'import or update products from a CSV file (code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval[,gtin])',
    )
    .addHelpText(
      'after',
      `
The header row names the columns, in any order; gtin is optional (8, 12, 13 or 14 digits).
Prices are integer centimes (250.00 DA is 25000; an empty referencePrice: no reference tariff);
reimbursable and priorApproval are 1/0 or true/false. docs/split.md, "The catalogue".

Example:
  chifa catalogue import tariffs.csv --encoding windows-1252 --skip-bad`,
    )
    .option('--skip-bad', 'import the good rows and list the bad ones instead of importing nothing')
    .option('--encoding <name>', "the file's character encoding: utf-8 (default), windows-1252 or latin1 (the same)", 'utf-8')
    .option('--data <dir>', 'data directory holding chifa.sqlite (default: $CHIFA_DATA or ./var)')
    .action((file: string, opts: { skipBad?: boolean; encoding: string; data?: string }) => {
      let bytes: Buffer;
      let encoding: CatalogueEncoding;
      try {
        encoding = parseCatalogueEncoding(opts.encoding, '--encoding');
        bytes = readFile(file);
      } catch (err) {
        if (!(err instanceof ChifaError)) throw err;
        reportError('catalogue import', err);
        return;
      }
      const dataDir = resolveDataDir(opts.data);
      // No sample seeding here: an empty database that imports its own catalogue keeps only that.
      const store = CatalogueStore.open(dataDir, { seed: false });
      try {
        const r = importCatalogue(store, bytes, { file, skipBad: opts.skipBad === true, encoding });
        process.stdout.write(
          `imported ${r.imported} product${r.imported === 1 ? '' : 's'} (${r.inserted} new, ${r.updated} updated) into ${databasePath(dataDir)}\n`,
        );
        if (r.skipped.length > 0) {
          const lines = new Set(r.skipped.map((p) => p.line)).size;
          process.stderr.write(`skipped ${lines} bad row${lines === 1 ? '' : 's'}:\n`);
          writeProblems(r.skipped.map(formatRowProblem));
        }
      } catch (err) {
        if (!(err instanceof ChifaError)) throw err;
        reportError('catalogue import', err);
      } finally {
        store.close();
      }
    });

  cat
    .command('show <code>')
    .description('show one product')
    .option('--json', 'print JSON (prices in integer centimes)')
    .option('--data <dir>', 'data directory holding chifa.sqlite (default: $CHIFA_DATA or ./var)')
    .action((code: string, opts: { json?: boolean; data?: string }) => {
      const store = CatalogueStore.open(resolveDataDir(opts.data));
      try {
        const p = store.get(code);
        if (!p) {
          reportError('catalogue show', new BillingError('unknown-product', `unknown product code ${quoteClipped(code)}`, 'code'));
          return;
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify(p, null, 2) + '\n');
          return;
        }
        process.stdout.write(
          [
            `${p.code}  ${p.brand} ${p.strength}`.trimEnd(),
            `  DCI:              ${p.dci}`,
            `  form:             ${p.form}`,
            `  sale price:       ${formatDa(p.unitPrice)}`,
            `  reference tariff: ${p.referencePrice === null ? 'none' : formatDa(p.referencePrice)}`,
            `  reimbursable:     ${p.reimbursable ? 'yes' : 'no'}`,
            `  prior approval:   ${p.priorApproval ? 'required' : 'no'}`,
            `  GTIN:             ${p.gtin ?? 'none'}`,
          ].join('\n') + '\n',
        );
      } finally {
        store.close();
      }
    });
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new BillingError('unreadable-file', `${file}: ${(err as Error).message}`, 'file');
  }
}
