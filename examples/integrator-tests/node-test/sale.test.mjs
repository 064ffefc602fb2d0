// The integrator's product (product/sale.js) under node:test, as an ES module: the same kit,
// no jest. node --test exits only when nothing is left open, so a leaked card or fund shows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ChifaCard, ProfessionalCard, CardRemovedError } from 'chifa-terminal';
import { CatalogueStore } from 'chifa-terminal/billing';
import { startCard, startFund, insuredImage, removeAt, statusWord, expectTranscript, stopAll, testKeys } from 'chifa-terminal/testing';

const { recordSale, uploadAll } = createRequire(import.meta.url)('../product/sale.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrator-node-test-'));
const catalogue = CatalogueStore.open(dir);
const paracetamol = catalogue.get('N02BE01-01');
catalogue.close();
after(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a blocked PIN is refused without spending anything', async () => {
  const c = await startCard(insuredImage().blockedPin());
  const card = await ChifaCard.open(c.transport);
  assert.deepEqual(await card.verifyPin('1234'), { kind: 'blocked' });
  expectTranscript(c, '...\n=> 0020008108 ** ** ** ** ** ** ** **\n<= 6983\n');
  await c.stop();
});

test('a card pulled at the second APDU: the SDK says card-removed', async () => {
  const c = await startCard('chronic', { faults: [removeAt(2)] });
  await assert.rejects(ChifaCard.open(c.transport), CardRemovedError);
  assert.equal(c.card.inserted, false);
  await c.stop();
});

test('a memory failure answered by the card surfaces as a typed error', async () => {
  const c = await startCard('demo');
  const card = await ChifaCard.open(c.transport);
  c.inject(statusWord(0x6581)); // the next APDU answers 6581 (memory failure)
  await assert.rejects(card.verifyPin('1234'), (err) => err.code === 'status-word' && err.sw === 0x6581);
  await c.stop();
});

test('a sale uploaded to the fund over HTTPS, audited', async () => {
  const fund = await startFund({ tls: true });
  const insured = await startCard('demo');
  const pharmacist = await startCard('pharmacist-1');
  const card = await ChifaCard.open(insured.transport);
  const pro = await ProfessionalCard.open(pharmacist.transport);
  await card.verifyPin('1234');
  await pro.verifyPin('0000');
  const read = await card.readAll();
  assert.equal(read.kind, 'ok');
  const journalFile = path.join(dir, 'journal.sqlite');
  const sale = await recordSale({
    card,
    pro,
    journalFile,
    cardData: read.data,
    lines: [{ product: paracetamol, quantity: 1 }],
    date: '2025-07-01',
  });
  assert.deepEqual(sale, { invoice: 1, written: 1, interrupted: false });
  const { professionalCardSigner } = await import('chifa-terminal');
  const summary = await uploadAll({
    journalFile,
    signer: professionalCardSigner(pro),
    fundUrl: fund.url,
    fundCa: testKeys.fundCa,
    ca: fund.ca,
  });
  assert.equal(summary.accepted, 1);
  const audit = fund.expectAudit({ invoices: 1, accepted: 1 });
  assert.equal(audit.pharmacies[0].pharmacyId, 'DZ16-PH-00001');
  await Promise.all([insured.stop(), pharmacist.stop(), fund.stop()]);
});
