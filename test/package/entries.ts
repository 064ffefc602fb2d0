import * as path from 'node:path';

/** The package's entry points: the `exports` key, and the source module behind it. */
export const ENTRIES = [
  { name: 'chifa-terminal', source: 'src/card/index.ts' },
  { name: 'chifa-terminal/pcsc', source: 'src/card/pcsc/index.ts' },
  { name: 'chifa-terminal/emulator', source: 'src/emulator/index.ts' },
  { name: 'chifa-terminal/billing', source: 'src/billing/index.ts' },
  { name: 'chifa-terminal/sync', source: 'src/sync/index.ts' },
  { name: 'chifa-terminal/fund', source: 'src/fund/index.ts' },
  { name: 'chifa-terminal/testing', source: 'src/testing/index.ts' },
] as const;

export const ROOT = path.resolve(__dirname, '../..');
