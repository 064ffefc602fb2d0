import { CatalogueStore } from '../../../src/billing/catalogue/store';
import { openDatabase } from '../../../src/common/db';
import { CatalogueSearch } from '../../../src/pos/counter/catalogue-search';

const store = new CatalogueStore(openDatabase(':memory:'));
store.seedIfEmpty();
const search = new CatalogueSearch(store);

test('by code prefix, DCI word or brand word, without accents or case', () => {
  expect(search.search('N02BE01-0', 50).every((p) => p.code.startsWith('N02BE01-0'))).toBe(true);
  const parac = search.search('parac', 100);
  expect(parac.length).toBeGreaterThan(5);
  expect(parac.every((p) => /parac/i.test(p.dci.normalize('NFD').replace(/[\u0300-\u036f]/g, '')) || /parac/i.test(p.brand))).toBe(true);
  expect(search.search('CLAMOX').map((p) => p.brand)).toContain('Clamoxyl');
  // Several words must all match: the codeine combination, not plain paracetamol.
  expect(search.search('paracetamol codeine').map((p) => p.dci)).toEqual(expect.arrayContaining(['Codéine + paracétamol']));
  expect(search.search('paracetamol codeine').every((p) => p.dci === 'Codéine + paracétamol')).toBe(true);
});

test('limits, empty query, no match', () => {
  expect(search.search('a', 3)).toHaveLength(3);
  expect(search.search('   ')).toEqual([]);
  expect(search.search('zzzzzz')).toEqual([]);
});

test('sees products imported after it was built', () => {
  expect(search.search('Nouveauproduit')).toEqual([]);
  store.upsertMany([
    {
      code: 'X99-01',
      dci: 'Testine',
      brand: 'Nouveauproduit',
      form: 'sirop',
      strength: '',
      unitPrice: 100,
      referencePrice: null,
      reimbursable: false,
      priorApproval: false,
    },
  ]);
  expect(search.search('nouveaup').map((p) => p.code)).toEqual(['X99-01']);
});
