import { SW } from '../../card/status';
import { fit, sw, type Command, type CommandContext, type Reply } from '../context';
import { fci, fcp, fmd } from '../fcp';
import { allDfs, MF_FID, type Df, type Ef } from '../filesystem';

/**
 * SELECT (ISO 7816-4 §11.2.2), INS 'A4'.
 *
 * P1: 00 MF/DF/EF by FID (empty data: the MF), 01 child DF, 02 EF of the current DF, 03 parent
 * DF, 04 by DF name (full name, or a unique leading part of it), 08 path from the MF, 09 path
 * from the current DF.
 * P2: b4-b3 = 00 FCI '6F', 01 FCP '62', 10 FMD '64', 11 no response data;
 *     b2-b1 = occurrence — 00 first or only, 01 last (the same here: names are unique),
 *     10 next / 11 previous ('6A82': there is no other occurrence); other bits '6A86'.
 * A failed SELECT leaves the current DF and EF unchanged.
 */
export function select(ctx: CommandContext, cmd: Command): Reply {
  const { p1, p2, data } = cmd;
  if ((p2 & 0xf0) !== 0) return sw(SW.INCORRECT_P1P2);
  const occurrence = p2 & 0x03;
  const response = p2 & 0x0c;
  if (occurrence !== 0 && p1 !== 0x04) return sw(SW.INCORRECT_P1P2);

  let target: { df: Df; ef?: Ef } | undefined;
  switch (p1) {
    case 0x00: {
      if (data.length === 0) {
        target = { df: ctx.mf };
        break;
      }
      if (data.length !== 2) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      target = byFid(ctx, data.readUInt16BE(0));
      break;
    }
    case 0x01: {
      if (data.length !== 2) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      const df = ctx.currentDf.childDf(data.readUInt16BE(0));
      target = df ? { df } : undefined;
      break;
    }
    case 0x02: {
      if (data.length !== 2) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      const ef = ctx.currentDf.efByFid(data.readUInt16BE(0));
      target = ef ? { df: ctx.currentDf, ef } : undefined;
      break;
    }
    case 0x03: {
      if (data.length !== 0) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      const parent = ctx.currentDf.parent;
      target = parent ? { df: parent } : undefined;
      break;
    }
    case 0x04: {
      if (data.length < 1 || data.length > 16) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      if (occurrence >= 0x02) return sw(SW.FILE_NOT_FOUND);
      const matches = allDfs(ctx.mf).filter((d) => d.aid && d.aid.length >= data.length && d.aid.subarray(0, data.length).equals(data));
      target = matches.length === 1 ? { df: matches[0]! } : undefined;
      break;
    }
    case 0x08:
    case 0x09: {
      if (data.length === 0 || data.length % 2 !== 0) return sw(SW.NC_INCONSISTENT_WITH_P1P2);
      target = byPath(p1 === 0x08 ? ctx.mf : ctx.currentDf, data);
      break;
    }
    default:
      return sw(SW.INCORRECT_P1P2);
  }
  if (!target) return sw(SW.FILE_NOT_FOUND);

  ctx.select(target.df, target.ef);
  const file = target.ef ?? target.df;
  switch (response) {
    case 0x00:
      return fit(fci(file), cmd.ne);
    case 0x04:
      return fit(fcp(file), cmd.ne);
    case 0x08:
      return fit(fmd(), cmd.ne);
    default:
      return sw(SW.OK);
  }
}

/** P1 = 00: an EF of the current DF, a child DF, the current DF itself, its parent, or the MF. */
function byFid(ctx: CommandContext, fid: number): { df: Df; ef?: Ef } | undefined {
  if (fid === MF_FID) return { df: ctx.mf };
  const cur = ctx.currentDf;
  const ef = cur.efByFid(fid);
  if (ef) return { df: cur, ef };
  const child = cur.childDf(fid);
  if (child) return { df: child };
  if (cur.fid === fid) return { df: cur };
  if (cur.parent && cur.parent.fid === fid) return { df: cur.parent };
  return undefined;
}

/** A path is a sequence of FIDs: DFs down to the last, which may be a DF or an EF (§7.1.2). */
function byPath(start: Df, path: Buffer): { df: Df; ef?: Ef } | undefined {
  let df = start;
  const n = path.length / 2;
  for (let i = 0; i < n; i++) {
    const fid = path.readUInt16BE(i * 2);
    const last = i === n - 1;
    if (i === 0 && fid === MF_FID && start.parent === undefined) continue; // tolerate a leading 3F00
    const child = df.childDf(fid);
    if (child) {
      df = child;
      continue;
    }
    if (last) {
      const ef = df.efByFid(fid);
      return ef ? { df, ef } : undefined;
    }
    return undefined;
  }
  return { df };
}
