import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Journal } from '../../src/sync/journal/journal';
import { key, sampleDraft, signer, tmpDir } from '../sync/helpers';
import { chifa, expectUsageError, requireBuild } from './run-chifa';

/**
 * `chifa sync` and `chifa fund …` given what a clumsy user or a broken fund gives them: each
 * answers with one line `chifa <command>: <code>: <what is wrong and what to do>`, exit status 2
 * for bad input (1 for a runtime failure), no stack trace, bounded output. Before: a missing
 * --key, --ca, --fund-signer-ca, --signing-key or --tls-cert gave Node's bare `ENOENT: …` (exit 1
 * for sync); a CA file holding no certificate was reported as "no fund CA certificate was
 * given"; `--fund file:///…` or `javascript:…` was told to add --fund-signer-ca, and a long URL
 * was quoted whole; the fund's --tls-cert and --data errors were OpenSSL's and SQLite's codes, a
 * port in use Node's; `fund verify` called a missing store BROKEN (exit 1).
 */

/** Arguments as a test title: the fixtures' keys by file name. */
const shown = (args: string[]): string => args.map((a) => (path.isAbsolute(a) ? path.basename(a) : a)).join(' ');

let dir: string;
const FUND = 'http://127.0.0.1:9';
const KEY = ['--key', key('pharmacy-1.key.pem'), '--cert', key('pharmacy-1.cert.pem')];

beforeAll(async () => {
  requireBuild();
  dir = tmpDir('chifa-cli-bad-');
  const j = Journal.open(path.join(dir, 'good', 'journal.sqlite'), { signer: signer(1), batch: { maxCount: 2 } });
  await j.appendMany([sampleDraft(1), sampleDraft(2), sampleDraft(3)]);
  await j.closeOpenBatch();
  await j.close();
  fs.mkdirSync(path.join(dir, 'fund-garbage'));
  fs.writeFileSync(path.join(dir, 'fund-garbage', 'fund.sqlite'), Buffer.from('not a fund store '.repeat(300)));
  fs.writeFileSync(path.join(dir, 'not-pem.pem'), 'this is not PEM\n');
});

