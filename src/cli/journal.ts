import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ChifaError } from '../common/errors';
import { capLines, clip, quoteClipped } from '../common/display';
import { maskId } from '../common/log';
import { CatalogueStore } from '../billing/catalogue/store';
import { formatDa } from '../billing/money';
import { resolveDataDir } from '../common/paths';
import { Journal, type JournalOptions } from '../sync/journal/journal';
import { verifyJournal } from '../sync/journal/verify';
import { MAX_DETAILS, MAX_LINE, reportError } from './report';

/**
 * `chifa journal verify | status | rejected | show N` — the signed invoice journal
 * (DATA/journal.sqlite). `verify` rechecks every signature and link from the bytes on disk and
 * names the first break; it never changes the file. Exit codes: 0 fine, 1 a problem was found,
 * 2 bad usage or unreadable journal.
 */

export function journalFile(dataOption?: string): string {
  return path.join(resolveDataDir(dataOption), 'journal.sqlite');
}

function fail(cmd: string, err: unknown): void {
  if (!(err instanceof ChifaError)) throw err;
  reportError(`journal ${cmd}`, err);
}

function noJournal(file: string): ChifaError {
  return new ChifaError('no-journal', `${file} does not exist (use --data DIR or CHIFA_DATA)`);
}

/**
 * A journal SQLite cannot read (not a database, truncated, corrupt) as the typed error it is;
 * undefined for any other error.
 */
export function unreadableJournal(file: string, err: unknown): ChifaError | undefined {
  if (!(err instanceof Database.SqliteError)) return undefined;
  return new ChifaError(
    'journal-unreadable',
    `${file} is not a readable journal (${clip(err.message, 120)}): check --data; keep the file, and run \`chifa journal verify\``,
    { cause: err },
  );
}

/**
 * Opens the journal of the data directory. A command that reads or uploads it never creates
 * one, nor turns a file that is not a journal (empty, another database) into one: the file is
 * looked at read-only first.
 */
export function openExistingJournal(dataOption?: string, options: JournalOptions = {}): Journal {
  const file = journalFile(dataOption);
  if (!fs.existsSync(file)) throw noJournal(file);
  let isJournal: boolean;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      isJournal = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get() === 1;
    } finally {
      db.close();
    }
  } catch (err) {
    throw unreadableJournal(file, err) ?? err;
  }
  if (!isJournal)
    throw new ChifaError(
      'not-a-journal',
      `${file} is not a journal (${fs.statSync(file).size === 0 ? 'an empty file' : 'a database without the journal tables'}): check --data`,
    );
  try {
    return Journal.open(file, options);
  } catch (err) {
    throw unreadableJournal(file, err) ?? err;
  }
}

/**
 * Runs `use` on the existing journal and closes it; a journal that cannot be opened or read is
 * reported as `cmd`'s usage error.
 */
function withJournal(cmd: string, dataOption: string | undefined, use: (j: Journal) => void): void {
  let j: Journal;
  try {
    j = openExistingJournal(dataOption);
  } catch (err) {
    return fail(cmd, err);
  }
  try {
    use(j);
  } catch (err) {
    fail(cmd, unreadableJournal(j.file, err) ?? err);
  } finally {
    void j.close();
  }
}

