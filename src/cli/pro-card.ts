import { ProfessionalCard, professionalCardSigner } from '../card/chifa';
import { PcscTransport } from '../card/pcsc';
import { ChifaError } from '../common/errors';
import type { Signer } from '../sync/signer';
import { chooseReader } from './readers';

/**
 * The pharmacist's professional card in a PC/SC reader as the signer of a command line tool:
 * its PIN verified once, then every signature (batch manifests, request tokens for the fund) is a
 * PSO: COMPUTE DIGITAL SIGNATURE on the card — the key never leaves it. The reader is held in
 * exclusive mode while the command runs, so no other application can reset the card's PIN state
 * in between.
 */

export interface ProfessionalCardSigner {
  signer: Signer;
  reader: string;
  pharmacyId: string;
  close(): Promise<void>;
}

/** Opens the card in `readerName` (exact, or a unique part of the name) and verifies `pin`, which is then forgotten. */
export async function openProfessionalSigner(readerName: string, pin: () => Promise<string>): Promise<ProfessionalCardSigner> {
  const reader = await chooseReader(readerName);
  const transport = await PcscTransport.connect(reader, { share: 'exclusive' });
  try {
    const card = await ProfessionalCard.open(transport);
    const r = await card.verifyPin(await pin());
    if (r.kind === 'wrongPin')
      throw new ChifaError(
        'wrong-pin',
        `wrong PIN for the professional card in "${reader}": ${r.retriesLeft} ${r.retriesLeft === 1 ? 'try' : 'tries'} left`,
      );
    if (r.kind === 'blocked') throw new ChifaError('pin-blocked', `the professional card's PIN is blocked (unblock it with its PUK)`);
    return { signer: professionalCardSigner(card), reader, pharmacyId: card.identity.pharmacyId, close: () => transport.close() };
  } catch (err) {
    await transport.close().catch(() => undefined);
    throw err;
  }
}
