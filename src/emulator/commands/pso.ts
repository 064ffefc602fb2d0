import { createHash, X509Certificate } from 'node:crypto';
import { FUND_SIGNING_EKU_OID, PIN_REF } from '../../card/layout';
import { SW } from '../../card/status';
import { fit, ok, sw, type Command, type CommandContext, type Reply } from '../context';

/**
 * PERFORM SECURITY OPERATION '2A' (ISO 7816-8 §11).
 *
 * 00 BE  VERIFY CERTIFICATE (insured card): data = an X.509 certificate (DER), usually sent with
 *        command chaining or extended length. Accepted when it parses, holds an EC P-256 key, is
 *        not a CA, is signed by the fund CA whose public key the card holds, and the card's clock
 *        is within its validity. A certificate with the fund-signing extended key usage becomes
 *        the key signed rights updates are checked with (PUT DATA, put-data.ts); any other, a
 *        professional's, the key EXTERNAL AUTHENTICATE checks — never both, so a pharmacist's
 *        card cannot sign rights and the fund's key cannot open the rings. Malformed or wrong key
 *        type: '6A80'; not issued by the fund CA or expired/not yet valid: '6982'. Any attempt
 *        drops an earlier certificate, fund signer and professional authentication.
 * 9E 9A  COMPUTE DIGITAL SIGNATURE (professional card): data = a 32-byte SHA-256 digest; answers
 *        the 64-byte ECDSA r||s signature over it (so it verifies as ES256 over the original
 *        message). Requires the PIN.
 */

export function pso(ctx: CommandContext, cmd: Command): Reply {
  if (cmd.p1 === 0x00 && cmd.p2 === 0xbe) return verifyCertificate(ctx, cmd);
  if (cmd.p1 === 0x9e && cmd.p2 === 0x9a) return computeSignature(ctx, cmd);
  return sw(SW.INCORRECT_P1P2);
}

function verifyCertificate(ctx: CommandContext, cmd: Command): Reply {
  const fundCa = ctx.keys.fundCa;
  if (!fundCa) return sw(SW.FUNCTION_NOT_SUPPORTED);
  ctx.security.certificate = null;
  ctx.security.professional = null;
  ctx.security.fundSigner = null;
  if (cmd.data.length === 0) return sw(SW.WRONG_LENGTH);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(cmd.data);
  } catch {
    return sw(SW.WRONG_DATA);
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1' || cert.ca) {
    return sw(SW.WRONG_DATA);
  }
  let trusted: boolean;
  ctx.work.ecdsa('verify');
  try {
    trusted = cert.verify(fundCa);
  } catch {
    trusted = false;
  }
  if (!trusted) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  const now = ctx.now().getTime();
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(now >= from && now <= to)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  if ((cert.keyUsage ?? []).includes(FUND_SIGNING_EKU_OID)) {
    ctx.security.fundSigner = { publicKey: key, thumbprint: createHash('sha256').update(cert.raw).digest('base64url') };
    return ok();
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  ctx.security.certificate = { publicKey: key, subjectCn: cn };
  return ok();
}

function computeSignature(ctx: CommandContext, cmd: Command): Reply {
  const key = ctx.keys.signingKey;
  if (key === undefined) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  if (cmd.data.length !== 32) return sw(SW.WRONG_LENGTH);
  if (!ctx.security.verified.has(PIN_REF)) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  ctx.work.ecdsa('sign');
  return fit(key.signDigest(cmd.data), cmd.ne);
}
