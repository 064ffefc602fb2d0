import { verify as verifySignature } from 'node:crypto';
import { z } from 'zod';
import { InsuredFiles, RIGHTS_DOCUMENT_TAG, RIGHTS_DOCUMENT_TYPE, Tags } from '../../card/layout';
import { SW } from '../../card/status';
import { decodeTlv } from '../../card/tlv';
import { isoDateSchema } from '../../common/calendar-date';
import { ok, sw, type Command, type CommandContext, type Reply } from '../context';
import { encodeRights, type CardRights } from '../encode';
import { pad } from '../filesystem';

/**
 * PUT DATA 'DA' (ISO 7816-4 §7.4.3) of the rights object E2 (P1-P2 '00E2'), in the only form this
 * card accepts it: the fund's signed rights document (docs/card-layout.md §6a). "The nature of
 * the data object induces the management function": the card verifies the document and then
 * replaces EF.RIGHTS with the rights it carries, in one NVM transaction — a tear leaves the old
 * rights or the new ones, never a mix.
 *
 * Data: the compact JWS (RFC 7515 §7.1, ASCII), ES256, `typ` chifa-rights+jws, as the fund signed
 * it — the terminal relays it untouched, so the one signature the counter checked is the one the
 * card checks. The card requires, in this order:
 *   - a fund signing certificate accepted by PSO: VERIFY CERTIFICATE since the last reset
 *     (pso.ts): '6982' without one;
 *   - a well-formed JWS naming that certificate (`x5t#S256`), of the right type: '6A80';
 *   - the signature verifies with that certificate's key: '6300' (verification failed);
 *   - a payload of the right shape, for this card's serial: '6A80';
 *   - the card's clock between the document's `issuedOn` and `validUntil`, and a `sequence`
 *     above the one EF.RIGHTS holds (no rollback to older rights): '6985';
 *   - the new EF.RIGHTS fits in its 256 bytes: '6A84'.
 * No PIN is needed: the fund's signature is the authority over the rights, and neither a
 * pharmacy nor the holder can raise them. Any other P1-P2: '6A88'.
 */

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const code = z
  .string()
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/)
  .max(16);

const documentSchema = z.strictObject({
  v: z.literal(1),
  cardSerial: code,
  sequence: int(1, 0xffffffff),
  issuedOn: isoDateSchema,
  validUntil: isoDateSchema,
  rights: z.strictObject({
    fund: int(1, 255),
    category: int(1, 255),
    rateBp: int(0, 10000),
    rightsEnd: isoDateSchema,
    cardValidUntil: isoDateSchema.optional(),
    chronic: z.array(z.strictObject({ code, validUntil: isoDateSchema })).max(8),
    beneficiaryRights: z
      .array(z.strictObject({ rank: int(1, 15), category: int(1, 255), rateBp: int(0, 10000), rightsEnd: isoDateSchema }))
      .max(10),
  }),
});

const headerSchema = z.strictObject({ alg: z.literal('ES256'), typ: z.literal(RIGHTS_DOCUMENT_TYPE), 'x5t#S256': z.string() });

export function putData(ctx: CommandContext, cmd: Command): Reply {
  if (((cmd.p1 << 8) | cmd.p2) !== RIGHTS_DOCUMENT_TAG) return sw(SW.REFERENCE_DATA_NOT_FOUND);
  const ef = ctx.currentDf.efByFid(InsuredFiles.rights.fid);
  if (!ef || ef.kind !== 'transparent') return sw(SW.REFERENCE_DATA_NOT_FOUND);
  const signer = ctx.security.fundSigner;
  if (!signer) return sw(SW.SECURITY_STATUS_NOT_SATISFIED);
  if (cmd.data.length === 0) return sw(SW.WRONG_LENGTH);

  const parts = cmd.data.toString('latin1').split('.');
  if (parts.length !== 3 || parts.some((x) => !/^[A-Za-z0-9_-]+$/.test(x))) return sw(SW.WRONG_DATA);
  const header = headerSchema.safeParse(json(parts[0]!));
  if (!header.success || header.data['x5t#S256'] !== signer.thumbprint) return sw(SW.WRONG_DATA);
  const signature = Buffer.from(parts[2]!, 'base64url');
  if (signature.length !== 64) return sw(SW.WRONG_DATA);
  const signingInput = Buffer.from(`${parts[0]}.${parts[1]}`, 'latin1');
  if (!verifySignature('sha256', signingInput, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    return sw(SW.VERIFICATION_FAILED);
  }
  const doc = documentSchema.safeParse(json(parts[1]!));
  if (!doc.success) return sw(SW.WRONG_DATA);
  const d = doc.data;
  const serial = ctx.dataObjects.get(0x5a)?.toString('latin1');
  if (d.cardSerial !== serial) return sw(SW.WRONG_DATA);

  const today = ctx.now().toISOString().slice(0, 10);
  if (today < d.issuedOn || today > d.validUntil) return sw(SW.CONDITIONS_OF_USE_NOT_SATISFIED);
  if (d.sequence <= sequenceOf(ef.data)) return sw(SW.CONDITIONS_OF_USE_NOT_SATISFIED);

  const rights: CardRights = { ...d.rights, sequence: d.sequence, issuedOn: d.issuedOn };
  const template = encodeRights(rights);
  if (template.length > ef.size) return sw(SW.NOT_ENOUGH_MEMORY);
  ctx.nvm.commit(ef.stageWrite(0, pad(template, ef.size)));
  return ok();
}

function json(b64u: string): unknown {
  try {
    return JSON.parse(Buffer.from(b64u, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The `sequence` the current EF.RIGHTS holds (0 when absent, as personalised, or unreadable). */
function sequenceOf(file: Buffer): number {
  try {
    const [template] = decodeTlv(file, { allowTrailing: true });
    const seq = template?.children?.find((c) => c.tag === Tags.rights.sequence);
    if (!seq || seq.value.length < 1 || seq.value.length > 4) return 0;
    return seq.value.readUIntBE(0, seq.value.length);
  } catch {
    return 0;
  }
}
