#!/usr/bin/env node
'use strict';
// A point of sale's checkout, end to end, on the public SDK (against the package's emulated
// cards, TEST ONLY data; swap the transports for PcscTransport.connect(reader) to use real ones):
//
//   1. the insured person's card: open it, verify the holder's PIN, read it;
//   2. the pharmacist's card: open it, verify the PIN;
//   3. price the newest prescription on the card: catalogue prices, rules in force, the card's rights;
//   4. sign the invoice with the pharmacist's card and make it durable in the journal;
//   5. write the dispensed products on the insured card (after the professional authentication);
//   6. print the receipt, check the journal.
//
//   node checkout.js [DATA_DIR]       (default: a new temporary directory)
//
// The invoice is in the journal before the card is written: if the card is pulled during the
// write, the invoice is not lost and the shop knows which records to complete or cancel.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ChifaCard, ProfessionalCard, professionalCardSigner, AppendInterruptedError } = require('chifa-terminal');
const { VirtualCard, InProcessTransport } = require('chifa-terminal/emulator');
const { CatalogueStore, loadRules, computeSplit, formatDa, REASONS } = require('chifa-terminal/billing');
const { Journal, BlacklistStore, draftFromSplit, verifyJournal } = require('chifa-terminal/sync');

const HOLDER_PIN = '1234'; // the demo card's; a real counter reads it from the PIN pad
const PHARMACIST_PIN = '0000';

/** An emulated card whose memory lives in DATA_DIR (so a second run sees the first run's write). */
function emulatedCard(dataDir, image) {
  const card = VirtualCard.open({
    image: require.resolve(`chifa-terminal/fixtures/cards/${image}.json`),
    state: path.join(dataDir, `${image}.card.json`),
  });
  return new InProcessTransport(card);
}

