// Run with `node --require ./no-pcsclite.cjs no-pcsclite.js`: on a machine without the native
// PC/SC module, the card SDK, the emulator and even chifa-terminal/pcsc import fine; only the
// first PC/SC call complains, with a typed error that says what to install.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ChifaCard } from 'chifa-terminal';
import { VirtualCard, InProcessTransport } from 'chifa-terminal/emulator';
import { listReaders, ReaderMonitor, PcscUnavailableError } from 'chifa-terminal/pcsc';

const require = createRequire(import.meta.url);
assert.throws(() => require('pcsclite'), { code: 'MODULE_NOT_FOUND' }); // the double is in place

// Everything but PC/SC works.
const card = await ChifaCard.open(
  new InProcessTransport(VirtualCard.fromImage(require.resolve('chifa-terminal/fixtures/cards/demo.json'))),
);
assert.equal(card.holder.cardSerial, 'CH2-2024-000001');

// PC/SC says what is missing, at first use.
await assert.rejects(listReaders(), (err) => {
  assert.ok(err instanceof PcscUnavailableError);
  assert.equal(err.code, 'pcsc-unavailable');
  assert.match(err.message, /apt-get install libpcsclite-dev pcscd, then npm rebuild pcsclite/);
  console.log(`no-pcsclite: listReaders() → ${err.message}`);
  return true;
});
assert.throws(() => new ReaderMonitor().start(), PcscUnavailableError);
console.log('no-pcsclite: the SDK loads without the native module; chifa-terminal/pcsc complains at first use');
