import type { Command } from 'commander';
import { register as registerCatalogue } from './catalogue';
import { register as registerQuote } from './quote';
import { register as registerReaders } from './readers';
import { register as registerApdu } from './apdu';
import { register as registerRead } from './read';
import { register as registerServe } from './serve';
import { register as registerJournal } from './journal';
import { register as registerSync } from './sync';
import { register as registerFund } from './fund';
import { register as registerEmulate } from './emulate';

/**
 * The list of sub-commands. Each module exports `register(program)`; add one line per command.
 */
export function registerCommands(program: Command): void {
  void program;
  registerQuote(program);
  registerCatalogue(program);
  registerReaders(program);
  registerApdu(program);
  registerRead(program);
  registerServe(program);
  registerJournal(program);
  registerSync(program);
  registerFund(program);
  registerEmulate(program);
}
