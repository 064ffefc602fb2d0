import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describePcsc, python, READERS, ROOT, scanReaders, scriptor, startEmulator, waitForCard, type Emulator } from '../support/pcscd';

/**
 * The emulated cards through the real stack: `chifa emulate` → vpcd → pcscd → independent PC/SC
 * clients (pcsc-tools' scriptor, pyscard). They must get the same answers as the in-process
 * tests, byte for byte (golden vectors), including a full professional authentication and an
 * APPEND RECORD across the two virtual readers, persistence across an emulator restart, and
 * card removal seen by pcscd.
 */

const golden = (name: string): { padded: string; template: string } =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/golden', `${name}.json`), 'utf8'));

const SELECT_INSURED = '00 A4 04 0C 0B D2 13 00 00 01 43 48 49 46 41 01';
const VERIFY_1234 = '00 20 00 81 08 31 32 33 34 FF FF FF FF';

/** pyscard: authenticate the professional card to the insured card and append a dispensation. */
const APPEND_FLOW = String.raw`
import sys, json
from smartcard.System import readers
insured_name, pro_name, record_hex = sys.argv[1], sys.argv[2], sys.argv[3]
byname = {str(r): r for r in readers()}
ins = byname[insured_name].createConnection(); ins.connect()
pro = byname[pro_name].createConnection(); pro.connect()
log = []
def tx(conn, hexstr, label):
    data, sw1, sw2 = conn.transmit(list(bytes.fromhex(hexstr)))
    sw = '%02X%02X' % (sw1, sw2)
    log.append([label, sw])
    return bytes(data), sw
tx(ins, '00A4040C0BD213000001434849464101', 'select insured')
tx(ins, '002000810831323334FFFFFFFF', 'verify insured')
tx(pro, '00A4040C0BD213000001434849464102', 'select pro')
# The certificate from the professional card itself: READ BINARY by SFI 2, then the rest.
head, _ = tx(pro, '00B0820000', 'read certificate')
length = 4 + (head[2] << 8 | head[3])
cert = bytearray(head)
while len(cert) < length:
    off = len(cert)
    part, _ = tx(pro, '00B0%04X00' % off, 'read certificate')
    cert += part
cert = bytes(cert[:length])
# PSO: VERIFY CERTIFICATE with command chaining (CLA 10 on all parts but the last).
parts = [cert[i:i + 255] for i in range(0, len(cert), 255)]
for i, p in enumerate(parts):
    cla = '00' if i == len(parts) - 1 else '10'
    tx(ins, cla + '2A00BE' + '%02X' % len(p) + p.hex(), 'pso verify certificate')
challenge, _ = tx(ins, '0084000010', 'get challenge')
tx(pro, '002000810830303030FFFFFFFF', 'verify pro')
sig, _ = tx(pro, '0088000110' + challenge.hex() + '00', 'internal authenticate')
tx(ins, '0082000040' + sig.hex(), 'external authenticate')
rec = bytes.fromhex(record_hex)
tx(ins, '00E20030%02X' % len(rec) + rec.hex(), 'append record')
first, sw = tx(ins, '00B2013400', 'read record 1')
print(json.dumps({'log': log, 'record1': first.hex().upper(), 'certLength': length}))
`;

/** A dispensation template (own hand-written bytes): 2025-06-15, DZ16-PH-00001, rank 1, N02BE01-01, qty 1, 7 days, invoice 4242. */
const NEW_RECORD = (
  'E5' +
  '2E' +
  '800420250615' +
  '810D' +
  Buffer.from('DZ16-PH-00001').toString('hex') +
  '820101' +
  '830A' +
  Buffer.from('N02BE01-01').toString('hex') +
  '840101' +
  '850107' +
  '86021092'
).toUpperCase();

