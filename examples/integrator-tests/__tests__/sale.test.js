'use strict';
// The integrator's product (product/sale.js) under jest, against emulated cards and the
// reference fund from chifa-terminal/testing. Nothing here needs a reader or pcscd.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ChifaCard, ProfessionalCard } = require('chifa-terminal');
const { CatalogueStore } = require('chifa-terminal/billing');
const {
  startCard,
  startFund,
  insuredImage,
  tearNextAppend,
  expectTranscript,
  testSigner,
  testKeys,
  stopAll,
} = require('chifa-terminal/testing');
const { recordSale, uploadAll } = require('../product/sale');

const TODAY = '2025-07-01';
let dir;
let products;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'integrator-jest-'));
  const catalogue = CatalogueStore.open(dir);
  products = { paracetamol: catalogue.get('N02BE01-01'), cetirizine: catalogue.get('R06AE07-01') };
  catalogue.close();
});
afterEach(stopAll); // every card and fund a test started, even if it failed half-way
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Opens both cards the way the product's UI would: PINs verified, the holder's card read. */
async function openCards(insuredSource = 'demo') {
  const insured = await startCard(insuredSource);
  const pharmacist = await startCard('pharmacist-1');
  const card = await ChifaCard.open(insured.transport);
  const pro = await ProfessionalCard.open(pharmacist.transport);
  expect(await card.verifyPin('1234')).toEqual({ kind: 'ok' });
  expect(await pro.verifyPin('0000')).toEqual({ kind: 'ok' });
  const read = await card.readAll();
  if (read.kind !== 'ok') throw new Error(read.kind);
  return { insured, card, pro, cardData: read.data };
}

test('a sale is journaled, then written on the card (the transcript shows the APPEND RECORDs)', async () => {
  const { insured, card, pro, cardData } = await openCards(insuredImage().holder({ lastName: 'JEST' }));
  insured.clearTranscript();
  const journalFile = path.join(dir, 'sale.sqlite');
  const result = await recordSale({
    card,
    pro,
    journalFile,
    cardData,
    lines: [{ product: products.paracetamol, quantity: 2 }],
    date: TODAY,
  });
  expect(result).toEqual({ invoice: 1, written: 1, interrupted: false });
  expect((await card.readDispensations())[0]).toMatchObject({ invoiceNumber: 1, productCode: 'N02BE01-01', quantity: 2 });
  expectTranscript(
    insured,
    `
    # professional authentication: the certificate, a challenge, the pharmacist's answer
    => 002A00BE ..
    <= 9000
    => 0084000010
    <= .. 9000
    => 0082000040 ..
    <= 9000
    # one APPEND RECORD into EF.DISPENSATIONS (SFI 6)
    => 00E20030 ..
    <= 9000
    ...
    `,
  );
});

test('a card torn during the write: reported as interrupted, and the card keeps its old state', async () => {
  const { insured, card, pro, cardData } = await openCards();
  const before = await card.readDispensations();
  insured.inject(tearNextAppend()); // power lost before the record is written
  const result = await recordSale({
    card,
    pro,
    journalFile: path.join(dir, 'torn.sqlite'),
    cardData,
    lines: [{ product: products.cetirizine, quantity: 1 }],
    date: TODAY,
  });
  expect(result).toEqual({ invoice: 1, written: 0, interrupted: true });
  insured.transport.reconnect(); // the card powers up again and recovers
  const again = await ChifaCard.open(insured.transport);
  await again.verifyPin('1234');
  expect(await again.readDispensations()).toEqual(before);
});

test('a fund round trip through a failing network: every invoice stored exactly once', async () => {
  const fund = await startFund({ faults: '5xx=0.3,drop-after=0.3,seed=4' });
  const journalFile = path.join(dir, 'upload.sqlite');
  for (let i = 0; i < 3; i++) {
    const { card, pro, cardData } = await openCards();
    await recordSale({ card, pro, journalFile, cardData, lines: [{ product: products.paracetamol, quantity: 1 + i }], date: TODAY });
  }
  const summary = await uploadAll({ journalFile, signer: testSigner('pharmacy-1'), fundUrl: fund.url, fundCa: testKeys.fundCa });
  expect(summary.error).toBeNull();
  fund.expectAudit({ invoices: 3, accepted: 3, pharmacies: 1 });
});
