import { z } from '../../../common/openapi-zod';
import { holderSchema, pharmacySchema, readerStatusSchema, rightsUpdateSchema } from './card';
import { isoDate } from './common';
import { pendingWriteSchema } from './sale';
import { backlogSchema } from './sync';

/** `GET /api/status` and `GET /api/health` (src/pos/counter/results.ts CounterStatus). */

export const healthSchema = z.strictObject({ ok: z.literal(true), mode: z.enum(['demo', 'pcsc']) }).openapi('Health');

export const statusSchema = z
  .strictObject({
    mode: z.enum(['demo', 'pcsc']),
    serviceAvailable: z.boolean(),
    readers: z.array(readerStatusSchema),
    today: isoDate,
    busy: z.boolean().openapi({ description: 'a card operation is running' }),
    insured: z.strictObject({
      present: z.boolean(),
      opened: z.boolean(),
      verified: z.boolean(),
      holder: holderSchema.nullable(),
      pinRetriesLeft: z.number().int().nullable(),
      pendingWrites: z.array(z.number().int()),
      rights: rightsUpdateSchema.nullable(),
    }),
    professional: z.strictObject({ present: z.boolean(), unlocked: z.boolean(), pharmacy: pharmacySchema.nullable() }),
    pendingWrites: z.array(pendingWriteSchema),
    sync: backlogSchema.nullable(),
    demo: z
      .strictObject({ insuredPin: z.string(), professionalPin: z.string().optional() })
      .nullable()
      .openapi({ description: 'demo mode only: the PINs of the TEST ONLY demo cards' }),
  })
  .openapi('Status');

export const demoCardSchema = z.strictObject({ which: z.enum(['insured', 'professional']), inserted: z.boolean() }).openapi('DemoCard');

/** The API description itself: an OpenAPI 3.1 document (its schema is the OpenAPI specification's). */
export const openapiDocumentSchema = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

export const eventTicketSchema = z
  .strictObject({ ticket: z.string(), expiresInMs: z.number().int() })
  .openapi('EventTicket', { description: 'Good for one event stream, opened within `expiresInMs`.' });

export const eventStreamQuery = z.object({
  ticket: z.string().optional().openapi({ description: 'from POST /api/events/ticket (instead of the Authorization header)' }),
  lastEventId: z.string().optional().openapi({ description: 'resume after this event id (as the Last-Event-ID header does)' }),
});

/** The stream itself, as OpenAPI 3.1 can say it: text; each event's `data:` is JSON. */
export const eventStreamSchema = z.string().openapi({ description: 'Server-Sent Events (text/event-stream)' });
