// Plain ESM: named imports from every entry point (Node reads them out of the CommonJS build),
// then a card read through the emulator, a quote, and a look at what the package exposes.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ChifaCard, CardChannel, selectAid, INSURED_AID, SW, swText } from 'chifa-terminal';
import { ReaderMonitor, PcscTransport, listReaders, PcscUnavailableError } from 'chifa-terminal/pcsc';
import { VirtualCard, InProcessTransport } from 'chifa-terminal/emulator';
import { loadRules, quote, parseQuoteRequest, formatDa } from 'chifa-terminal/billing';
import { Journal, Uploader, SoftwareSigner } from 'chifa-terminal/sync';
import { FundServer, parseFaults } from 'chifa-terminal/fund';
import { startCard, expectTranscript } from 'chifa-terminal/testing';

for (const f of [
  ReaderMonitor,
  PcscTransport,
  listReaders,
  PcscUnavailableError,
  Journal,
  Uploader,
  SoftwareSigner,
  FundServer,
  parseFaults,
]) {
  assert.equal(typeof f, 'function');
}

// The same module whether imported or required: one set of classes, instanceof works across both.
const require = createRequire(import.meta.url);
// Importing every entry, chifa-terminal/pcsc included, has not loaded the native PC/SC module.
assert.equal(
  Object.keys(require.cache).some((file) => /[\\/]pcsclite[\\/]/.test(file)),
  false,
);
assert.equal(require('chifa-terminal').ChifaCard, ChifaCard);

// A raw command through a channel, then the Chifa card application, on the emulator.
const image = require.resolve('chifa-terminal/fixtures/cards/demo.json');
const transport = new InProcessTransport(VirtualCard.fromImage(image));
const channel = new CardChannel(transport);
const selected = await channel.run(selectAid(INSURED_AID));
assert.equal(selected.kind, 'selected');
const card = await ChifaCard.open(transport);
console.log(`ESM: card ${card.holder.cardSerial}; SW ${SW.OK.toString(16)} = ${swText(SW.OK)}`);

const q = quote(
  parseQuoteRequest({ date: '2025-06-01', category: 'ordinary', lines: [{ unitPrice: 25000, referencePrice: 20000, quantity: 2 }] }),
  loadRules(),
  () => undefined,
);
console.log(`ESM: quote total ${formatDa(q.total)}, fund ${formatDa(q.fund)}, patient ${formatDa(q.patient)}`);

const kit = await startCard('pharmacist-1');
expectTranscript(kit, '');
await kit.stop();

// Internal paths are not part of the package: the exports map refuses them.
const internalPath = ['chifa-terminal', 'dist', 'src', 'card', 'apdu.js'].join('/');
assert.throws(() => require(internalPath), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
console.log('ESM: every entry point imported');
