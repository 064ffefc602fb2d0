import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CardImageError, parseCardImage } from '../../src/emulator/image-schema';
import { personalizeFile } from '../../src/emulator/personalize';
import { VirtualCard } from '../../src/emulator/virtual-card';
import { CARDS, cardPath } from './helpers';

const demo = (): Record<string, unknown> & { holder: Record<string, unknown>; beneficiaries: Record<string, unknown>[] } =>
  JSON.parse(fs.readFileSync(cardPath('demo'), 'utf8'));

function errorOf(fn: () => unknown): CardImageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CardImageError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('card images', () => {
  test('every image in fixtures/cards validates and personalizes', () => {
    const names = fs.readdirSync(CARDS).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const n of names) expect(() => personalizeFile(path.join(CARDS, n))).not.toThrow();
  });

  test('errors name the field path', () => {
    const bad = demo();
    bad.holder.ssn = '12345';
    const e = errorOf(() => parseCardImage(bad, 'x.json'));
    expect(e.field).toBe('holder.ssn');
    expect(e.message).toMatch(/x\.json: holder\.ssn: expected 12 digits/);
    const b2 = demo();
    b2.beneficiaries[2]!.birthDate = '2012-02-30';
    expect(errorOf(() => parseCardImage(b2, 'x')).field).toBe('beneficiaries[2].birthDate');
    const b3 = demo();
    (b3 as Record<string, unknown>).colour = 'blue';
    expect(errorOf(() => parseCardImage(b3, 'x')).message).toMatch(/colour: unknown field/);
    const b4 = demo();
    b4.beneficiaries[1]!.rank = 1;
    expect(errorOf(() => parseCardImage(b4, 'x')).message).toMatch(/rank 1 is used twice|only rank 1/);
    const b5 = demo();
    b5.kind = 'bank';
    expect(errorOf(() => parseCardImage(b5, 'x')).field).toBe('kind');
    const b6 = demo();
    b6.pin = '12345';
    expect(errorOf(() => parseCardImage(b6, 'x')).field).toBe('pin');
  });

  test('a record that does not fit names the record', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-img-'));
    try {
      const img = demo() as unknown as Record<string, unknown> & { dispensations: Record<string, unknown>[] };
      img.fundCa = path.resolve(CARDS, '../keys/fund-ca.pem');
      img.dispensations[1]!.prescriptionRef = 'RX0000000000';
      img.dispensations[1]!.pharmacyId = 'DZ16-PH-0000001';
      img.dispensations[1]!.productCode = 'N02BE01-01-LONG';
      const file = path.join(dir, 'big.json');
      fs.writeFileSync(file, JSON.stringify(img));
      const e = errorOf(() => personalizeFile(file));
      expect(e.field).toBe('dispensations[1]');
      expect(e.message).toMatch(/more than the 64 bytes of EF.DISPENSATIONS/);
      // Missing key file: named.
      img.fundCa = 'nowhere.pem';
      img.dispensations.splice(1, 1);
      fs.writeFileSync(file, JSON.stringify(img));
      expect(errorOf(() => personalizeFile(file)).field).toBe('fundCa');
      fs.writeFileSync(file, '{');
      expect(errorOf(() => personalizeFile(file)).message).toMatch(/not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a professional image whose key does not match its certificate is refused', () => {
    const img = JSON.parse(fs.readFileSync(cardPath('pharmacist-1'), 'utf8')) as Record<string, unknown>;
    img.privateKey = '../keys/pharmacy-2.key.pem';
    expect(() => VirtualCard.fromImageObject(img, CARDS)).toThrow(/privateKey: does not match/);
    img.privateKey = '../keys/pharmacy-1.key.pem';
    (img.pharmacy as Record<string, unknown>).pharmacyId = 'DZ99-PH-99999';
    expect(() => VirtualCard.fromImageObject(img, CARDS)).toThrow(/certificate is for DZ16-PH-00001/);
  });

  test('the blacklisted card is on fixtures/blacklist.json, the others are not', () => {
    const list = JSON.parse(fs.readFileSync(path.join(CARDS, '../blacklist.json'), 'utf8')) as { cards: { cardSerial: string }[] };
    const serial = (n: string) =>
      (JSON.parse(fs.readFileSync(cardPath(n), 'utf8')) as { holder: { cardSerial: string } }).holder.cardSerial;
    const serials = list.cards.map((c) => c.cardSerial);
    expect(serials).toContain(serial('blacklisted'));
    for (const n of ['demo', 'chronic', 'full-rings', 'pin-blocked', 'expired', 'no-extended', 't0'])
      expect(serials).not.toContain(serial(n));
  });

  test('the PIN-blocked image is blocked, the others are not', () => {
    expect(VirtualCard.fromImage(cardPath('pin-blocked')).triesLeft()).toBe(0);
    expect(VirtualCard.fromImage(cardPath('demo')).triesLeft()).toBe(3);
  });
});
