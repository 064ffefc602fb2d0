import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { PIN_REF, PRO_SIGN_KEY_REF } from '../../card/layout';
import { SW } from '../../card/status';
import { fit, ok, sw, type Command, type CommandContext, type Reply } from '../context';

/**
 * GET CHALLENGE '84', EXTERNAL AUTHENTICATE '82', INTERNAL AUTHENTICATE '88'
 * (ISO 7816-4 §11.5.2-§11.5.4).
 *
 * Professional authentication on the insured card: after PSO: VERIFY CERTIFICATE accepted the
 * professional's certificate, the terminal asks for a challenge, has the professional card sign
 * it (ECDSA P-256 with SHA-256 over the challenge bytes) and sends the 64-byte r||s signature in
 * EXTERNAL AUTHENTICATE. The challenge is single-use: any EXTERNAL AUTHENTICATE consumes it, and
 * a new GET CHALLENGE, a reset or leaving the application discards it.
 */

const MIN_CHALLENGE = 8;
const MAX_CHALLENGE = 32;
const SIGNATURE_LENGTH = 64;

export function getChallenge(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return sw(SW.INCORRECT_P1P2);
  if (cmd.data.length !== 0 || cmd.ne < MIN_CHALLENGE || cmd.ne > MAX_CHALLENGE) return sw(SW.WRONG_LENGTH);
  const challenge = ctx.random(cmd.ne);
  ctx.security.challenge = challenge;
  return ok(Buffer.from(challenge));
}

export function externalAuthenticate(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) return sw(SW.INCORRECT_P1P2);
  if (!ctx.keys.fundCa) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  const challenge = ctx.security.challenge;
  ctx.security.challenge = null;
  ctx.security.professional = null;
  const cert = ctx.security.certificate;
  if (!challenge || !cert) return sw(SW.CONDITIONS_OF_USE_NOT_SATISFIED);
  if (cmd.data.length !== SIGNATURE_LENGTH) return sw(SW.WRONG_LENGTH);
  let good: boolean;
  ctx.work.ecdsa('verify');
  try {
    good = cryptoVerify('sha256', challenge, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, cmd.data);
  } catch {
    good = false;
  }
  if (!good) return sw(SW.VERIFICATION_FAILED);
  ctx.security.professional = cert;
  return ok();
}

export function internalAuthenticate(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 !== 0) return sw(SW.INCORRECT_P1P2);
  if (cmd.p2 !== PRO_SIGN_KEY_REF || !ctx.keys.signing) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  if (cmd.data.length === 0 || cmd.data.length > 255) return sw(SW.WRONG_LENGTH);
  if (!ctx.security.verified.has(PIN_REF)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  ctx.work.ecdsa('sign');
  const sig = cryptoSign('sha256', cmd.data, { key: ctx.keys.signing, dsaEncoding: 'ieee-p1363' });
  return fit(sig, cmd.ne);
}
