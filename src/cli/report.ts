import { errorDetails } from '../billing/errors';
import type { ChifaError } from '../common/errors';
import { capLines, clip } from '../common/display';

/**
 * How the CLI shows a deliberate error: `chifa <command>: <code>: <message>` on stderr, then
 * one detail line per bad row or field. The output is bounded whatever the input was: the
 * message and each detail are cut (they quote input values, which are already clipped where
 * they are built, but a remote party's message is not), and at most MAX_DETAILS details are
 * listed before `… and K more`.
 */

export const MAX_DETAILS = 20;
/** The longest line an error or problem shows, in code points. */
export const MAX_LINE = 500;

/** Writes the lines of a problem list to stderr, indented, at most MAX_DETAILS of them. */
export function writeProblems(lines: readonly string[]): void {
  for (const d of capLines(lines, MAX_DETAILS)) process.stderr.write(`  ${clip(d, MAX_LINE)}\n`);
}

/** Prints a deliberate error the house way and sets the exit status (2: bad input, the default). */
export function reportError(command: string, err: ChifaError, exitCode = 2): void {
  process.stderr.write(`chifa ${command}: ${err.code}: ${clip(err.message, MAX_LINE)}\n`);
  writeProblems(errorDetails(err));
  process.exitCode = exitCode;
}
