import * as fs from 'node:fs';
import * as path from 'node:path';
import { Journal } from '../../src/sync/journal/journal';
import { key, sampleDraft, signer, tmpDir } from '../sync/helpers';
import { chifa, expectUsageError, requireBuild } from './run-chifa';

/**
 * `chifa journal …` and `chifa sync` given a journal that is not one: not SQLite, truncated, an
 * empty file, none. Each says so in one typed line and exits 2, and none changes the file.
 * Before: `chifa: file is not a database` / `database disk image is malformed` with exit 1 and no
 * code; an empty journal.sqlite was silently made a new journal by `journal status` and `sync`;
 * `journal verify` without a journal printed "journal BROKEN … Keep this file" (exit 1).
 */

let dir: string;
const KEY = ['--key', key('pharmacy-1.key.pem'), '--cert', key('pharmacy-1.cert.pem')];

beforeAll(async () => {
  requireBuild();
  dir = tmpDir('chifa-cli-journal-');
  const j = Journal.open(path.join(dir, 'good', 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 2 } });
  await j.appendMany([sampleDraft(1), sampleDraft(2), sampleDraft(3)]);
  await j.closeOpenBatch();
  await j.close();
  fs.mkdirSync(path.join(dir, 'garbage'));
  fs.writeFileSync(path.join(dir, 'garbage', 'journal.sqlite'), Buffer.from('this is not SQLite '.repeat(300)));
  fs.mkdirSync(path.join(dir, 'truncated'));
  fs.writeFileSync(
    path.join(dir, 'truncated', 'journal.sqlite'),
    fs.readFileSync(path.join(dir, 'good', 'journal.sqlite')).subarray(0, 20_000),
  );
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.writeFileSync(path.join(dir, 'empty', 'journal.sqlite'), '');
});

test.each([
  ['garbage', 'journal-unreadable', ['is not a readable journal (file is not a database)', 'check --data', 'chifa journal verify']],
  ['truncated', 'journal-unreadable', ['database disk image is malformed', 'check --data']],
  ['empty', 'not-a-journal', ['an empty file', 'check --data']],
  ['missing', 'no-journal', ['does not exist', 'use --data']],
])('journal status, rejected, show on a %s journal: %s, exit 2', async (which, code, mentions) => {
  const commands = [['status'], ['rejected'], ['show', '1']];
  const runs = await Promise.all(commands.map((args) => chifa(['journal', ...args, '--data', which], dir)));
  runs.forEach((r, i) => expectUsageError(r, `journal ${commands[i]![0]}`, code, mentions));
  // Nothing was written: the empty file is still empty.
  if (which === 'empty') expect(fs.statSync(path.join(dir, 'empty', 'journal.sqlite')).size).toBe(0);
});

test('journal verify without a journal: no-journal, exit 2 (a journal that is there but broken is exit 1)', async () => {
  expectUsageError(await chifa(['journal', 'verify', '--data', 'missing'], dir), 'journal verify', 'no-journal', ['use --data']);
  const broken = await chifa(['journal', 'verify', '--data', 'garbage'], dir);
  expect([broken.code, broken.stdout.split('\n')[0]]).toEqual([1, `journal BROKEN: ${path.join(dir, 'garbage', 'journal.sqlite')}`]);
});

test.each([
  ['garbage', 'journal-unreadable'],
  ['truncated', 'journal-unreadable'],
  ['empty', 'not-a-journal'],
])('sync with a %s journal: %s, exit 2, the file untouched', async (which, code) => {
  const file = path.join(dir, which, 'journal.sqlite');
  const before = fs.readFileSync(file);
  const r = await chifa(['sync', '--once', '--no-downlink', '--fund', 'http://127.0.0.1:9', '--data', which, ...KEY], dir);
  expectUsageError(r, 'sync', code);
  expect(fs.readFileSync(file).equals(before)).toBe(true);
});

test('an unknown sub-command, option or a missing argument: exit 2, like any bad input (was 1)', async () => {
  const runs = await Promise.all([
    chifa(['journal', 'frobnicate'], dir),
    chifa(['journal', 'status', '--no-such-option'], dir),
    chifa(['journal', 'show'], dir),
    chifa(['sync', '--fund'], dir),
  ]);
  expect(runs.map((r) => [r.code, /\n\s+at /.test(r.stderr)])).toEqual(runs.map(() => [2, false]));
  // Help is not a mistake.
  expect((await chifa(['journal', '--help'], dir)).code).toBe(0);
});
