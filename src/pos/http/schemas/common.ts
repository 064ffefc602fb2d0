import { z } from '../../../common/openapi-zod';

/**
 * Shapes shared by the counter's API responses. Response schemas are strict (no field beyond
 * those described), so the test that checks real answers against them catches an undocumented
 * field as well as a missing one.
 */

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().openapi({ description: 'stable machine-readable code (e.g. `invalid-input`, `professional-pin-required`)' }),
      message: z.string().openapi({ description: 'for people; never contains a PIN' }),
      field: z.string().optional().openapi({ description: 'the request field at fault (`lines[0].quantity`), when there is one' }),
    }),
  })
  .openapi('Error', { description: 'Every error answer of the API.' });

export const centimes = z.number().int().min(0).openapi({ description: 'integer centimes of dinar' });
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .openapi({ description: 'calendar date YYYY-MM-DD' });
export const instant = z.string().openapi({ description: 'ISO 8601 UTC instant', format: 'date-time' });

export const labelSchema = z
  .strictObject({ fr: z.string(), ar: z.string() })
  .openapi('Label', { description: 'A text of the rules (a category, an amount item) in French and Arabic.' });

export const categorySchema = z.string().openapi({ description: 'a category id of the rules in force (e.g. `ordinary`, `chronic`)' });
