import * as fs from 'node:fs';
import * as path from 'node:path';
import { InProcessTransport } from '../../../src/emulator/in-process-transport';
import { VirtualCard, type VirtualCardOptions } from '../../../src/emulator/virtual-card';
import type { CardTransport } from '../../../src/card/transport/transport';
import { CategoryCode } from '../../../src/card/layout';

export const CARDS = path.join(__dirname, '../../../fixtures/cards');

export function image(name: string): Record<string, unknown> & {
  holder: unknown;
  beneficiaries: unknown[];
  rights: unknown;
  emergency: { bloodGroup?: string; allergies?: string[]; conditions?: string[] };
  prescriptions: unknown[];
  dispensations: unknown[];
  pin: string;
  puk: string;
} {
  return JSON.parse(fs.readFileSync(path.join(CARDS, `${name}.json`), 'utf8'));
}

export function virtualCard(name: string, opts: VirtualCardOptions = {}): VirtualCard {
  return VirtualCard.fromImage(path.join(CARDS, `${name}.json`), opts);
}

/**
 * A transport onto a virtual card that counts APDUs (as sent on the wire, GET RESPONSE rounds
 * included) and lets a test rewrite responses.
 */
export class CountingTransport implements CardTransport {
  count = 0;
  readonly commands: Buffer[] = [];
  readonly responses: Buffer[] = [];
  rewrite: ((command: Buffer, response: Buffer) => Buffer) | undefined;
  readonly inner: InProcessTransport;

  constructor(readonly card: VirtualCard) {
    this.inner = new InProcessTransport(card);
  }

  get atr(): Buffer {
    return this.inner.atr;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    this.count++;
    this.commands.push(Buffer.from(command));
    const resp = await this.inner.transmit(command);
    const out = this.rewrite ? this.rewrite(command, resp) : resp;
    this.responses.push(out);
    return out;
  }

  /** APDUs with this INS so far. */
  countIns(ins: number): number {
    return this.commands.filter((c) => c[1] === ins).length;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A card image's rights (category names, optional fields left out) as the SDK decodes them: the
 * card's category codes (layout's `CategoryCode`), sequence 0 and no update dates when absent.
 */
export function sdkRights(r: unknown): unknown {
  const img = r as Record<string, unknown> & { category: string | number; beneficiaryRights?: Record<string, unknown>[] };
  const code = (c: unknown): number => (typeof c === 'number' ? c : CategoryCode[c as keyof typeof CategoryCode]);
  const { category, beneficiaryRights, sequence, issuedOn, cardValidUntil, ...rest } = img;
  return {
    ...rest,
    categoryCode: code(category),
    sequence: sequence ?? 0,
    issuedOn,
    cardValidUntil,
    chronic: img.chronic ?? [],
    beneficiaryRights: (beneficiaryRights ?? []).map(({ category: c, ...b }) => ({ ...b, categoryCode: code(c) })),
  };
}
