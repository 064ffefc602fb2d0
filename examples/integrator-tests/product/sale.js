'use strict';
// The integrator's own product (what the tests in __tests__/ and node-test/ exercise): it records
// a sale — an invoice signed and journaled, then the products written on the insured card — and
// uploads the journal to the fund. It only uses chifa-terminal's public entry points.
const { AppendInterruptedError, professionalCardSigner } = require('chifa-terminal');
const { computeSplit, loadRules } = require('chifa-terminal/billing');
const { Journal, Uploader, RequestAuthenticator, FundVerifier, draftFromSplit } = require('chifa-terminal/sync');

/** Prices `lines` ({ product, quantity }) for the card's holder and returns the invoice draft. */
function draftFor(cardData, rank, lines, date) {
  const basket = {
    date,
    lines: lines.map(({ product, quantity }) => ({
      code: product.code,
      quantity,
      unitPrice: product.unitPrice,
      referencePrice: product.referencePrice,
      reimbursable: product.reimbursable,
      priorApproval: product.priorApproval,
    })),
  };
  const { holder, rights } = cardData;
  const rules = loadRules();
  // The card stores a category code; the rules in force on the day say which category it is.
  const category = rules.rulesFor(date).categoriesByCardCode.get(rights.categoryCode);
  if (!category) throw new Error(`category code ${rights.categoryCode} is unknown to the rules in force`);
  const context = { category: category.id, rightsEnd: rights.rightsEnd, cardExpiry: holder.expiryDate };
  const split = computeSplit(basket, rules, context);
  return draftFromSplit({ split, basket, context, fund: rights.fund, beneficiary: { cardSerial: holder.cardSerial, rank } });
}

/**
 * Records a sale: journal first (signed by the pharmacist's card), then the card. Returns
 * { invoice, written, interrupted }: an interrupted write is reported with how many records the
 * card acknowledged — never retried blindly (a retry could write a record twice).
 */
async function recordSale({ card, pro, journalFile, cardData, rank = 1, lines, date }) {
  const journal = Journal.open(journalFile, { signer: professionalCardSigner(pro) });
  try {
    const invoice = await journal.append(draftFor(cardData, rank, lines, date));
    const auth = await pro.authenticate(card);
    if (auth.kind !== 'ok') throw new Error(`the insured card refused the pharmacist: ${auth.kind}`);
    const records = lines.map(({ product, quantity }) => ({
      date,
      pharmacyId: pro.identity.pharmacyId,
      rank,
      productCode: product.code,
      quantity,
      durationDays: 7,
      invoiceNumber: invoice.number,
    }));
    try {
      await card.appendDispensations(records);
      return { invoice: invoice.number, written: records.length, interrupted: false };
    } catch (err) {
      if (err instanceof AppendInterruptedError) return { invoice: invoice.number, written: err.written, interrupted: true };
      throw err;
    }
  } finally {
    await journal.close();
  }
}

/**
 * Closes the open batch and uploads everything the fund has not acknowledged; retries until done.
 * `signer` signs the batch manifests and every request (the fund authenticates the pharmacy);
 * the fund's answers are believed only once verified against `fundCa` (PEM file of the fund CA);
 * `ca` is the CA of the fund's TLS certificate, for HTTPS.
 */
async function uploadAll({ journalFile, signer, fundUrl, fundCa, ca, attempts = 10 }) {
  const journal = Journal.open(journalFile, { signer });
  const uploader = new Uploader(journal, {
    fund: fundUrl,
    ...(ca ? { ca } : {}),
    auth: new RequestAuthenticator(signer),
    verifier: FundVerifier.fromFiles([fundCa]),
    retry: { baseMs: 1, maxMs: 10 },
  });
  try {
    await journal.closeOpenBatch();
    for (let i = 0; i < attempts; i++) {
      const summary = await uploader.runOnce();
      if (summary.error === null) return summary;
    }
    throw new Error('the fund did not take the batches');
  } finally {
    uploader.endpoint.agent.destroy(); // no keep-alive socket left behind
    await journal.close();
  }
}

module.exports = { draftFor, recordSale, uploadAll };
