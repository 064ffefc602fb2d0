import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { chifa, ROOT } from './run-chifa';

/**
 * What `chifa … --help` tells a user: every command and every option says what it is for, and
 * the commands a user runs first show examples. Mistakes in options that name a profile or a
 * number are usage errors (`chifa <command>: <code>: --option …`, exit 2) like every other.
 */

function commands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(commands)];
}

function fullName(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

describe('chifa --help', () => {
  const all = commands(buildProgram());

  it('describes every command and every option', () => {
    const missing: string[] = [];
    for (const c of all) {
      if (!c.description()) missing.push(fullName(c));
      for (const o of c.options) if (!o.description) missing.push(`${fullName(c)} ${o.flags}`);
    }
    expect(missing).toEqual([]);
    expect(all.length).toBeGreaterThan(15);
  });

  it.each(['serve', 'emulate', 'sync', 'quote', 'read', 'apdu'])('%s --help shows examples', (name) => {
    const c = all.find((x) => fullName(x) === `chifa ${name}`)!;
    let text = '';
    c.configureOutput({ writeOut: (s) => (text += s) });
    c.outputHelp();
    expect(text).toMatch(/\nExamples?\b[^\n]*:\n {2}[^\n]*chifa /);
  });

  it('prints the version of the package', async () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const r = await chifa(['--version'], os.tmpdir());
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('usage mistakes name the option', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js')))
      throw new Error('the CLI is not built: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chifa-help-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    [
      ['emulate', '--card', 'demo.json', '--timing', 'slow'],
      'chifa emulate: invalid-timing-profile: --timing slow: unknown timing profile',
    ],
    [['emulate', '--card', 'demo.json', '--latency', 'abc'], 'chifa emulate: invalid-input: --latency must be 0..60000 ms, got abc'],
    [['emulate'], 'chifa emulate: invalid-input: --card is required'],
    [['serve', '--demo', '--timing', 'nope.json'], 'chifa serve: invalid-timing-profile: --timing nope.json: cannot read it'],
  ])('chifa %j', async (args, message) => {
    const r = await chifa([...args, ...(args[0] === 'serve' ? ['--data', dir, '--port', '0'] : [])], dir);
    expect(r.code).toBe(2);
    expect(r.errors[0]).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
