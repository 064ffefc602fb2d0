import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers';

/**
 * scripts/pcscd.sh against a stand-in daemon (the real pcscd has one fixed socket and may be in
 * use on this machine): start builds the TCP_NODELAY shim and preloads it, waits for the socket,
 * writes a pid file; start twice is a no-op; stop sends SIGTERM and waits; PCSCD_NODELAY=0 runs
 * without the shim; a daemon that dies at once makes start fail with its log.
 */

const SCRIPT = path.join(ROOT, 'scripts/pcscd.sh');
const hasGcc = spawnSync('sh', ['-c', 'command -v gcc']).status === 0;

const FAKE = `#!/usr/bin/python3
import os, signal, socket, sys, time
path = os.environ['PCSCD_SOCKET']
print('LD_PRELOAD=' + os.environ.get('LD_PRELOAD', ''), 'args=' + ' '.join(sys.argv[1:]), flush=True)
if os.environ.get('FAKE_DIE'):
    sys.exit(3)
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(1)
def bye(*_):
    os.unlink(path); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True: time.sleep(1)
`;

(hasGcc ? describe : describe.skip)('scripts/pcscd.sh', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const sh = (cmd: string, extra: NodeJS.ProcessEnv = {}) =>
    spawnSync(SCRIPT, [cmd], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 20000 });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-pcscd-'));
    const fake = path.join(dir, 'fake-pcscd');
    fs.writeFileSync(fake, FAKE, { mode: 0o755 });
    env = { ...process.env, CHIFA_PCSCD_DIR: path.join(dir, 'state'), PCSCD: fake, PCSCD_SOCKET: path.join(dir, 'run', 'pcscd.comm') };
  });
  afterEach(() => {
    sh('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('start / status / start again / stop', () => {
    expect(sh('status').status).toBe(3);
    const start = sh('start');
    expect(start.status).toBe(0);
    expect(start.stderr).toMatch(/started \(pid \d+, nodelay on/);
    expect(fs.statSync(env.PCSCD_SOCKET!).isSocket()).toBe(true);
    const pid = Number(fs.readFileSync(path.join(dir, 'state', 'pcscd.pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).not.toThrow();
    const log = fs.readFileSync(path.join(dir, 'state', 'pcscd.log'), 'utf8');
    expect(log).toContain(`LD_PRELOAD=${path.join(dir, 'state', 'nodelay.so')}`);
    expect(log).toContain('args=-f');
    expect(sh('start').stderr).toMatch(/already running/);
    expect(sh('status').status).toBe(0);
    const stop = sh('stop');
    expect(stop.status).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(fs.existsSync(env.PCSCD_SOCKET!)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'state', 'pcscd.pid'))).toBe(false);
    expect(sh('stop').stderr).toMatch(/not running/);
    expect(sh('bogus').status).toBe(2);
  });

  test('PCSCD_NODELAY=0 runs the daemon without the shim; PCSCD_ARGS are passed', () => {
    expect(sh('start', { PCSCD_NODELAY: '0', PCSCD_ARGS: '-a -d' }).status).toBe(0);
    const log = fs.readFileSync(path.join(dir, 'state', 'pcscd.log'), 'utf8');
    expect(log).toMatch(/^LD_PRELOAD= args=-f -a -d$/m);
  });

  test('a daemon that does not come up fails the start with its log', () => {
    const r = sh('start', { FAKE_DIE: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/did not come up/);
    expect(r.stderr).toContain('LD_PRELOAD=');
  });

  test('the shim compiles without warnings', () => {
    expect(() =>
      execFileSync('gcc', [
        '-shared',
        '-fPIC',
        '-O2',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-o',
        path.join(dir, 'n.so'),
        path.join(ROOT, 'scripts/nodelay.c'),
        '-ldl',
      ]),
    ).not.toThrow();
  });
});