describePcsc('emulated cards through pcscd + vpcd (scriptor, pyscard)', () => {
  let dir: string;
  let insured: Emulator | undefined;
  let pro: Emulator | undefined;
  const state = (): string => path.join(dir, 'insured.state.json');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-pcsc-'));
    insured = await startEmulator({ card: 'fixtures/cards/demo.json', port: READERS[0].port, state: state() });
    pro = await startEmulator({ card: 'fixtures/cards/pharmacist-1.json', port: READERS[1].port });
  });

  afterAll(async () => {
    await insured?.stop();
    await pro?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    // Leave the readers empty for the next suite (pcscd notices within ~400 ms).
    await waitForCard(READERS[0].name, false);
    await waitForCard(READERS[1].name, false);
  });

  test('pcsc_scan sees both cards with their ATRs', async () => {
    const readers = await scanReaders();
    expect(readers.get(READERS[0].name)).toEqual({ present: true, atr: '3B888131FE450073B621C005900032' });
    expect(readers.get(READERS[1].name)?.present).toBe(true);
  });

  test('scriptor: SELECT, VERIFY (wrong, then right), READ RECORD and READ RECORD(S) give the golden bytes', async () => {
    const ex = await scriptor(READERS[0].name, [
      SELECT_INSURED,
      '00 B2 03 34 00', // before the PIN
      '00 20 00 81 08 39 39 39 39 FF FF FF FF',
      '00 20 00 81',
      VERIFY_1234,
      '00 B2 03 34 00',
      '00 B2 01 35 00',
      '00 B0 81 00 00',
    ]);
    expect(ex.map((e) => e.sw)).toEqual(['9000', '6982', '63C2', '63C2', '9000', '9000', '9000', '9000']);
    const disp = golden('dispensation');
    expect(ex[5]!.data).toBe(disp.padded);
    expect(ex[6]!.data.length).toBe(4 * 64 * 2);
    expect(ex[6]!.data.slice(2 * 128, 3 * 128)).toBe(disp.padded);
    expect(ex[7]!.data).toBe(golden('holder').padded);
  });

  test('pyscard: professional authentication across the two readers, APPEND RECORD, the new record is number 1', async () => {
    const out = JSON.parse(await python(APPEND_FLOW, [READERS[0].name, READERS[1].name, NEW_RECORD])) as {
      log: [string, string][];
      record1: string;
      certLength: number;
    };
    expect(out.log.filter(([, sw]) => sw !== '9000')).toEqual([]);
    expect(out.certLength).toBe(531);
    expect(out.record1.startsWith(NEW_RECORD)).toBe(true);
    expect(out.record1.length).toBe(128);
  });

  test('the insured card resumes from --state after a restart: the record and the PIN counter are kept', async () => {
    // One wrong PIN (persisted), then restart the emulator process from its state file only.
    const ex = await scriptor(READERS[0].name, [SELECT_INSURED, '00 20 00 81 08 30 30 30 30 FF FF FF FF']);
    expect(ex[1]!.sw).toBe('63C2');
    expect(await insured!.stop()).toBe(0);
    await waitForCard(READERS[0].name, false);
    insured = await startEmulator({ port: READERS[0].port, state: state() });
    expect(insured.log()).toMatch(/resumed from/);
    const after = await scriptor(READERS[0].name, [SELECT_INSURED, '00 20 00 81', VERIFY_1234, '00 B2 01 34 00', '00 B2 05 34 00']);
    expect(after.map((e) => e.sw)).toEqual(['9000', '63C2', '9000', '9000', '9000']);
    expect(after[3]!.data.startsWith(NEW_RECORD)).toBe(true);
    expect(after[4]!.data.length).toBe(128); // record 5 exists: 4 from the image + the appended one
  });

  test('SIGUSR2 pulls the card out and puts it back; pcscd sees both', async () => {
    insured!.signal('SIGUSR2');
    await waitForCard(READERS[0].name, false);
    insured!.signal('SIGUSR2');
    const atr = await waitForCard(READERS[0].name, true);
    expect(atr).toBe('3B888131FE450073B621C005900032');
    const ex = await scriptor(READERS[0].name, [SELECT_INSURED, '00 B0 81 00 04']);
    expect(ex.map((e) => e.sw)).toEqual(['9000', '9000']);
  });

  test('pyscard reads the whole dispensation ring in one extended READ RECORDS', async () => {
    const script = String.raw`
import sys
from smartcard.System import readers
r = {str(x): x for x in readers()}[sys.argv[1]]
c = r.createConnection(); c.connect()
c.transmit(list(bytes.fromhex('00A4040C0BD213000001434849464101')))
c.transmit(list(bytes.fromhex('002000810831323334FFFFFFFF')))
data, sw1, sw2 = c.transmit(list(bytes.fromhex('00B20135000000')))
print(len(data), '%02X%02X' % (sw1, sw2))
`;
    expect((await python(script, [READERS[0].name])).trim()).toBe(`${5 * 64} 9000`);
  });

  test('a T=0 card through pcscd: 61xx and GET RESPONSE, 6Cxx and the exact Le', async () => {
    expect(await pro!.stop()).toBe(0);
    await waitForCard(READERS[1].name, false);
    pro = await startEmulator({ card: 'fixtures/cards/t0.json', port: READERS[1].port });
    const ex = await scriptor(READERS[1].name, [
      '00 A4 04 04 0B D2 13 00 00 01 43 48 49 46 41 01 00',
      '00 C0 00 00 19',
      VERIFY_1234,
      '00 B2 03 34 00',
      '00 B2 03 34 40',
    ]);
    expect(ex.map((e) => e.sw)).toEqual(['6119', '9000', '9000', '6C40', '9000']);
    expect(ex[1]!.data.startsWith('6217')).toBe(true);
    expect(ex[4]!.data).toBe(golden('dispensation').padded);
  });

  test('--timing typical: the ATR offers TA1 = 18 and answers come after their modelled time', async () => {
    expect(await insured!.stop()).toBe(0);
    await waitForCard(READERS[0].name, false);
    insured = await startEmulator({ card: 'fixtures/cards/demo.json', port: READERS[0].port, args: ['--timing', 'typical'] });
    expect(insured.log()).toMatch(/timing "typical": 129,032 bit\/s \(Fi 372, Di 12, 4\.0000 MHz, after PPS\)/);
    expect((await scanReaders()).get(READERS[0].name)).toEqual({ present: true, atr: '3B98188131FE450073B621C00590003A' });
    // READ BINARY of the whole 256-byte EF.HOLDER: 5 + 258 bytes and 3 T=1 blocks (IFSD 254)
    // = 275 characters, 12 etu each, 30 etu of guard times, at 31 / 4 MHz per etu: 25.8 ms, and
    // 2 ms of processing.
    const script = String.raw`
import sys, time
from smartcard.System import readers
c = {str(r): r for r in readers()}[sys.argv[1]].createConnection(); c.connect()
c.transmit(list(bytes.fromhex('00A4040C0BD213000001434849464101')))
t = time.monotonic()
data, sw1, sw2 = c.transmit(list(bytes.fromhex('00B0810000')))
print(len(data), '%02X%02X' % (sw1, sw2), int((time.monotonic() - t) * 1000))
`;
    const [len, sw, ms] = (await python(script, [READERS[0].name])).trim().split(' ');
    expect([len, sw]).toEqual(['256', '9000']);
    expect(Number(ms)).toBeGreaterThanOrEqual(27);
  });
});
