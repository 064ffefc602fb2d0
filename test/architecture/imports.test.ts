import * as path from 'node:path';
import { checkImports, readSources } from '../support/import-rules';

const SRC = path.resolve(__dirname, '../../src');

test('every import in src/ runs along the table in docs/contributing.md', () => {
  const files = readSources(SRC);
  expect(files.length).toBeGreaterThan(150);
  expect(checkImports(files)).toEqual([]);
});

describe('the checker itself', () => {
  const file = (p: string, text: string) => ({ path: p, text });

  test.each([
    ['sync/invoice.ts', "import { split } from '../pos/counter/service';", 'sync may not import pos'],
    ['billing/split.ts', "import type { Invoice } from '../sync/invoice';", 'billing may not import sync'],
    ['card/apdu.ts', "export { VirtualCard } from '../emulator/virtual-card';", 'card may not import emulator'],
    ['fund/store.ts', "const x = require('../pos/http/app');", 'fund may not import pos'],
    ['common/log.ts', "const m = await import('../card/apdu');", 'common may not import card'],
    ['emulator/os.ts', "import { decode } from '../card/chifa/decode';", 'the emulator may not import the reader side (card/chifa/decode)'],
    ['emulator/os.ts', "import { PcscTransport } from '../card/pcsc';", 'the emulator may not import the reader side (card/pcsc)'],
    ['emulator/os.ts', "import { ChifaCard } from '../card';", 'the emulator may not import the reader side (card)'],
    ['pos/x.ts', "import { y } from '../../bench/table';", 'imports from outside src/'],
  ])('%s: %s is refused', (p, text, reason) => {
    expect(checkImports([file(p, text)])).toEqual([expect.objectContaining({ file: p, reason })]);
  });

  test.each([
    ['emulator/os.ts', "import { INSURED_AID } from '../card/layout';"],
    ['pos/counter/service.ts', "import { Journal } from '../../sync/journal/journal';"],
    ['cli/main.ts', "import { startFund } from '../fund/server';"],
    ['sync/invoice.ts', "import { splitBasket } from '../billing/split';\nimport * as fs from 'node:fs';"],
  ])('%s: %s is allowed', (p, text) => {
    expect(checkImports([file(p, text)])).toEqual([]);
  });

  test('a file outside every part is named', () => {
    expect(checkImports([file('stray.ts', '')])).toEqual([expect.objectContaining({ file: 'stray.ts' })]);
  });
});
