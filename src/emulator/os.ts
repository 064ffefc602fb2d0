import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { parseCommand, type ParsedCommand } from '../card/apdu';
import { SW } from '../card/status';
import { P256SigningKey } from '../common/p256';
import { CommandChain } from './chaining';
import { appendRecord, readRecord, updateRecord } from './commands/records';
import { externalAuthenticate, getChallenge, internalAuthenticate } from './commands/authenticate';
import { readBinary, updateBinary } from './commands/binary';
import { getData } from './commands/get-data';
import { changeReferenceData, resetRetryCounter, verify } from './commands/pin';
import { pso } from './commands/pso';
import { putData } from './commands/put-data';
import { select } from './commands/select';
import { DEFAULT_OPTIONS, type CardKeys, type CardOptions, type Command, type CommandContext, type Handler, type Reply } from './context';
import type { CardDefinition } from './definition';
import { buildFileSystem, type Df, type Ef } from './filesystem';
import { Nvm, PowerLoss } from './nvm';
import { PIN_REGION_SIZE, PinObject, SecurityState } from './security';
import { ResponseBuffer } from './t0';
import { CardWork } from './work';

/**
 * The card operating system: one method, `process(command bytes) → response bytes`.
 *
 * It checks the class and instruction bytes, the length fields, chaining and Le the way ISO
 * 7816-4 says a card must (§5.1, §5.4, §5.6), dispatches to one handler per command group
 * (commands/*.ts), and shapes the answer for T=0 or T=1. Bad input of any kind gets a status
 * word; `process` never throws — except PowerLoss, which only a tear armed by a fault script can
 * raise and which the VirtualCard catches.
 */

const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [0xa4, select],
  [0xb0, readBinary],
  [0xd6, updateBinary],
  [0xb2, readRecord],
  [0xdc, updateRecord],
  [0xe2, appendRecord],
  [0x20, verify],
  [0x24, changeReferenceData],
  [0x2c, resetRetryCounter],
  [0x84, getChallenge],
  [0x82, externalAuthenticate],
  [0x88, internalAuthenticate],
  [0x2a, pso],
  [0xca, getData],
  [0xda, putData],
]);

/** Instructions that may write NVM (the property tests check that no others do). */
export const WRITING_INS: ReadonlySet<number> = new Set([0xd6, 0xdc, 0xe2, 0x20, 0x24, 0x2c, 0xda]);
/** Instructions that may change a PIN object. */
export const PIN_INS: ReadonlySet<number> = new Set([0x20, 0x24, 0x2c]);

const INS_GET_RESPONSE = 0xc0;

export interface OsEnvironment {
  /** The card's clock (certificate validity); default: the host's. */
  clock?: () => Date;
  /** Random source for GET CHALLENGE; default crypto.randomBytes. */
  random?: (n: number) => Buffer;
}

export class CardOs {
  readonly nvm: Nvm;
  readonly mf: Df;
  readonly pins: Map<number, PinObject>;
  readonly security = new SecurityState();
  readonly keys: CardKeys;
  readonly dataObjects: Map<number, Buffer>;
  options: CardOptions;
  clock: () => Date;
  random: (n: number) => Buffer;
  private currentDf: Df;
  private currentEf: Ef | undefined;
  private readonly chain = new CommandChain();
  private readonly responses = new ResponseBuffer();
  private readonly ctx: CommandContext;
  private work = new CardWork();

  constructor(
    readonly definition: CardDefinition,
    options: Partial<CardOptions> = {},
    env: OsEnvironment = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.nvm = new Nvm(this.options.antiTearing);
    this.mf = buildFileSystem(definition.mf, this.nvm);
    this.pins = new Map();
    for (const p of definition.pins) {
      const region = `pin/${p.ref.toString(16).toUpperCase()}`;
      this.nvm.define(region, Buffer.alloc(PIN_REGION_SIZE));
      this.pins.set(p.ref, new PinObject(p, this.nvm, region));
    }
    this.keys = loadKeys(definition);
    this.dataObjects = new Map(Object.entries(definition.dataObjects).map(([t, v]) => [parseInt(t, 16), Buffer.from(v, 'hex')]));
    this.clock = env.clock ?? (() => new Date());
    this.random = env.random ?? ((n) => randomBytes(n));
    this.nvm.onCommit = (writes, journalled) => this.work.nvm(writes, journalled);
    this.currentDf = this.mf;
    this.currentEf = undefined;
    // The context's getters must read the OS's current state, and a getter cannot be an arrow.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const os = this;
    this.ctx = {
      mf: this.mf,
      get currentDf() {
        return os.currentDf;
      },
      get currentEf() {
        return os.currentEf;
      },
      select: (df, ef) => this.select(df, ef),
      security: this.security,
      pins: this.pins,
      nvm: this.nvm,
      get options() {
        return os.options;
      },
      keys: this.keys,
      dataObjects: this.dataObjects,
      get work() {
        return os.work;
      },
      now: () => this.clock(),
      random: (n) => this.random(n),
    };
  }

  setOptions(options: Partial<CardOptions>): void {
    this.options = { ...this.options, ...options };
    this.nvm.antiTearing = this.options.antiTearing;
  }

