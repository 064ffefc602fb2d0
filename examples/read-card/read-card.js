#!/usr/bin/env node
'use strict';
// Prints a Chifa card: from the first PC/SC reader holding one, or, with --emulate, from the
// package's emulated demo card (TEST ONLY data) in this process — no reader, no pcscd.
//
//   node read-card.js [--reader NAME] [--pin-stdin]
//   node read-card.js --emulate [--card demo|chronic|full-rings|…] [--pin-stdin]
//
// The PIN is read from stdin (--pin-stdin), never from the command line; without it only the
// holder (readable without a PIN) is printed.
const { ChifaCard, ChifaError } = require('chifa-terminal');

function option(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.trim();
}

async function openTransport() {
  if (process.argv.includes('--emulate')) {
    // The emulator entry and the shipped card images: chifa-terminal/emulator, chifa-terminal/fixtures/….
    const { VirtualCard, InProcessTransport } = require('chifa-terminal/emulator');
    const image = require.resolve(`chifa-terminal/fixtures/cards/${option('--card') ?? 'demo'}.json`);
    return { transport: new InProcessTransport(VirtualCard.fromImage(image)), source: `emulated card ${image}` };
  }
  // PC/SC is its own entry: it loads the native pcsclite module only when first used.
  const { listReaders, PcscTransport } = require('chifa-terminal/pcsc');
  const wanted = option('--reader');
  const readers = await listReaders();
  const reader = wanted ?? readers.find((r) => r.cardPresent)?.name;
  if (reader === undefined) throw new Error(`no card in any reader (${readers.map((r) => r.name).join(', ') || 'no reader'})`);
  return { transport: await PcscTransport.connect(reader), source: `reader "${reader}"` };
}

async function main() {
  const pin = process.argv.includes('--pin-stdin') ? await readStdin() : undefined;
  const { transport, source } = await openTransport();
  const card = await ChifaCard.open(transport);
  try {
    const h = card.holder;
    console.log(`Card ${h.cardSerial} (${h.cardType}) from ${source}`);
    console.log(`  holder      ${h.lastName} ${h.firstName} / ${h.lastNameAr} ${h.firstNameAr}, born ${h.birthDate}`);
    console.log(`  valid       ${h.issueDate} to ${h.expiryDate}`);
    if (pin === undefined) return;
    const all = await card.readAll({ pin });
    if (all.kind === 'wrongPin') throw new Error(`wrong PIN, ${all.retriesLeft} tries left`);
    if (all.kind === 'blocked') throw new Error('the PIN is blocked: unblock it with the PUK');
    const { rights, beneficiaries, emergency, prescriptions, dispensations } = all.data;
    // The card stores a category code; the rules (chifa-terminal/billing) name it.
    const { loadRules } = require('chifa-terminal/billing');
    const category = loadRules().rulesFor(new Date().toISOString().slice(0, 10)).categoriesByCardCode.get(rights.categoryCode);
    console.log(
      `  rights      ${rights.fund} ${category?.id ?? `category ${rights.categoryCode}`} ${rights.rateBp / 100} % until ${rights.rightsEnd}`,
    );
    for (const b of beneficiaries) console.log(`  rank ${b.rank}      ${b.relationship}: ${b.firstName} ${b.lastName}`);
    console.log(`  allergies   ${emergency.allergies.join(', ') || 'none'}`);
    console.log(`  history     ${prescriptions.length} prescriptions, ${dispensations.length} dispensed products`);
    const last = dispensations[0];
    if (last) console.log(`  last        ${last.date} ${last.productCode} ×${last.quantity} at ${last.pharmacyId}`);
  } finally {
    await card.close();
  }
}

main().catch((err) => {
  // Every SDK error is a ChifaError with a stable code (pcsc-unavailable, no-service, no-card, …).
  const code = err instanceof ChifaError ? ` [${err.code}]` : '';
  console.error(`read-card: ${err.message}${code}`);
  process.exitCode = 1;
});
