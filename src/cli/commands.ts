import type { Command } from 'commander';

/**
 * The list of sub-commands. Each module exports `register(program)`; add one line per command.
 */
export function registerCommands(program: Command): void {
  void program;
}
