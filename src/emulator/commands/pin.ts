import { PIN_BLOCK_LENGTH, PIN_REF, PUK_REF } from '../../card/layout';
import { SW } from '../../card/status';
import { ok, sw, type Command, type CommandContext, type Reply } from '../context';
import type { PinObject } from '../security';

/**
 * VERIFY '20', CHANGE REFERENCE DATA '24', RESET RETRY COUNTER '2C' (ISO 7816-4 §11.5.6-§11.5.10).
 *
 * Retry counters are decremented and committed to NVM *before* the comparison; only a match
 * restores them. A wrong value answers '63Cx' (x = tries left), a blocked object '6983'. A
 * malformed block (not 1-8 ASCII digits padded with FF, or the wrong number of digits for the
 * object) answers '6A80' and spends nothing: the card rejects it before it is a guess.
 */

function pinFor(ctx: CommandContext, ref: number): PinObject | undefined {
  return ctx.pins.get(ref);
}

const wrong = (pin: PinObject): Reply => sw(0x63c0 | Math.min(15, pin.triesLeft));

/** Spends one try, then compares. Returns true on a match (and restores the counter). */
function check(ctx: CommandContext, pin: PinObject, block: Buffer, onMatch: PinObject[] = [], newBlock?: Buffer): boolean {
  ctx.nvm.commit(pin.stageDecrement());
  if (!pin.matches(block)) return false;
  // One transaction: the presented object's counter back to max, plus what the match unlocks.
  const writes = [...pin.stageReset(onMatch.length === 0 ? newBlock : undefined)];
  for (const other of onMatch) writes.push(...other.stageReset(newBlock));
  ctx.nvm.commit(writes);
  return true;
}

export function verify(ctx: CommandContext, cmd: Command): Reply {
  const pin = pinFor(ctx, cmd.p2);
  if (cmd.p1 === 0xff) {
    // ISO 7816-4:2013 §11.5.6: P1 = FF with no data sets the reference back to "not verified".
    if (cmd.data.length !== 0) return sw(SW.WRONG_LENGTH);
    if (!pin) return sw(SW.REFERENCE_DATA_NOT_FOUND);
    ctx.security.verified.delete(pin.ref);
    return ok();
  }
  if (cmd.p1 !== 0x00) return sw(SW.INCORRECT_P1P2);
  if (!pin) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  if (cmd.data.length === 0) {
    // Status query: tries left, without spending one.
    if (pin.blocked) return sw(SW.AUTH_METHOD_BLOCKED);
    if (ctx.security.verified.has(pin.ref)) return ok();
    return wrong(pin);
  }
  if (cmd.data.length !== PIN_BLOCK_LENGTH) return sw(SW.WRONG_LENGTH);
  if (!pin.acceptsFormat(cmd.data)) return sw(SW.WRONG_DATA);
  if (pin.blocked) return sw(SW.AUTH_METHOD_BLOCKED);
  ctx.security.verified.delete(pin.ref);
  if (!check(ctx, pin, cmd.data)) return wrong(pin);
  ctx.security.verified.add(pin.ref);
  return ok();
}

export function changeReferenceData(ctx: CommandContext, cmd: Command): Reply {
  // P1 = 01 (new value only, after a VERIFY) is not offered: the old value is always required.
  if (cmd.p1 !== 0x00) return sw(SW.INCORRECT_P1P2);
  const pin = pinFor(ctx, cmd.p2);
  if (!pin) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  if (cmd.data.length !== 2 * PIN_BLOCK_LENGTH) return sw(SW.WRONG_LENGTH);
  const oldBlock = cmd.data.subarray(0, PIN_BLOCK_LENGTH);
  const newBlock = cmd.data.subarray(PIN_BLOCK_LENGTH);
  if (!pin.acceptsFormat(oldBlock) || !pin.acceptsFormat(newBlock)) return sw(SW.WRONG_DATA);
  if (pin.blocked) return sw(SW.AUTH_METHOD_BLOCKED);
  ctx.security.verified.delete(pin.ref);
  if (!check(ctx, pin, oldBlock, [], newBlock)) return wrong(pin);
  ctx.security.verified.add(pin.ref);
  return ok();
}

/**
 * P1 = 00: data = PUK block || new PIN block (unblocks and sets a new PIN);
 * P1 = 01: data = PUK block (unblocks, PIN unchanged). P2 must be the PIN (81).
 */
export function resetRetryCounter(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 !== 0x00 && cmd.p1 !== 0x01) return sw(SW.INCORRECT_P1P2);
  const pin = cmd.p2 === PIN_REF ? pinFor(ctx, PIN_REF) : undefined;
  const puk = pinFor(ctx, PUK_REF);
  if (!pin || !puk) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  const expected = cmd.p1 === 0x00 ? 2 * PIN_BLOCK_LENGTH : PIN_BLOCK_LENGTH;
  if (cmd.data.length !== expected) return sw(SW.WRONG_LENGTH);
  const pukBlock = cmd.data.subarray(0, PIN_BLOCK_LENGTH);
  const newBlock = cmd.p1 === 0x00 ? cmd.data.subarray(PIN_BLOCK_LENGTH) : undefined;
  if (!puk.acceptsFormat(pukBlock) || (newBlock && !pin.acceptsFormat(newBlock))) return sw(SW.WRONG_DATA);
  if (puk.blocked) return sw(SW.AUTH_METHOD_BLOCKED);
  ctx.security.verified.delete(pin.ref);
  if (!check(ctx, puk, pukBlock, [pin], newBlock)) return wrong(puk);
  return ok();
}
