import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

/**
 * DESIGN §2: the emulator is a separate card OS. It may import the shared layout constants and
 * the protocol basics (apdu, status, tlv, transport errors, errors) and the layer-neutral helpers
 * at the top of src/ (errors, a seeded PRNG, the field-path formatter), never the Chifa reader
 * code — if both sides shared the record codecs, a bug in them would pass every test.
 */
const ALLOWED = new Set(['layout', 'apdu', 'status', 'tlv', 'transport/transport', 'errors']);
const ALLOWED_TOP = new Set(['errors', 'prng', 'field-path']);

test('src/card/emulator imports nothing from the reader side', () => {
  const dir = path.join(ROOT, 'src/card/emulator');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(dir);
  expect(files.length).toBeGreaterThan(10);
  const bad: string[] = [];
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/from '([^']+)'/g)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) continue; // node: built-ins and packages
      const target = path.relative(path.join(ROOT, 'src/card'), path.resolve(path.dirname(f), spec)).replace(/\\/g, '/');
      if (target.startsWith('emulator/') || target === 'emulator') continue;
      const rootRel = path.relative(path.join(ROOT, 'src'), path.resolve(path.dirname(f), spec)).replace(/\\/g, '/');
      if (ALLOWED.has(target) || ALLOWED_TOP.has(rootRel)) continue;
      bad.push(`${path.relative(ROOT, f)} imports ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});
