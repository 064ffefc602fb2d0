#!/usr/bin/env node
'use strict';
// npm test's last pass: the examples in examples/ against the packed package, as users get it.
//
// 1. `npm pack` (prepack builds dist/ from scratch) into a scratch directory; the tarball must
//    hold what the package needs and no test or bench file.
// 2. One shared install of the tarball and the examples' dev tools (jest, typescript), from the
//    npm cache when it can: better-sqlite3 and pcsclite compile from source, once.
// 3. Each example gets a fresh copy of its files, its chifa-terminal dependency pointed at the
//    tarball, node_modules hard-linked from the shared install, and `npm install --offline`
//    (so its own package.json must resolve), then its commands run with a time limit (a test
//    runner kept alive by an open handle fails it).
// 4. The installed `chifa serve` (in the read-card copy): it starts on the demo cards, and serves
//    the counter page and the modules the page shares with the server from the package.
//
// One line per step with its time; the output of a failing step (npm's log included) is
// printed in full, nothing else is. CHIFA_KEEP_EXAMPLES=1 keeps the scratch directory;
// `node scripts/test-examples.js NAME…` runs only those examples.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
const STEP_TIMEOUT_MS = 10 * 60_000;

/** The examples and what proves each works: commands, and text their output must hold. */
const PLAN = {
  'read-card': [
    {
      cmd: ['node', 'read-card.js', '--emulate', '--pin-stdin'],
      stdin: '1234\n',
      expect: [/Card CH2-2024-000001/, /history\s+2 prescriptions/],
    },
  ],
  'embed-checkout': [
    { cmd: ['node', 'checkout.js', 'data'], expect: [/invoice 1 /, /journal: 1 invoice\(s\), batch 1 closed, verified OK/] },
  ],
  'integrator-tests': [
    { cmd: ['npm', 'run', 'test:jest'], expect: [/Tests:\s+3 passed, 3 total/] },
    { cmd: ['npm', 'run', 'test:node'], expect: [/# pass 4/, /# fail 0/] },
  ],
  'esm-consumer': [{ cmd: ['npm', 'test'], expect: [/ESM: every entry point imported/, /chifa-terminal\/pcsc complains at first use/] }],
};

/** What the tarball must contain, and what it must not. */
const MUST_SHIP = [
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'bin/chifa.js',
  'dist/src/card/index.js',
  'dist/src/card/index.d.ts',
  'dist/src/testing/index.js',
  'dist/src/cli/main.js',
  'fixtures/cards/demo.json',
  'fixtures/keys/fund-ca.pem',
  'src/pos/web/index.html',
  'src/common/format.js',
  'docs/sdk.md',
];
const MUST_NOT_SHIP = /(^|\/)(test|tests|__tests__|bench|examples)(\/|$)|\.(test|spec|bench)\.|\.map$|(^|\/)tsconfig.*\.json$/;

// Settings npm passes to the scripts it runs would leak into the examples' own npm commands.
const KEEP_NPM_CONFIG = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_globalconfig']);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEEP_NPM_CONFIG.has(k.toLowerCase())));
env.CI = env.CI ?? 'true';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-examples-'));
const logs = path.join(work, 'logs');
fs.mkdirSync(logs);
let failed = false;

function run(label, cmd, options = {}) {
  const started = Date.now();
  const log = path.join(logs, `${label.replace(/[^a-z0-9.-]+/gi, '_')}.log`);
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { cwd: options.cwd ?? work, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => {
      out += `\n[test-examples] no exit after ${STEP_TIMEOUT_MS / 1000} s (an open handle?): killed\n`;
      process.kill(-child.pid, 'SIGKILL');
    }, STEP_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.writeFileSync(log, out);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const missing = (options.expect ?? []).filter((re) => !re.test(out));
      const ok = code === 0 && missing.length === 0;
      console.log(`examples: ${ok ? 'ok  ' : 'FAIL'} ${label} (${secs} s)`);
      if (!ok) {
        failed = true;
        const why = code !== 0 ? `exit ${code ?? signal}` : `output lacks ${missing.join(', ')}`;
        console.log(`---- ${label}: ${cmd.join(' ')} in ${options.cwd ?? work}: ${why}\n${out}\n---- end of ${label}`);
      }
      resolve({ ok, out });
    });
  });
}

