import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AmountOverflowError,
  BillingError,
  CatalogueEncodingError,
  CatalogueImportError,
  CatalogueStore,
  computeSplit,
  formatDa,
  formatQuote,
  formatRate,
  importCatalogue,
  InvalidInputError,
  InvalidRulesError,
  loadRules,
  NoRulesInForceError,
  OverlappingRulesError,
  parseQuoteRequest,
  quote,
  REASONS,
  UnknownProductError,
} from '../../src/billing';
import { ChifaError } from '../../src/card';

/** chifa-terminal/billing as a POS vendor uses it: the catalogue, the rules, quotes, splits and their errors. */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-pkg-billing-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of a shipped rules file under another name, its version and start date changed. */
const rulesFile = (name: string, changes: Record<string, unknown>): void => {
  const shipped = JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/rules/2023-12-19.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'rules', name), JSON.stringify({ ...shipped, ...changes }));
};

describe('quotes and splits', () => {
  it('prices a prescription from the catalogue under the rules in force, and prints it', () => {
    const catalogue = CatalogueStore.open(dir);
    const rules = loadRules();
    const q = quote(
      parseQuoteRequest({ date: '2025-06-01', category: 'ordinary', lines: [{ code: 'N02BE01-01', quantity: 2 }] }),
      rules,
      (code) => catalogue.get(code),
    );
    expect(q).toMatchObject({ total: 10400, base: 9000, fund: 7200, patient: 3200, thirdPartyPayment: true, reason: null });
    expect(formatQuote(q)).toMatch(/Doliprane/);
    expect([formatDa(q.fund), formatRate(q.rateBp)]).toEqual(['72,00 DA', '80 %']);
    expect(() =>
      quote(parseQuoteRequest({ date: '2025-06-01', category: 'ordinary', lines: [{ code: 'NOPE', quantity: 1 }] }), rules, (c) =>
        catalogue.get(c),
      ),
    ).toThrow(UnknownProductError);
    catalogue.close();
  });

  it('the split says why the fund pays nothing; bad input and overflows are typed errors naming the field', () => {
    const rules = loadRules();
    const line = { code: 'X', quantity: 1, unitPrice: 1000, referencePrice: 1000, reimbursable: true, priorApproval: false };
    const s = computeSplit({ date: '2025-06-01', lines: [line] }, rules, { category: 'ordinary', blacklisted: true });
    expect([s.fund, s.reason, REASONS[s.reason!]]).toEqual([0, 'card-blacklisted', expect.stringMatching(/blacklist/)]);
    const bad = (() => {
      try {
        parseQuoteRequest({ date: '2025-02-30', category: 'ordinary', lines: [] });
      } catch (err) {
        return err;
      }
    })();
    expect(bad).toBeInstanceOf(InvalidInputError);
    expect(bad).toMatchObject({ field: 'date' });
    const huge = { ...line, unitPrice: Number.MAX_SAFE_INTEGER, quantity: 3 };
    expect(() => computeSplit({ date: '2025-06-01', lines: [huge] }, rules, { category: 'ordinary' })).toThrow(AmountOverflowError);
    expect(() => computeSplit({ date: '1990-01-01', lines: [line] }, rules, { category: 'ordinary' })).toThrow(NoRulesInForceError);
  });
});

describe('the catalogue and the rules as files', () => {
  it('imports a catalogue CSV all or nothing; a bad row is named', () => {
    const store = CatalogueStore.open(dir, { seed: false });
    const header = 'code,dci,brand,form,strength,unitPrice,referencePrice,reimbursable,priorApproval';
    expect(importCatalogue(store, `${header}\nT-1,Test,Brand,box,1 mg,1000,900,1,0\n`)).toMatchObject({ imported: 1, inserted: 1 });
    const err = (() => {
      try {
        importCatalogue(store, `${header}\nT-2,Test,Brand,box,1 mg,12.5,900,1,0\n`, { file: 'mine.csv' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CatalogueImportError);
    expect(err).toBeInstanceOf(BillingError);
    expect(store.count()).toBe(1);
    // A spreadsheet's CSV in the Windows code page, read as UTF-8: refused, naming where, nothing written.
    const latin1 = Buffer.from(`${header}\nT-3,Caf\xe9,Brand,box,1 mg,1000,900,1,0\n`, 'latin1');
    expect(() => importCatalogue(store, latin1)).toThrow(CatalogueEncodingError);
    expect(importCatalogue(store, latin1, { encoding: 'windows-1252' })).toMatchObject({ inserted: 1 });
    expect(store.get('T-3')?.dci).toBe('Café');
    store.close();
  });

  it('rules directories: a bad file and two overlapping versions are refused', () => {
    fs.mkdirSync(path.join(dir, 'rules'));
    rulesFile('a.json', { version: 'a', effectiveFrom: '2024-01-01' });
    rulesFile('b.json', { version: 'b', effectiveFrom: '2024-01-01' }); // the same day: which one is in force?
    expect(() => loadRules(path.join(dir, 'rules'))).toThrow(OverlappingRulesError);
    fs.writeFileSync(path.join(dir, 'rules', 'b.json'), '{ not json');
    const err = (() => {
      try {
        loadRules(path.join(dir, 'rules'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidRulesError);
    expect(err).toBeInstanceOf(ChifaError);
    expect((err as Error).message).toMatch(/^b\.json: not valid JSON/);
  });
});
