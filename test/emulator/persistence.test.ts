import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CardStateFileError, parseState, serializeState } from '../../src/emulator/state';
import { VirtualCard } from '../../src/emulator/virtual-card';
import { CardRemovedError } from '../../src/card/transport/transport';
import { authenticateProfessional, apdu, card, cardPath, CLOCK, dispensationTemplate, selectInsured, tx, verifyPin } from './helpers';

/** Write-through persistence, restarts, snapshots. */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-emu-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('write-through state file', () => {
  test('PIN counters persist across restarts; decremented before the comparison', () => {
    const state = path.join(dir, 'card.json');
    let c = VirtualCard.open({ image: cardPath('demo'), state, clock: CLOCK });
    expect(fs.existsSync(state)).toBe(true);
    tx(c, selectInsured());
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c2);
    // "Restart": a new process reads the file; nothing was saved explicitly.
    c = VirtualCard.open({ image: cardPath('demo'), state, clock: CLOCK });
    expect(c.triesLeft()).toBe(2);
    tx(c, selectInsured());
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c1);
    c = VirtualCard.fromState(state, { clock: CLOCK });
    expect(c.triesLeft()).toBe(1);
    tx(c, selectInsured());
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(VirtualCard.fromState(state).triesLeft()).toBe(3);
    // The security state is not persisted: a restarted card needs the PIN again.
    const again = VirtualCard.fromState(state);
    tx(again, selectInsured());
    expect(tx(again, '00B0830000').sw).toBe(0x6982);
  });

  test('appended records survive a restart; a torn append is recovered at the next power-on, even after a restart', () => {
    const state = path.join(dir, 'card.json');
    const pro = card('pharmacist-1');
    let c = VirtualCard.open({ image: cardPath('demo'), state, clock: CLOCK });
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    expect(authenticateProfessional(c, pro)).toBe(0x9000);
    expect(tx(c, apdu(0, 0xe2, 0, 0x30, dispensationTemplate(1))).sw).toBe(0x9000);
    c.faults.tearAt({ ins: 0xe2, step: 3 }); // committed, one page applied
    expect(() => c.transmitSync(apdu(0, 0xe2, 0, 0x30, dispensationTemplate(2)))).toThrow(CardRemovedError);
    const saved = JSON.parse(fs.readFileSync(state, 'utf8')) as { journal: { committed: boolean } | null };
    expect(saved.journal?.committed).toBe(true);
    c = VirtualCard.fromState(state, { clock: CLOCK }); // the process died; a new one powers the card on
    expect(c.os.nvm.journal).toBeNull();
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    const all = tx(c, '00B2013500').data;
    expect(all.subarray(0, 12)).toEqual(dispensationTemplate(2).subarray(0, 12));
    expect(all.subarray(64, 76)).toEqual(dispensationTemplate(1).subarray(0, 12));
  });

  test('the state file is replaced atomically and holds no temporary files afterwards', () => {
    const state = path.join(dir, 'card.json');
    const c = VirtualCard.open({ image: cardPath('demo'), state });
    tx(c, selectInsured());
    for (let i = 0; i < 5; i++) tx(c, verifyPin('1234'));
    expect(fs.readdirSync(dir)).toEqual(['card.json']);
    expect(fs.statSync(state).mode & 0o777).toBe(0o600);
  });

  test('read-only commands do not rewrite the file', () => {
    const state = path.join(dir, 'card.json');
    const c = VirtualCard.open({ image: cardPath('demo'), state });
    const before = fs.statSync(state).mtimeMs;
    const text = fs.readFileSync(state, 'utf8');
    tx(c, selectInsured());
    tx(c, '00B0810000');
    expect(fs.readFileSync(state, 'utf8')).toBe(text);
    expect(fs.statSync(state).mtimeMs).toBe(before);
  });

  test('bad state files get a typed error naming the problem', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"format":"nope"}');
    expect(() => VirtualCard.fromState(bad)).toThrow(CardStateFileError);
    expect(() => VirtualCard.fromState(bad)).toThrow(/format/);
    fs.writeFileSync(bad, '{');
    expect(() => VirtualCard.fromState(bad)).toThrow(/not valid JSON/);
    expect(() => VirtualCard.fromState(path.join(dir, 'missing.json'))).toThrow(/cannot read/);
    expect(() => VirtualCard.open({ state: path.join(dir, 'missing.json') })).toThrow(/no card image/);
  });

  test('serialize/parse round trip', () => {
    const c = card('full-rings');
    const s = c.snapshot();
    const back = parseState(serializeState(s), 'x');
    expect(back.regions).toEqual(s.regions);
    expect(back.definition).toEqual(JSON.parse(JSON.stringify(s.definition)));
  });
});

describe('snapshot / restore', () => {
  test('restore brings memory back and resets the volatile state', () => {
    const c = card('demo');
    const snap = c.snapshot();
    tx(c, selectInsured());
    tx(c, verifyPin('0000'));
    tx(c, verifyPin('0000'));
    expect(c.triesLeft()).toBe(1);
    c.restore(snap);
    expect(c.triesLeft()).toBe(3);
    expect(tx(c, '00B0830000').sw).toBe(0x6a82); // the MF is current again
    // The snapshot is a deep copy: later changes do not leak into it.
    tx(c, selectInsured());
    tx(c, verifyPin('0000'));
    c.restore(snap);
    expect(c.triesLeft()).toBe(3);
  });

  test('a snapshot starts another card with the same memory', () => {
    const a = card('demo');
    tx(a, selectInsured());
    tx(a, verifyPin('0000'));
    const b = new VirtualCard(a.snapshot());
    expect(b.triesLeft()).toBe(2);
  });
});