describe('chifa sync', () => {
  const sync = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    chifa(['sync', '--once', '--max-attempts', '1', '--no-downlink', ...args], dir, env);

  test.each(
    (
      [
        [['--key', 'nope.pem', '--cert', key('pharmacy-1.cert.pem')], 'file-not-found', '--key "nope.pem"'],
        [['--key', key('pharmacy-1.key.pem'), '--cert', 'not-pem.pem'], 'bad-certificate', '--cert "not-pem.pem"'],
        [['--key', 'not-pem.pem', '--cert', key('pharmacy-1.cert.pem')], 'bad-private-key', '--key "not-pem.pem"'],
        [['--key', key('pharmacy-1.key.pem'), '--cert', key('pharmacy-2.cert.pem')], 'key-certificate-mismatch', 'not the key of --cert'],
        [[...KEY, '--ca', 'nope.pem'], 'file-not-found', '--ca "nope.pem"'],
        [[...KEY, '--ca', 'not-pem.pem'], 'bad-ca-file', 'no PEM certificate'],
        [[...KEY, '--ca', '.'], 'file-unreadable', 'not a file'],
        [[...KEY, '--fund-signer-ca', 'not-pem.pem'], 'bad-ca-file', '--fund-signer-ca "not-pem.pem"'],
        [[...KEY, '--fund-signer-ca', 'nope.pem'], 'file-not-found', '--fund-signer-ca "nope.pem"'],
      ] as [string[], string, string][]
    ).map(([args, code, mention]) => ({ label: shown(args), args, code, mention })),
  )('$label → $code, naming the option', async ({ args, code, mention }) => {
    expectUsageError(await sync(['--fund', FUND, '--data', 'good', ...args]), 'sync', code, [mention]);
  });

  test('files named by environment variables are named as such', async () => {
    const r = await sync(['--fund', FUND, '--data', 'good'], {
      CHIFA_SIGNER_KEY: 'nope.pem',
      CHIFA_SIGNER_CERT: key('pharmacy-1.cert.pem'),
    });
    expectUsageError(r, 'sync', 'file-not-found', ['CHIFA_SIGNER_KEY "nope.pem"']);
  });

  test.each([
    ['file:///etc/passwd', 'file:///etc/passwd', 'bad-fund-url', 'unsupported scheme file:'],
    ['javascript:', 'javascript:alert(1)', 'bad-fund-url', 'unsupported scheme javascript:'],
    ['ftp:', 'ftp://127.0.0.1/', 'bad-fund-url', 'unsupported scheme ftp:'],
    ['with credentials', 'http://user:secret@127.0.0.1:9/', 'bad-fund-url', 'credentials'],
    ['http:// not on loopback', 'http://evil.example/', 'insecure-fund-url', 'use https://'],
    ['a 5 000-character host', `http://${'x'.repeat(5000)}.example/`, 'insecure-fund-url', '…'],
    ['not a URL, with a bidi control', 'not a url \u202e', 'bad-fund-url', 'is not a URL'],
  ])('--fund %s', async (_label, url, code, mention) => {
    const r = await sync(['--fund', url, '--data', 'good', ...KEY]);
    expectUsageError(r, 'sync', code, [mention]);
    expect(r.errors[0]!.length).toBeLessThan(300);
    expect(r.errors[0]).not.toContain('\u202e');
  });

  test('an unreachable fund, one that answers HTML, one that answers 30 MB: exit 1, one stopped line, bounded output', async () => {
    const big = Buffer.alloc(30 * 1024 * 1024, 0x61);
    const servers = await Promise.all(
      [
        (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>\u202e<b>Welcome to nginx</b></html>'),
        (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(big),
      ].map(
        (answer) =>
          new Promise<http.Server>((resolve) => {
            const s = http.createServer((req, res) => {
              req.resume();
              answer(res);
            });
            s.listen(0, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    try {
      const urls = [FUND, ...servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`)];
      for (const [url, stopped] of [
        [urls[0]!, 'stopped: retries-exhausted: '],
        [urls[1]!, 'stopped: bad-fund-answer: '],
        [urls[2]!, 'stopped: bad-fund-answer: '],
      ] as const) {
        const r = await sync(['--fund', url, '--data', 'good', ...KEY]);
        expect({ url, exit: r.code, stack: /\n\s+at /.test(r.stderr), bounded: r.stdout.length + r.stderr.length < 4000 }).toEqual({
          url,
          exit: 1,
          stack: false,
          bounded: true,
        });
        expect(r.stdout.split('\n').filter((l) => l.startsWith(stopped))).toHaveLength(1);
      }
    } finally {
      for (const s of servers) s.close();
    }
  });
});

describe('chifa fund', () => {
  const fund = (args: string[]) => chifa(['fund', '--port', '0', '--data', 'fund', ...args], dir);

  test.each(
    (
      [
        [['--ca', 'not-pem.pem'], 'bad-ca-file', '--ca "not-pem.pem"'],
        [['--ca', 'nope.pem'], 'file-not-found', '--ca "nope.pem"'],
        [['--signing-key', 'nope.pem', '--signing-cert', key('fund-signing.cert.pem')], 'file-not-found', '--signing-key "nope.pem"'],
        [['--signing-key', 'not-pem.pem', '--signing-cert', key('fund-signing.cert.pem')], 'bad-private-key', '--signing-key'],
        [
          ['--signing-key', key('pharmacy-1.key.pem'), '--signing-cert', key('fund-signing.cert.pem')],
          'key-certificate-mismatch',
          '--signing-cert',
        ],
        [['--tls-cert', 'not-pem.pem', '--tls-key', key('tls-server.key.pem')], 'bad-certificate', '--tls-cert "not-pem.pem"'],
        [['--tls-cert', key('tls-server.pem'), '--tls-key', 'nope.pem'], 'file-not-found', '--tls-key "nope.pem"'],
        [
          ['--tls-cert', key('tls-server.pem'), '--tls-key', key('pharmacy-1.key.pem')],
          'key-certificate-mismatch',
          'not the key of --tls-cert',
        ],
        [['--data', 'fund-garbage'], 'fund-store-unreadable', 'check --data'],
      ] as [string[], string, string][]
    ).map(([args, code, mention]) => ({ label: shown(args), args, code, mention })),
  )('$label → $code, naming the option', async ({ args, code, mention }) => {
    expectUsageError(await fund(args), 'fund', code, [mention]);
  });

  test('a port in use: port-in-use, exit 2', async () => {
    const s = http.createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((s.address() as AddressInfo).port);
      expectUsageError(await chifa(['fund', '--port', port, '--data', 'fund'], dir), 'fund', 'port-in-use', [`--port ${port}`]);
    } finally {
      s.close();
    }
  });

  test('verify without a store: no-fund-store, exit 2; an unreadable one is BROKEN, exit 1', async () => {
    expectUsageError(await chifa(['fund', 'verify', '--data', 'nowhere'], dir), 'fund verify', 'no-fund-store', ['use --data']);
    const broken = await chifa(['fund', 'verify', '--data', 'fund-garbage'], dir);
    expect([broken.code, broken.stdout.split('\n')[0]]).toEqual([1, `fund store BROKEN: ${path.join(dir, 'fund-garbage', 'fund.sqlite')}`]);
  });
});
