import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blacklistSchema } from '../../src/sync/downlink/format';
import { DownlinkFiles } from '../../src/fund/downlink';
import { defaultBlacklistJson } from '../../src/common/paths';

const SERIAL = 'CH2-2022-009999'; // fixtures/cards/blacklisted.json

test('the shipped test blacklist is a valid downlink document', () => {
  const doc = blacklistSchema.parse(JSON.parse(fs.readFileSync(defaultBlacklistJson(), 'utf8')));
  expect(doc.cards.map((c) => c.cardSerial)).toContain(SERIAL);
});

test('the fund serves the shipped blacklist until DATA/downlink/blacklist.json exists', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-downlink-'));
  const files = new DownlinkFiles(dir, undefined, 0);
  expect(files.isBlacklisted(SERIAL, '2025-06-01')).toBe(true);
  expect(files.isBlacklisted(SERIAL, '2025-05-31')).toBe(false); // `since` is the first refused day
  expect(files.get('blacklist')!.body.toString()).toContain(SERIAL);
  fs.mkdirSync(path.join(dir, 'downlink'));
  fs.writeFileSync(path.join(dir, 'downlink', 'blacklist.json'), JSON.stringify({ version: 'own', cards: [] }));
  expect(files.isBlacklisted(SERIAL, '2025-06-01')).toBe(false);
  expect(
    new DownlinkFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-downlink-')), undefined, 0, false).isBlacklisted(SERIAL, '2025-06-01'),
  ).toBe(false);
});