  /** Cold or warm reset: volatile state goes, a torn NVM transaction is recovered, the MF is current. */
  reset(): void {
    this.security.clear();
    this.chain.clear();
    this.responses.clear();
    this.currentDf = this.mf;
    this.currentEf = undefined;
    this.nvm.recover();
  }

  get current(): { df: Df; ef: Ef | undefined } {
    return { df: this.currentDf, ef: this.currentEf };
  }

  private select(df: Df, ef?: Ef): void {
    if (df !== this.currentDf) {
      // Leaving a DF ends everything verified or authenticated in it.
      this.security.clear();
    }
    this.currentDf = df;
    this.currentEf = ef;
  }

  /** What the last command processed made the card do (NVM writes, signatures): see work.ts. */
  get lastWork(): CardWork {
    return this.work;
  }

  /** Processes one command APDU. Never throws for any input (PowerLoss aside, see above). */
  process(apdu: Buffer): Buffer {
    this.work = new CardWork();
    let reply: Reply;
    try {
      reply = this.dispatch(apdu);
    } catch (err) {
      if (err instanceof PowerLoss) throw err;
      // A bug in a handler must not become a crash of the card: answer "no precise diagnosis".
      reply = { sw: SW.NO_PRECISE_DIAGNOSIS };
    }
    const data = reply.data ?? Buffer.alloc(0);
    const out = Buffer.allocUnsafe(data.length + 2);
    data.copy(out);
    out.writeUInt16BE(reply.sw & 0xffff, data.length);
    return out;
  }

  private dispatch(apdu: Buffer): Reply {
    if (apdu.length < 4) return { sw: SW.WRONG_LENGTH };
    const cla = apdu[0]!;
    const ins = apdu[1]!;
    const claSw = checkCla(cla);
    if (claSw !== undefined) return this.abandon(claSw);
    if ((ins & 0xf0) === 0x60 || (ins & 0xf0) === 0x90) return this.abandon(SW.INS_NOT_SUPPORTED);
    let parsed: ParsedCommand;
    try {
      parsed = parseCommand(apdu);
    } catch {
      return this.abandon(SW.WRONG_LENGTH);
    }
    if (parsed.extended && !this.options.extendedLength) return this.abandon(SW.WRONG_LENGTH);

    if (ins === INS_GET_RESPONSE && (cla & 0x10) === 0) {
      this.chain.clear();
      return this.responses.getResponse(parsed, this.options.protocol === 'T=0');
    }
    this.responses.clear();

    const chained = this.chain.accept(parsed, this.options.chaining);
    if ('reply' in chained) return { sw: chained.reply };
    const cmd = chained.command;

    const handler = HANDLERS.get(ins);
    if (!handler) return { sw: SW.INS_NOT_SUPPORTED };
    const t0 = this.options.protocol === 'T=0';
    // Ne when Le is absent: as much as a short (or extended) response can carry — many T=1
    // cards answer SELECT without Le with their FCI, and terminals rely on it. T=0 cannot send
    // Le with data (case 4), so it always works from the maximum and answers '61xx'.
    const max = cmd.extended ? 65536 : 256;
    const ne = t0 && (cmd.case === 3 || cmd.case === 4) ? max : (cmd.ne ?? max);
    const reply = handler(this.ctx, { ...cmd, ne } as Command);
    return this.responses.shape(cmd, reply, t0);
  }

  private abandon(sw: number): Reply {
    this.chain.clear();
    this.responses.clear();
    return { sw };
  }
}

/**
 * ISO 7816-4 §5.4.1: CLA '0X' is the first interindustry class (b5 chaining, b4-b3 secure
 * messaging, b2-b1 logical channel). This card has one logical channel and no secure messaging.
 */
function checkCla(cla: number): number | undefined {
  if (cla === 0xff || (cla & 0x80) !== 0) return SW.CLA_NOT_SUPPORTED;
  if ((cla & 0xe0) === 0x20) return SW.CLA_NOT_SUPPORTED; // '001x xxxx' is RFU
  if ((cla & 0x40) !== 0) return SW.LOGICAL_CHANNEL_NOT_SUPPORTED; // further interindustry: channels 4..19
  if ((cla & 0x03) !== 0) return SW.LOGICAL_CHANNEL_NOT_SUPPORTED;
  if ((cla & 0x0c) !== 0) return SW.SECURE_MESSAGING_NOT_SUPPORTED;
  return undefined;
}

function loadKeys(def: CardDefinition): CardKeys {
  const keys: { fundCa?: KeyObject; signing?: KeyObject; signingKey?: P256SigningKey } = {};
  if (def.keys.fundCaSpki) {
    keys.fundCa = createPublicKey({ key: Buffer.from(def.keys.fundCaSpki, 'base64'), format: 'der', type: 'spki' });
  }
  if (def.keys.signingKeyPkcs8) {
    keys.signing = createPrivateKey({ key: Buffer.from(def.keys.signingKeyPkcs8, 'base64'), format: 'der', type: 'pkcs8' });
    keys.signingKey = P256SigningKey.fromKeyObject(keys.signing);
  }
  return keys;
}