/** `chifa serve --demo` from the installed package: the page and its shared modules load. */
async function counterSmoke(dir) {
  const started = Date.now();
  const bin = path.join(dir, 'node_modules', '.bin', 'chifa');
  const child = spawn(bin, ['serve', '--demo', '--port', '0', '--data', path.join(dir, 'counter-data')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const problems = [];
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "open:" line within 60 s')), 60_000);
      const look = () => {
        const m = /open: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', (code) => reject(new Error(`chifa serve exited (${code})`)));
    });
    for (const [p, want] of [
      ['/', /<html/i],
      ['/assets/format.js', /export /],
    ]) {
      const res = await fetch(url + p);
      const body = await res.text();
      if (res.status !== 200 || !want.test(body)) problems.push(`GET ${p}: ${res.status}`);
    }
  } catch (err) {
    problems.push(err.message);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
  const ok = problems.length === 0;
  console.log(
    `examples: ${ok ? 'ok  ' : 'FAIL'} installed chifa serve --demo: page and shared modules (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (!ok) {
    failed = true;
    console.log(`---- chifa serve: ${problems.join('; ')}\n${out}\n---- end of chifa serve`);
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** The example's files, without anything a local run left behind. */
function copyExample(name) {
  const to = path.join(work, name);
  fs.cpSync(path.join(EXAMPLES, name), to, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|data)$/.test(src) && !src.endsWith('package-lock.json'),
  });
  return to;
}

/** No example may reach into the package's files: only its entry points and fixtures/. */
function checkNoInternalPaths(name) {
  const bad = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (/\.(c|m)?(j|t)s$/.test(e.name) && /chifa-terminal\/(dist|src)\//.test(fs.readFileSync(p, 'utf8'))) {
        bad.push(path.relative(EXAMPLES, p));
      }
    }
  };
  walk(path.join(EXAMPLES, name));
  return bad;
}

async function main() {
  const t0 = Date.now();
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !(n in PLAN));
  if (unknown.length > 0) throw new Error(`no example named ${unknown.join(', ')} (${Object.keys(PLAN).join(', ')})`);
  const names = only.length > 0 ? only : Object.keys(PLAN);
  const onDisk = fs
    .readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const unplanned = onDisk.filter((n) => !(n in PLAN));
  if (unplanned.length > 0) throw new Error(`examples without a test plan in scripts/test-examples.js: ${unplanned.join(', ')}`);
  const internal = names.flatMap(checkNoInternalPaths);
  if (internal.length > 0) throw new Error(`examples reaching into chifa-terminal's files: ${internal.join(', ')}`);

  // 1. Pack.
  const pack = await run('npm pack', ['npm', 'pack', '--json', '--pack-destination', work], { cwd: ROOT });
  if (!pack.ok) return;
  const packed = JSON.parse(pack.out.slice(pack.out.indexOf('[')))[0];
  const tarball = path.join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  const absent = MUST_SHIP.filter((f) => !files.includes(f));
  const unwanted = files.filter((f) => MUST_NOT_SHIP.test(f));
  console.log(
    `examples: ${absent.length + unwanted.length === 0 ? 'ok  ' : 'FAIL'} ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} kB`,
  );
  if (absent.length > 0 || unwanted.length > 0) {
    failed = true;
    if (absent.length > 0) console.log(`  missing from the package: ${absent.join(', ')}`);
    if (unwanted.length > 0) console.log(`  must not be in the package: ${unwanted.join(', ')}`);
    return;
  }

  // 2. One install of the tarball and every example's dependencies.
  const shared = path.join(work, 'install');
  fs.mkdirSync(shared);
  const manifests = Object.fromEntries(names.map((n) => [n, readJson(path.join(EXAMPLES, n, 'package.json'))]));
  const devDependencies = Object.assign({}, ...names.map((n) => manifests[n].devDependencies ?? {}));
  writeJson(path.join(shared, 'package.json'), {
    name: 'chifa-examples-install',
    private: true,
    dependencies: { 'chifa-terminal': `file:${tarball}` },
    devDependencies,
    allowScripts: { 'better-sqlite3': true, pcsclite: true },
  });
  const npmInstall = ['npm', 'install', '--no-audit', '--no-fund', '--loglevel=warn'];
  if (!(await run('shared install', [...npmInstall, '--prefer-offline'], { cwd: shared })).ok) return;

  // 3. Each example, in a fresh copy.
  for (const name of names) {
    const dir = copyExample(name);
    const manifest = readJson(path.join(dir, 'package.json'));
    manifest.dependencies['chifa-terminal'] = `file:${tarball}`;
    writeJson(path.join(dir, 'package.json'), manifest);
    // Hard links: a copy in no time and no space; npm replaces files by unlinking, never in place.
    const cp = spawnSync('cp', ['-al', path.join(shared, 'node_modules'), path.join(dir, 'node_modules')], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
    if (!(await run(`${name}: npm install`, [...npmInstall, '--offline'], { cwd: dir })).ok) continue;
    for (const step of PLAN[name]) {
      await run(`${name}: ${step.cmd.join(' ')}`, step.cmd, { cwd: dir, stdin: step.stdin, expect: step.expect });
    }
  }
  if (names.includes('read-card')) await counterSmoke(path.join(work, 'read-card'));
  console.log(`examples: ${failed ? 'FAILED' : 'all passed'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main()
  .catch((err) => {
    failed = true;
    console.log(`examples: FAIL ${err.message}`);
  })
  .finally(() => {
    if (failed || process.env.CHIFA_KEEP_EXAMPLES === '1') console.log(`examples: scratch directory kept: ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
    process.exitCode = failed ? 1 : 0;
  });
