import type { FundEndpoint } from '../../sync/http';
import { RequestAuthenticator } from '../../sync/request-auth';
import { fetchRights, type SignedRights } from '../../sync/rights';
import type { Signer } from '../../sync/signer';
import type { RightsSource } from './rights-update';

/**
 * The fund as the counter's source of a card's current rights (`GET /v1/rights/:cardSerial`,
 * docs/sync.md "Rights"): each request is authenticated with the professional card's signer the
 * counter lends under its lock, and the answer is verified against the fund CA before the counter
 * sees it (src/sync/rights.ts).
 */
export class FundRightsSource implements RightsSource {
  /** `endpoint` carries the fund's URL, TLS trust and verifier; its `auth` is made per request. */
  constructor(
    private readonly endpoint: FundEndpoint,
    private readonly now?: () => Date,
  ) {}

  fetch(cardSerial: string, signer: Signer): Promise<SignedRights> {
    const auth = new RequestAuthenticator(signer, this.now ? { now: this.now } : {});
    return fetchRights({ ...this.endpoint, auth }, cardSerial);
  }
}
