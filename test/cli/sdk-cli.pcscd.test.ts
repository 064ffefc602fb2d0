import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { describePcsc, ROOT, startEmulator, type Emulator } from '../support/pcscd';

/**
 * The card commands as a new user runs them (README, docs/sdk.md): `chifa emulate` puts the demo
 * card in pcscd's virtual reader, then `chifa readers`, `chifa apdu` and `chifa read` talk to it
 * through pcscd. Needs `npm run build` (npm test does it).
 */

const CHIFA = path.join(ROOT, 'bin/chifa.js');

function chifa(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CHIFA, ...args],
      { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: 30000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

describePcsc('chifa readers / apdu / read against chifa emulate', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ card: 'fixtures/cards/demo.json', port: 35963 });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('chifa readers lists the readers and the card with its capabilities', async () => {
    const r = await chifa(['readers']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Virtual PCD 00 00 {2}card {2}ATR 3B( [0-9A-F]{2})+ {2}\(T=1, extended length, chaining\)$/m);
    expect(r.stdout).toMatch(/^Virtual PCD 00 01 {2}no card$/m);
    const j = await chifa(['readers', '--json']);
    const list = JSON.parse(j.stdout) as { reader: string; card: boolean; atr: string | null }[];
    expect(list.find((x) => x.reader === 'Virtual PCD 00 00')).toMatchObject({ card: true, atr: expect.stringMatching(/^3B/) });
  });

  it('chifa apdu sends raw APDUs and prints answers with their meaning; VERIFY data is masked', async () => {
    const r = await chifa([
      'apdu',
      '--reader',
      'Virtual PCD 00 00',
      '00A4040C0BD2130000014348494641 01',
      '00B0810000',
      '00 20 00 81 08 39393939FFFFFFFF',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('=> 00 A4 04 0C 0B D2 13 00 00 01 43 48 49 46 41 01\n<= 90 00\n   9000: normal processing');
    expect(r.stdout).toMatch(/<= E0 5A 80 0C 31 38/);
    expect(r.stdout).toContain('=> 00 20 00 81 08 ** ** ** ** ** ** ** **');
    expect(r.stdout).toContain('63C2: verification failed, 2 retries left');
    expect(r.stdout).not.toContain('39 39 39 39');
    // Put the try back: the right PIN resets the counter.
    await chifa(['apdu', '--reader', 'Virtual PCD 00 00', '00A4040C0BD2130000014348494641 01', '0020008108 31323334FFFFFFFF']);
    const bad = await chifa(['apdu', '--reader', 'Virtual PCD 00 00', '00A4 zz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^chifa apdu: usage: APDU 1 \("00A4 zz"\): "z" is not a hex digit/);
  });

  it('chifa read --pin-stdin --json prints the whole card; a wrong PIN says how many tries are left', async () => {
    const r = await chifa(['read', '--reader', 'Virtual PCD 00 00', '--pin-stdin', '--json'], { input: '1234\n' });
    expect(r.code).toBe(0);
    const card = JSON.parse(r.stdout) as { apdus: number; holder: { ssn: string }; beneficiaries: unknown[]; dispensations: unknown[] };
    expect(card.holder.ssn).toBe('180516012345');
    expect(card.beneficiaries).toHaveLength(4);
    expect(card.dispensations).toHaveLength(4);
    expect(card.apdus).toBe(11);
    const wrong = await chifa(['read', '--reader', 'Virtual PCD 00 00', '--pin-stdin'], { input: '9999\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('chifa read: wrong-pin: wrong PIN, 2 tries left\n');
    const text = await chifa(['read', '--pin-stdin'], { input: '1234\n' });
    expect(text.stdout).toMatch(/^holder {6}BENALI Karim/m);
    expect(text.stdout).toMatch(/SSN \*{8}2345/);
    const noTty = await chifa(['read', '--reader', 'Virtual PCD 00 00']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/^chifa read: usage: no terminal to ask for the PIN/);
  });

  it('chifa readers --watch follows the card out and in, and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [CHIFA, 'readers', '--watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const until = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(re);
    };
    await until(/card inserted {5}Virtual PCD 00 00/);
    emu.signal('SIGUSR2'); // the emulator pulls its card
    await until(/card removed {6}Virtual PCD 00 00/);
    emu.signal('SIGUSR2'); // and puts it back
    await until(/card inserted {5}Virtual PCD 00 00[\s\S]*card removed[\s\S]*card inserted {5}Virtual PCD 00 00/);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('without pcscd, chifa readers says so plainly and exits non-zero at once', async () => {
    // libpcsclite looks for pcscd's socket here: pointing it elsewhere is pcscd being absent.
    const r = await chifa(['readers'], { env: { PCSCLITE_CSOCK_NAME: '/nonexistent/pcscd.comm' } });
    expect(r.code).toBe(1);
    // (A hang would hit execFile's timeout and exit with a signal, not 1.)
    expect(r.stderr).toBe('chifa readers: no-service: the PC/SC service (pcscd) is not running\n');
  });
});
