import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChifaCard, CardRemovedError } from '../../src/card';
import {
  CardImageError,
  CardStateFileError,
  TimingProfileError,
  InProcessTransport,
  parseCardImage,
  VirtualCard,
  VPCD_PORT,
  VpcdBridge,
  vpcdReaderName,
} from '../../src/emulator';
import { fixturePath, insuredImage, InsuredImageBuilder, professionalImage, ProfessionalImageBuilder } from '../../src/testing';

/**
 * chifa-terminal/emulator as an integrator uses it without the test kit: images, state files,
 * faults on the card itself, and the vpcd bridge (against a stand-in vpcd speaking its framing
 * on a loopback port; the real pcscd + vpcd path is in test/testing/start-card.pcscd.test.ts).
 */

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-pkg-emulator-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('images and state', () => {
  it("parseCardImage validates, naming the field; builders are the kit's way to the same images", () => {
    const json = JSON.parse(fs.readFileSync(fixturePath('cards', 'demo.json'), 'utf8'));
    expect(parseCardImage(json, 'demo.json').kind).toBe('insured');
    expect(() => parseCardImage({ ...json, pin: '12' }, 'mine.json')).toThrow(CardImageError);
    expect(() => parseCardImage({ ...json, pin: '12' }, 'mine.json')).toThrow(/^mine\.json: pin: expected 4 digits/);
    expect(insuredImage()).toBeInstanceOf(InsuredImageBuilder);
    expect(professionalImage()).toBeInstanceOf(ProfessionalImageBuilder);
    const card = VirtualCard.fromImageObject(insuredImage().pin('2468').build(), dir);
    expect(card.kind).toBe('insured');
  });

  it('a state file keeps the card across restarts; a damaged one is a CardStateFileError', async () => {
    const state = path.join(dir, 'card.json');
    const first = VirtualCard.open({ image: fixturePath('cards', 'demo.json'), state });
    const chifa = await ChifaCard.open(new InProcessTransport(first));
    expect(await chifa.verifyPin('0000')).toEqual({ kind: 'wrongPin', retriesLeft: 2 });
    const again = VirtualCard.open({ state });
    expect(again.triesLeft()).toBe(2);
    fs.writeFileSync(state, '{"format":"something else"}');
    expect(() => VirtualCard.fromState(state)).toThrow(CardStateFileError);
  });

  it('faults on the card itself: removal, then insert and power on', async () => {
    const card = VirtualCard.fromImage(fixturePath('cards', 'demo.json'));
    card.faults.removeAt({ apdu: 1, phase: 'before' });
    await expect(ChifaCard.open(new InProcessTransport(card))).rejects.toBeInstanceOf(CardRemovedError);
    card.insert();
    card.powerOn();
    await expect(ChifaCard.open(new InProcessTransport(card))).resolves.toBeInstanceOf(ChifaCard);
  });
});

describe('timing', () => {
  it('a timing profile makes the emulated card count what a real card and reader would take', async () => {
    const card = VirtualCard.fromImage(fixturePath('cards', 'demo.json'), { timing: 'typical' });
    const transport = new InProcessTransport(card);
    await ChifaCard.open(transport);
    expect(transport.meter.apdus).toBeGreaterThan(0);
    expect(transport.elapsedMs).toBeGreaterThan(0);
    expect(() => VirtualCard.fromImage(fixturePath('cards', 'demo.json'), { timing: 'sluggish' })).toThrow(TimingProfileError);
  });
});

describe('VpcdBridge', () => {
  it('connects to vpcd (the card is inserted), answers the ATR request and APDUs, and leaves on stop()', async () => {
    expect(vpcdReaderName(VPCD_PORT)).toBe('Virtual PCD 00 00');
    const connections: net.Socket[] = [];
    const server = net.createServer((s) => connections.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const card = VirtualCard.fromImage(fixturePath('cards', 'demo.json'));
    const bridge = new VpcdBridge(card, { port });
    const connected = new Promise((r) => bridge.once('connected', r));
    bridge.start();
    await connected;
    expect(bridge.connected).toBe(true);
    const vpcd = connections[0]!;
    const frames: Buffer[] = [];
    let buf = Buffer.alloc(0);
    vpcd.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    const send = (payload: Buffer): void => {
      const f = Buffer.alloc(2 + payload.length);
      f.writeUInt16BE(payload.length);
      payload.copy(f, 2);
      vpcd.write(f);
    };
    const next = async (n: number): Promise<Buffer> => {
      while (frames.length < n) await new Promise((r) => setTimeout(r, 5));
      return frames[n - 1]!;
    };
    send(Buffer.from([0x04])); // vpcd's "get ATR"
    expect(await next(1)).toEqual(card.atr);
    send(Buffer.from('00A4040C0BD213000001434849464101', 'hex'));
    expect((await next(2)).toString('hex')).toBe('9000');
    await bridge.stop();
    expect(bridge.connected).toBe(false);
    await new Promise<void>((r) => server.close(() => r()));
  });
});
