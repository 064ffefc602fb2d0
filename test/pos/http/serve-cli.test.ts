import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../counter/harness';

/**
 * `chifa serve` as a process (the built CLI, as `npm start` runs it): prints the page address with
 * the token on stderr, serves, refuses a non-loopback host, and stops cleanly on SIGTERM/SIGINT.
 * Uses --demo so it never touches the machine's pcscd (the PC/SC tests own it).
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'chifa.js');

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'serve.js')))
    throw new Error('the CLI is not built: run `npm run build` (npm test does it first)');
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CHIFA_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdout.on('data', (d) => (stdout += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test.each(['SIGTERM', 'SIGINT'] as const)('serves the page with its token and stops on %s', async (signal) => {
  const dir = path.join(tmpDir('chifa-serve-'), 'var'); // the CLI creates it
  const p = run(['serve', '--demo', '--port', '0', '--data', dir]);
  try {
    await waitFor(() => /open: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.test(p.err()));
    const [, url, token] = /open: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(p.err())!;
    expect(decodeURIComponent(token!)).toBe(fs.readFileSync(path.join(dir, 'token'), 'utf8').trim());
    expect(p.err()).toContain(`token in ${path.join(dir, 'token')} (new)`);
    // Everything it created is its user's alone: the directory 0700, the token and the databases 0600.
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['token', 'chifa.sqlite', 'journal.sqlite', 'journal.sqlite-wal', 'downlink.sqlite'])
      expect([f, (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8)]).toEqual([f, '600']);
    expect((await fetch(`${url}/api/status`)).status).toBe(401);
    const st = await fetch(`${url}/api/status`, { headers: { Authorization: `Bearer ${decodeURIComponent(token!)}` } });
    expect(st.status).toBe(200);
    expect(await st.json()).toMatchObject({ mode: 'demo', insured: { present: true }, professional: { present: true, unlocked: true } });
    expect(p.out()).toContain('DEMO MODE');
    p.child.kill(signal);
    expect(await p.exited).toBe(0);
    expect(p.out()).toContain('"msg":"counter stopped"');
    // The demo cards were persisted for the next start.
    expect(fs.readdirSync(path.join(dir, 'demo-cards')).sort()).toEqual(['insured.state.json', 'professional.state.json']);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('refuses a non-loopback address unless --allow-remote', async () => {
  const p = run(['serve', '--demo', '--host', '0.0.0.0', '--port', '0', '--data', tmpDir('chifa-serve-')]);
  expect(await p.exited).toBe(2);
  expect(p.err()).toMatch(/chifa serve: remote-refused: .*--allow-remote/);
});

test('--timing and --demo-card: the demo cards answer as slowly as real ones; a bad profile is refused, naming it', async () => {
  const dir = tmpDir('chifa-serve-');
  const p = run([
    'serve',
    '--demo',
    '--timing',
    'typical',
    '--demo-card',
    path.join(ROOT, 'fixtures', 'cards', 'full-rings.json'),
    '--port',
    '0',
    '--data',
    dir,
  ]);
  try {
    await waitFor(() => /open: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.test(p.err()));
    expect(p.out()).toMatch(/"timing":"typical"/);
    const [, url, token] = /open: (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(p.err())!;
    const auth = { Authorization: `Bearer ${decodeURIComponent(token!)}` };
    expect((await (await fetch(`${url}/api/card/open`, { method: 'POST', headers: auth })).json()).holder.cardSerial).toBe(
      'CH2-2019-000400',
    );
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'demo-cards')).sort()).toEqual(['insured-full-rings.state.json', 'professional.state.json']);
  } finally {
    p.child.kill('SIGKILL');
  }
  const bad = run(['serve', '--demo', '--timing', 'snail', '--port', '0', '--data', tmpDir('chifa-serve-')]);
  expect(await bad.exited).toBe(2);
  expect(bad.err()).toMatch(/chifa serve: invalid-timing-profile: .*snail/);
});

test('a bad port is a usage error', async () => {
  const p = run(['serve', '--demo', '--port', 'http', '--data', tmpDir('chifa-serve-')]);
  expect(await p.exited).toBe(2);
  expect(p.err()).toContain('--port');
});

/** Starts `chifa serve`, waits for the page address, returns the token in it, and stops. */
async function servedToken(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ token: string; err: string }> {
  const p = run(['serve', '--demo', '--port', '0', ...args], env);
  try {
    await waitFor(() => /#token=\S+/.test(p.err()) || p.child.exitCode !== null);
    const m = /#token=(\S+)/.exec(p.err());
    if (!m) throw new Error(`chifa serve did not start: ${p.err()}`);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    return { token: decodeURIComponent(m[1]!), err: p.err() };
  } finally {
    p.child.kill('SIGKILL');
  }
}

describe('the token never on the command line', () => {
  test('--token-file: read from the file (white space around it ignored), DATA/token not written', async () => {
    const dir = tmpDir('chifa-serve-');
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, '  from-a-file-0123456789\n', { mode: 0o600 });
    const data = path.join(dir, 'var');
    const r = await servedToken(['--data', data, '--token-file', file], { CHIFA_TOKEN: 'from-the-environment-0123' });
    expect(r.token).toBe('from-a-file-0123456789');
    expect(r.err).toContain(`token from --token-file ${file}`);
    expect(fs.existsSync(path.join(data, 'token'))).toBe(false);
  });

  test('CHIFA_TOKEN, when there is no --token-file', async () => {
    const r = await servedToken(['--data', tmpDir('chifa-serve-')], { CHIFA_TOKEN: 'from-the-environment-0123' });
    expect(r.token).toBe('from-the-environment-0123');
    expect(r.err).toContain('token from CHIFA_TOKEN');
  });

  test('a token file that is missing or not a token: exit 2 naming it', async () => {
    const dir = tmpDir('chifa-serve-');
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, 'short\n');
    for (const [file, message] of [
      [path.join(dir, 'missing'), 'cannot read the token file'],
      [short, 'the API token must be 16 to 256 URL-safe characters'],
    ] as const) {
      const p = run(['serve', '--demo', '--port', '0', '--data', dir, '--token-file', file]);
      expect(await p.exited).toBe(2);
      expect(p.err()).toContain('chifa serve: invalid-token: ');
      expect(p.err()).toContain(message);
    }
  });

  test('there is no --token option', async () => {
    const p = run(['serve', '--demo', '--port', '0', '--data', tmpDir('chifa-serve-'), '--token', 'on-the-command-line-0123']);
    expect(await p.exited).toBe(2);
    expect(p.err()).toContain("unknown option '--token'");
  });
});
