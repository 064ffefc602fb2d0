import type { Router } from 'express';
import { normalizeGtin } from '../../common/gs1';
import type { CatalogueStore } from '../../billing/catalogue/store';
import { hit } from '../counter/catalogue-search';
import { HttpError } from './errors';
import type { PathTemplates } from './path-params';

/**
 * `GET /api/catalogue/gtin/:gtin`: the product a scanned barcode names. `gtin` is the 8, 12, 13
 * or 14 digits of a GTIN with its check digit (src/common/gs1.js; the page reads the barcode
 * itself and sends the GTIN). Answers `{ gtin, product }`: `gtin` as 14 digits, `product` as
 * `GET /api/catalogue/:code` gives it, or null when the catalogue has no product with this GTIN —
 * an unknown barcode is an everyday answer at a counter (the page lets the pharmacist pick the
 * product), not an error. `400 invalid-input` naming `gtin` for anything that is not a GTIN.
 */
export function mountGtinRoute(api: Router, paths: PathTemplates, catalogue: CatalogueStore): void {
  api.get(paths.add('/catalogue/gtin/:gtin'), (req, res) => {
    const raw = req.params.gtin;
    const gtin = typeof raw === 'string' ? normalizeGtin(raw) : undefined;
    if (gtin === undefined)
      throw new HttpError(400, 'invalid-input', 'gtin: expected 8, 12, 13 or 14 digits with a correct GS1 check digit', 'gtin');
    const p = catalogue.byGtin(gtin);
    res.json({ gtin, product: p ? hit(p) : null });
  });
}
