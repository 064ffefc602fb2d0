import { SW } from '../../card/status';
import type { CommandContext } from '../context';
import type { Ef } from '../filesystem';

/**
 * Finds the EF a command addresses: by short EF identifier (which also makes it the current EF,
 * ISO 7816-4 §7.2.2 / §7.3.3), or the current EF when no SFI is given. Answers a status word
 * when there is none.
 */
export function resolveEf(ctx: CommandContext, sfi: number): Ef | number {
  if (sfi === 0) return ctx.currentEf ?? SW.COMMAND_NOT_ALLOWED_NO_EF;
  const ef = ctx.currentDf.efBySfi(sfi);
  if (!ef) return SW.FILE_NOT_FOUND;
  ctx.select(ctx.currentDf, ef);
  return ef;
}
