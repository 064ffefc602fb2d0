import type { NvmWrite } from './nvm';

/**
 * What one command made the card do besides moving bytes: the NVM transactions it committed and
 * the ECDSA operations it ran. The OS records it for every command (os.ts `lastWork`); the
 * timing model (timing.ts) turns it into time. Handlers report their signature work with
 * `ctx.work.ecdsa(...)` at the point where the card would start computing.
 */
export interface NvmTransactionWork {
  /** Journalled (anti-tearing on): the journal and its commit flag are programmed too. */
  readonly journalled: boolean;
  /** Each write: region, offset in it and length (the bytes are not kept). */
  readonly writes: readonly { readonly region: string; readonly offset: number; readonly length: number }[];
}

export class CardWork {
  readonly transactions: NvmTransactionWork[] = [];
  ecdsaSign = 0;
  ecdsaVerify = 0;

  ecdsa(operation: 'sign' | 'verify'): void {
    if (operation === 'sign') this.ecdsaSign++;
    else this.ecdsaVerify++;
  }

  nvm(writes: readonly NvmWrite[], journalled: boolean): void {
    this.transactions.push({ journalled, writes: writes.map((w) => ({ region: w.region, offset: w.offset, length: w.bytes.length })) });
  }
}