export function register(program: Command): void {
  const journal = program
    .command('journal')
    .description('the signed invoice journal: verify it, see the backlog and the rejected invoices');
  const dataOpt = '--data <dir>';
  const dataHelp = 'data directory holding journal.sqlite (default: $CHIFA_DATA or ./var)';

  journal
    .command('verify')
    .description('check every invoice signature, hash and chain link, every batch manifest; name the first break')
    .option(dataOpt, dataHelp)
    .option('--json', 'print the report as JSON')
    .action((opts: { data?: string; json?: boolean }) => {
      const file = journalFile(opts.data);
      if (!fs.existsSync(file)) return fail('verify', noJournal(file));
      // The catalogue beside the journal says which products are controlled: their register entries are then checked line by line.
      const r = verifyJournal(file, { controlled: CatalogueStore.controlledCodes(path.dirname(file)) });
      if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else if (r.ok) {
        process.stdout.write(
          `journal OK: ${r.file}\n  pharmacy ${r.pharmacyId ?? '(empty)'}, ${r.invoices} invoices, ${r.batches} batches, chain intact up to ${r.lastNumber} (${r.lastHash})\n`,
        );
      } else {
        process.stdout.write(`journal BROKEN: ${r.file}\n`);
        if (r.firstBreak)
          process.stdout.write(`  first break: invoice ${r.firstBreak.number}: ${r.firstBreak.code}: ${r.firstBreak.message}\n`);
        for (const line of capLines(
          r.problems.map((p) => `- ${p.code}: ${clip(p.message, MAX_LINE)}`),
          MAX_DETAILS,
        ))
          process.stdout.write(`  ${line}\n`);
        process.stdout.write('  Nothing was changed. Keep this file and a copy; do not try to repair it.\n');
      }
      process.exitCode = r.ok ? 0 : 1;
    });

  journal
    .command('status')
    .description('the sync backlog and the batches')
    .option(dataOpt, dataHelp)
    .option('--json', 'print JSON')
    .action((opts: { data?: string; json?: boolean }) => {
      withJournal('status', opts.data, (j) => {
        const b = j.backlog();
        const batches = j.batches();
        if (opts.json) {
          process.stdout.write(JSON.stringify({ backlog: b, batches }, null, 2) + '\n');
          return;
        }
        const counts = new Map<string, number>();
        for (const x of batches) counts.set(x.state, (counts.get(x.state) ?? 0) + 1);
        process.stdout.write(
          `pharmacy ${b.pharmacyId ?? '(empty)'}: ${b.invoices} invoices (last ${b.lastNumber})\n` +
            `  open batch: ${b.openInvoices} invoices${b.openSince ? ` since ${b.openSince}` : ''}\n` +
            `  to send: ${b.unsentBatches} batches, ${b.unsentInvoices} invoices${b.oldestUnsentClosedAt ? ` (oldest closed ${b.oldestUnsentClosedAt})` : ''}\n` +
            `  batches: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}\n` +
            `  rejected invoices awaiting correction: ${b.rejectedPending}\n`,
        );
        const failing = batches.filter((x) => x.lastError && (x.state === 'closed' || x.state === 'sent'));
        for (const x of failing.slice(0, 5)) process.stdout.write(`  batch ${x.id}: ${x.attempts} failed attempts, last: ${x.lastError}\n`);
        const refused = batches.filter((y) => y.manifestRefused !== null);
        for (const x of capLines(
          refused.map(
            (y) =>
              `batch ${y.id}: the fund refused its manifest's certificate (${clip(y.manifestRefused!.code, MAX_LINE)}); ` +
              'the next `chifa sync` or counter sync with a certificate the fund accepts signs a new manifest',
          ),
          MAX_DETAILS,
        ))
          process.stdout.write(`  ${x}\n`);
      });
    });

  journal
    .command('rejected')
    .description('invoices the fund rejected, with the reason, for the pharmacist to correct')
    .option(dataOpt, dataHelp)
    .option('--all', 'also list those already corrected')
    .option('--json', 'print JSON')
    .action((opts: { data?: string; all?: boolean; json?: boolean }) => {
      withJournal('rejected', opts.data, (j) => {
        const list = j.rejectedInvoices({ pendingOnly: opts.all !== true });
        if (opts.json) {
          process.stdout.write(
            JSON.stringify(
              list.map((r) => ({ ...r, cardSerial: maskId(r.cardSerial) })),
              null,
              2,
            ) + '\n',
          );
          return;
        }
        if (list.length === 0) {
          process.stdout.write('no rejected invoice awaiting correction\n');
          return;
        }
        for (const r of list) {
          process.stdout.write(
            `invoice ${r.number} (${r.date}, ${r.fund}, card ${maskId(r.cardSerial)}, fund share ${formatDa(r.fundAmount)}): ${clip(r.code, MAX_LINE)}\n    ${clip(r.reason, MAX_LINE)}\n` +
              (r.correctedBy !== null ? `    corrected by invoice ${r.correctedBy}\n` : ''),
          );
        }
      });
    });

  journal
    .command('show <number>')
    .description("print one signed invoice (decoded) and the fund's answer")
    .option(dataOpt, dataHelp)
    .option('--jws', 'print the compact JWS as stored')
    .action((n: string, opts: { data?: string; jws?: boolean }) => {
      if (!/^\d+$/.test(n)) {
        process.stderr.write(`chifa journal show: invalid-input: number: expected an invoice number, got ${quoteClipped(n)}\n`);
        process.exitCode = 2;
        return;
      }
      withJournal('show', opts.data, (j) => {
        const inv = j.invoice(Number(n));
        if (!inv) {
          process.stderr.write(`chifa journal show: no invoice ${n}\n`);
          process.exitCode = 1;
          return;
        }
        if (opts.jws) process.stdout.write(inv.jws + '\n');
        else process.stdout.write(JSON.stringify({ hash: inv.hash, ack: inv.ack, document: inv.document }, null, 2) + '\n');
      });
    });
}
