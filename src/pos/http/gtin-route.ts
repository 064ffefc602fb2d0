import type { Router } from 'express';
import { normalizeGtin } from '../../common/gs1';
import { z } from '../../common/openapi-zod';
import type { CatalogueStore } from '../../billing/catalogue/store';
import { hit } from '../counter/catalogue-search';
import { HttpError } from './errors';
import { reply, type ApiRoutes } from './routes';
import { productSchema } from './schemas/sale';

/**
 * `GET /api/catalogue/gtin/:gtin`: the product a scanned barcode names. `gtin` is the 8, 12, 13
 * or 14 digits of a GTIN with its check digit (src/common/gs1.js; the page reads the barcode
 * itself and sends the GTIN). Answers `{ gtin, product }`: `gtin` as 14 digits, `product` as
 * `GET /api/catalogue/:code` gives it, or null when the catalogue has no product with this GTIN —
 * an unknown barcode is an everyday answer at a counter (the page lets the pharmacist pick the
 * product), not an error. `400 invalid-input` naming `gtin` for anything that is not a GTIN.
 */
export function mountGtinRoute(api: Router, routes: ApiRoutes, catalogue: CatalogueStore): void {
  routes.add(
    api,
    {
      method: 'get',
      path: '/catalogue/gtin/:gtin',
      tag: 'sale',
      summary: 'The product a scanned GTIN names (null when the catalogue has none)',
      params: gtinParams,
      responses: { 200: { description: 'the GTIN as 14 digits, and the product or null', schema: gtinAnswerSchema } },
    },
    ({ params }) => {
      const gtin = normalizeGtin(params.gtin);
      if (gtin === undefined)
        throw new HttpError(400, 'invalid-input', 'gtin: expected 8, 12, 13 or 14 digits with a correct GS1 check digit', 'gtin');
      const p = catalogue.byGtin(gtin);
      return reply(200, { gtin, product: p ? hit(p) : null });
    },
  );
}

const gtinParams = z.strictObject({
  gtin: z.string().openapi({ description: '8, 12, 13 or 14 digits with the GS1 check digit' }),
});

export const gtinAnswerSchema = z
  .strictObject({ gtin: z.string().regex(/^\d{14}$/), product: productSchema.nullable() })
  .openapi('GtinLookup');
