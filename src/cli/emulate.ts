import type { Command } from 'commander';
import * as fs from 'node:fs';
import { toHex } from '../card/apdu';
import type { CardOptions } from '../emulator/context';
import { VirtualCard } from '../emulator/virtual-card';
import { VPCD_PORT, VpcdBridge } from '../emulator/vpcd';
import { TIMING_PROFILE_NAMES } from '../emulator/timing-profile';
import { ChifaError } from '../common/errors';
import { timingOption } from './option-files';
import { reportError } from './report';
import { untilStopSignal } from './stop-signal';

/**
 * `chifa emulate --card fixtures/cards/demo.json [--port 35963] [--host 127.0.0.1] [--state FILE]
 *   [--timing none|iso-default|typical|FILE.json]`
 *
 * Runs an emulated card and puts it into pcscd's virtual reader (vsmartcard vpcd): it shows up
 * as a card in "Virtual PCD 00 00" (port 35963) or "Virtual PCD 00 01" (35964) to every PC/SC
 * client. Progress goes to stderr; it runs until SIGINT/SIGTERM. SIGUSR2 pulls the card out of
 * the reader or puts it back (SIGUSR1 belongs to Node's debugger). PINs are never printed.
 * With --timing the card's ATR offers the profile's TA1 and every answer comes after the time a
 * real card and reader would take (docs/emulator.md, "Timing").
 */

interface EmulateOptions {
  card?: string;
  port: string;
  host: string;
  state?: string;
  latency?: string;
  protocol?: string;
  extended: boolean;
  clock?: string;
  timing: string;
}

function fail(message: string): never {
  throw new ChifaError('invalid-input', message);
}

export function register(program: Command): void {
  program
    .command('emulate')
    .description('run an emulated Chifa card in the pcscd virtual reader (vsmartcard vpcd) until Ctrl-C')
    .option('--card <file>', 'card image (fixtures/cards/*.json); optional with an existing --state')
    .option('--port <port>', `vpcd port: ${VPCD_PORT} = "Virtual PCD 00 00", ${VPCD_PORT + 1} = "Virtual PCD 00 01"`, String(VPCD_PORT))
    .option('--host <host>', 'where pcscd (vpcd) listens', '127.0.0.1')
    .option('--state <file>', 'persist the card to this file after every change; resume from it if it exists')
    .option('--latency <ms>', 'added processing time per APDU, 0..60000 (default: 0)')
    .option('--protocol <T=0|T=1>', "transmission protocol the card announces and follows (default: the image's, T=1 unless it says)")
    .option('--no-extended', 'no extended length (short APDUs only)')
    .option('--clock <date>', 'fix the card clock (YYYY-MM-DD or ISO time) for certificate validity')
    .option(
      '--timing <profile>',
      `answer as slowly as a real card: ${TIMING_PROFILE_NAMES.join(', ')} or a JSON profile file (docs/emulator.md, "Timing")`,
      'none',
    )
    .addHelpText(
      'after',
      `
Examples:
  chifa emulate --card fixtures/cards/demo.json                     # the demo card (PIN 1234) in "Virtual PCD 00 00"
  chifa emulate --card fixtures/cards/pharmacist-1.json --port 35964 # a professional card (PIN 0000) in "Virtual PCD 00 01"
  chifa emulate --card fixtures/cards/full-rings.json --timing typical --state /tmp/card.json

SIGUSR2 (kill -USR2 PID) pulls the card out of the reader; the next one puts it back.
Needs pcscd with vsmartcard's vpcd (scripts/pcscd.sh start; docs/pcsc.md).`,
    )
    .action(async (opts: EmulateOptions) => {
      try {
        await emulate(opts);
      } catch (err) {
        if (!(err instanceof ChifaError)) throw err;
        reportError('emulate', err);
      }
    });
}

async function emulate(opts: EmulateOptions): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port must be a TCP port, got ${opts.port}`);
  const latency = opts.latency === undefined ? 0 : Number(opts.latency);
  if (!Number.isFinite(latency) || latency < 0 || latency > 60000) fail(`--latency must be 0..60000 ms, got ${opts.latency}`);
  if (opts.protocol !== undefined && opts.protocol !== 'T=0' && opts.protocol !== 'T=1')
    fail(`--protocol must be T=0 or T=1, got ${opts.protocol}`);
  let clock: Date | undefined;
  if (opts.clock !== undefined) {
    clock = new Date(opts.clock);
    if (Number.isNaN(clock.getTime())) fail(`--clock must be a date, got ${opts.clock}`);
  }
  if (!opts.card && !(opts.state && fs.existsSync(opts.state))) fail('--card is required (or --state with an existing state file)');

  const overrides: Partial<CardOptions> = {
    ...(opts.protocol ? { protocol: opts.protocol as 'T=0' | 'T=1' } : {}),
    ...(opts.extended === false ? { extendedLength: false } : {}),
  };
  const resumed = opts.state !== undefined && fs.existsSync(opts.state);
  const timing = timingOption(opts.timing);
  const card = VirtualCard.open({ image: opts.card, state: opts.state, ...(timing ? { timing } : {}), ...(clock ? { clock } : {}) });
  if (Object.keys(overrides).length > 0) {
    card.setOptions(overrides);
    card.reset();
  }
  card.faults.latencyMs = latency;

  const say = (line: string): void => {
    process.stderr.write(`chifa emulate: ${line}\n`);
  };
  const o = card.options;
  say(
    `${card.kind} card "${card.os.definition.label}"${resumed ? ` resumed from ${opts.state}` : ''}; ` +
      `${o.protocol}, ${o.extendedLength ? 'extended length' : 'short APDUs only'}${o.chaining ? ', chaining' : ''}; ATR ${toHex(card.atr)}`,
  );
  const model = card.timing;
  if (model) {
    const r = model.rate;
    say(
      `timing "${model.profile.name}": ${Math.round(r.bitRate).toLocaleString('en-US')} bit/s (Fi ${r.fi}, Di ${r.di}, ` +
        `${(r.clockHz / 1e6).toFixed(4)} MHz${model.pps ? ', after PPS' : ''}); answers wait their modelled time`,
    );
  }
  const bridge = new VpcdBridge(card, { host: opts.host, port, log: say });
  say(`connecting to vpcd at ${opts.host}:${port} (${bridge.readerName})${opts.state ? `; state in ${opts.state}` : ''}`);
  bridge.start();

  // Signal handlers do not keep Node running; with the card out of the reader nothing else may.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const toggle = (): void => {
    if (card.inserted) card.remove();
    else card.insert();
    say(card.inserted ? 'SIGUSR2: card put back' : 'SIGUSR2: card pulled out');
  };
  process.on('SIGUSR2', toggle);
  const signal = await untilStopSignal();
  say(`${signal}: stopping`);
  clearInterval(keepAlive);
  process.off('SIGUSR2', toggle);
  await bridge.stop();
  card.persist();
}
