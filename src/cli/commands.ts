import type { Command } from 'commander';
import { register as registerCatalogue } from './catalogue';
import { register as registerQuote } from './quote';

/**
 * The list of sub-commands. Each module exports `register(program)`; add one line per command.
 */
export function registerCommands(program: Command): void {
  void program;
  registerQuote(program);
  registerCatalogue(program);
}