async function checkout(dataDir) {
  const today = new Date().toISOString().slice(0, 10);

  // 1. The insured card.
  const card = await ChifaCard.open(emulatedCard(dataDir, 'demo'));
  const pin = await card.verifyPin(HOLDER_PIN);
  if (pin.kind !== 'ok') throw new Error(pin.kind === 'wrongPin' ? `wrong PIN, ${pin.retriesLeft} tries left` : 'PIN blocked');
  const read = await card.readAll();
  if (read.kind !== 'ok') throw new Error(`the card could not be read: ${read.kind}`);
  const { holder, rights } = read.data;
  // The card stores a category code; the rules in force on the day say which category it is.
  const rules = loadRules();
  const categoryOf = (code) => {
    const c = rules.rulesFor(today).categoriesByCardCode.get(code);
    if (!c) throw new Error(`category code ${code} is unknown to the rules in force`);
    return c.id;
  };
  console.log(
    `insured card ${holder.cardSerial}: ${holder.firstName} ${holder.lastName}, ${rights.fund} ${categoryOf(rights.categoryCode)}`,
  );

  // 2. The pharmacist's card: it signs the invoice and authenticates to the insured card.
  const pro = await ProfessionalCard.open(emulatedCard(dataDir, 'pharmacist-1'));
  if ((await pro.verifyPin(PHARMACIST_PIN)).kind !== 'ok') throw new Error("the pharmacist's PIN was refused");
  console.log(`pharmacist card: ${pro.identity.name} (${pro.identity.pharmacyId})`);

  // 3. Price the newest prescription: one basket line per prescribed product.
  const rx = read.data.prescriptions[0];
  if (!rx) throw new Error('the card holds no prescription');
  const catalogue = CatalogueStore.open(dataDir); // seeded with the package's sample catalogue
  const products = rx.lines.map((l) => {
    const p = catalogue.get(l.productCode);
    if (!p) throw new Error(`${l.productCode} is not in the catalogue`);
    return p;
  });
  catalogue.close();
  const basket = {
    date: today,
    lines: rx.lines.map((l, i) => ({
      code: products[i].code,
      quantity: l.quantity,
      unitPrice: products[i].unitPrice,
      referencePrice: products[i].referencePrice,
      reimbursable: products[i].reimbursable,
      priorApproval: products[i].priorApproval,
    })),
  };
  const blacklist = BlacklistStore.open(dataDir); // the fund's list, as last downloaded (empty here)
  const own = rights.beneficiaryRights.find((b) => b.rank === rx.rank);
  const context = {
    category: categoryOf(rights.categoryCode),
    rightsEnd: rights.rightsEnd,
    cardExpiry: holder.expiryDate,
    blacklisted: blacklist.isBlacklisted(holder.cardSerial, today),
    ...(own ? { beneficiary: { category: categoryOf(own.categoryCode), rightsEnd: own.rightsEnd } } : {}),
  };
  blacklist.close();
  const split = computeSplit(basket, rules, context);

  // 4. Sign and journal: the invoice is durable (and numbered) before the card is touched.
  const journal = Journal.open(path.join(dataDir, 'journal.sqlite'), { signer: professionalCardSigner(pro) });
  const invoice = await journal.append(
    draftFromSplit({
      split,
      basket,
      context,
      fund: rights.fund,
      beneficiary: { cardSerial: holder.cardSerial, rank: rx.rank },
      prescription: { reference: rx.reference, date: rx.date, prescriber: rx.prescriberId },
      details: rx.lines.map((l, i) => ({ label: products[i].brand, durationDays: l.durationDays })),
    }),
  );

  // 5. Write the dispensed products on the card (needs the holder's PIN and the pharmacist's authentication).
  const auth = await pro.authenticate(card);
  if (auth.kind !== 'ok') throw new Error(`professional authentication refused: ${auth.kind}`);
  try {
    await card.appendDispensations(
      rx.lines.map((l) => ({
        date: today,
        pharmacyId: pro.identity.pharmacyId,
        rank: rx.rank,
        productCode: l.productCode,
        quantity: l.quantity,
        durationDays: l.durationDays,
        invoiceNumber: invoice.number,
        prescriptionRef: rx.reference,
      })),
    );
  } catch (err) {
    if (err instanceof AppendInterruptedError) {
      // Some records may be on the card: read it again when it is back, then complete the rest.
      console.error(`the card left during the write: ${err.written} of ${err.total} records acknowledged`);
    }
    throw err;
  }
  const after = await card.readDispensations();

  // 6. The receipt, and the journal checked from its bytes.
  console.log(`\ninvoice ${invoice.number}  ${today}  prescription ${rx.reference} (rank ${rx.rank})`);
  for (const l of split.lines) {
    console.log(`  ${l.code.padEnd(12)} ×${l.quantity}  ${formatDa(l.total).padStart(12)}  fund ${formatDa(l.fund).padStart(12)}`);
  }
  console.log(`  total ${formatDa(split.total)}, fund pays ${formatDa(split.fund)}, patient pays ${formatDa(split.patient)}`);
  if (split.reason) console.log(`  no third-party payment: ${REASONS[split.reason]}`);
  console.log(`card now holds ${after.length} dispensed products; newest: invoice ${after[0].invoiceNumber}`);
  const batch = await journal.closeOpenBatch();
  await journal.close();
  const report = verifyJournal(path.join(dataDir, 'journal.sqlite'));
  console.log(`journal: ${report.invoices} invoice(s), batch ${batch.id} closed, verified ${report.ok ? 'OK' : 'FAILED'}`);
  await card.close();
  await pro.close();
  if (!report.ok || after[0].invoiceNumber !== invoice.number) throw new Error('the checkout did not complete');
}

const dataDir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-checkout-'));
fs.mkdirSync(dataDir, { recursive: true });
checkout(dataDir).catch((err) => {
  console.error(`checkout: ${err.message}${err.code ? ` [${err.code}]` : ''}`);
  process.exitCode = 1;
});
