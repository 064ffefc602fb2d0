import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Runs every benchmark module in bench/ (or those named on the command line) in one process, so
 * each table's baseline is measured in the same run as the thing it is compared with.
 */
async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const dir = __dirname;
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js') && !['run.js', 'table.js'].includes(f) && !f.startsWith('_'))
    .map((f) => f.replace(/\.js$/, ''))
    .filter((n) => wanted.length === 0 || wanted.includes(n))
    .sort();
  if (names.length === 0) {
    process.stderr.write(`no benchmark matches ${wanted.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`# chifa-terminal benchmarks — node ${process.version}, ${new Date().toISOString()}\n`);
  for (const name of names) {
    const mod = (await import(path.join(dir, name))) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') continue;
    await mod.run();
  }
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exitCode = 1;
});
