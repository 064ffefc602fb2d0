import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { toCsv, type CsvCell, type CsvDelimiter } from '../backoffice/csv';
import { parseBody } from '../counter/request';
import { z } from '../../common/openapi-zod';
import type { PathTemplates } from './path-params';
import { errorBodySchema } from './schemas/common';

/**
 * The counter's routes and their description are one table: each route is declared once with the
 * zod schemas of its path parameters, query, body and answers, and `add` both mounts it on the
 * express router and registers it for the OpenAPI 3.1 document (@asteasolutions/zod-to-openapi).
 * The request schemas are the ones that validate the request (a bad one is 400 naming the field);
 * the handler's answer is type-checked against the response schema of the status it returns.
 */

export type Method = 'get' | 'post';

/** Error statuses, with what each means on this API (src/pos/http/errors.ts). */
export const ERROR_STATUSES = {
  400: 'bad input: the field at fault is named (`error.field`)',
  401: 'no or wrong bearer token',
  403: 'a Host header that is not a loopback name (when the counter is bound to loopback)',
  404: 'unknown product, invoice or job, or not available in this mode',
  409: 'the cards or the journal do not allow it now (no card, PIN needed, card removed, request id reused…)',
  413: 'body larger than 64 KB',
  415: 'a body that is not uncompressed UTF-8 JSON',
  500: 'a bug of the counter (details only in its log)',
  503: 'the PC/SC service, the journal or the rules are not available',
} as const;
export type ErrorStatus = keyof typeof ERROR_STATUSES;

/** Every route answers these; the token-protected ones also 401 and the request checks (400, 413, 415). */
const OPEN_ERRORS: readonly ErrorStatus[] = [403, 500];
const TOKEN_ERRORS: readonly ErrorStatus[] = [400, 401, 403, 413, 415, 500];
/** The event stream reads no body: it checks the token or ticket and its query itself. */
const STREAM_ERRORS: readonly ErrorStatus[] = [400, 401, 403, 500];

export interface ApiResponse<S extends z.ZodType = z.ZodType> {
  description: string;
  schema: S;
}

export type Responses = Record<number, ApiResponse>;

export interface RouteSpec<R extends Responses, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** Express template under /api: `/card-writes/:number/complete`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /**
   * False for the two routes that hold no data (health, the API description): no token.
   * `'or-ticket'`: the token, or a single-use ticket in the query (the event stream, which a
   * browser's EventSource opens without headers).
   */
  token?: boolean | 'or-ticket';
  params?: P;
  query?: Q;
  /** The JSON body; `optional`: the route also takes none (read as `{}`). */
  body?: { schema: B; what: string; description?: string; optional?: boolean };
  responses: R;
  /** Error statuses this route answers besides those every route answers. */
  errors?: readonly ErrorStatus[];
  /**
   * The route also answers its 200 as a CSV file (`?format=csv` of the back office's pages): what
   * the file holds. Its handler then returns a `CsvFile` for it.
   */
  csv?: string;
}

/** What a handler returns: one of the route's documented statuses, with a body of its schema. */
export type Reply<R extends Responses> = { [S in keyof R & number]: { status: S; body: z.input<R[S]['schema']> } }[keyof R & number];

/** A handler's answer: `reply(200, body)` (keeps the status a literal, so it is checked against the route's). */
export function reply<S extends number, T>(status: S, body: T): { status: S; body: T } {
  return { status, body };
}

/**
 * A CSV file answered instead of the JSON body (src/pos/backoffice/csv.ts: UTF-8 with a byte-order
 * mark, CRLF, `,` or `;` between fields, formula-looking cells neutralised), as an attachment
 * named `name`.csv.
 */
export class CsvFile {
  constructor(
    readonly name: string,
    readonly header: readonly string[],
    readonly rows: readonly (readonly CsvCell[])[],
    /** The field separator the query asked for (`?delimiter=`). */
    readonly delimiter: CsvDelimiter = 'comma',
  ) {}

  send(res: Response): void {
    res.type('text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${this.name.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`);
    res.status(200).send(toCsv(this.header, this.rows, this.delimiter));
  }
}

export interface RouteInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params: z.output<P>;
  query: z.output<Q>;
  body: z.output<B>;
  req: Request;
}

/** A route as mounted: for the description and for the test that matches real answers to it. */
export interface MountedRoute {
  method: Method;
  /** Full express path: `/api/catalogue/:code`. */
  path: string;
  /** OpenAPI path: `/api/catalogue/{code}`. */
  openapiPath: string;
  token: boolean | 'or-ticket';
  responses: Readonly<Record<number, z.ZodType>>;
}

const csvSchema = z.string();

const openapiPath = (expressPath: string): string => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export class ApiRoutes {
  readonly registry = new OpenAPIRegistry();
  readonly routes: MountedRoute[] = [];
  private document: object | undefined;

  constructor(
    private readonly prefix: string,
    private readonly paths: PathTemplates,
  ) {
    this.registry.registerComponent('securitySchemes', 'bearerToken', {
      type: 'http',
      scheme: 'bearer',
      description: 'The API token: `DATA/token`, or the one the page URL carries in its fragment (`#token=`).',
    });
    this.registry.registerComponent('securitySchemes', 'eventTicket', {
      type: 'apiKey',
      in: 'query',
      name: 'ticket',
      description: 'A single-use ticket from POST /api/events/ticket, for the event stream only.',
    });
    this.registry.register('Error', errorBodySchema);
  }

  add<R extends Responses, P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
    router: Router,
    spec: RouteSpec<R, P, Q, B>,
    handler: (input: RouteInput<P, Q, B>) => Reply<R> | CsvFile | Promise<Reply<R> | CsvFile>,
  ): void {
    this.describe(spec, 'application/json');
    router[spec.method](spec.path, async (req, res) => {
      const input: RouteInput<P, Q, B> = {
        params: (spec.params ? parseBody(spec.params, { ...req.params }, 'path') : {}) as z.output<P>,
        query: (spec.query ? parseBody(spec.query, { ...(req.query as object) }, 'query') : {}) as z.output<Q>,
        body: (spec.body ? parseBody(spec.body.schema, req.body, spec.body.what) : undefined) as z.output<B>,
        req,
      };
      const reply = await handler(input);
      if (reply instanceof CsvFile) {
        if (spec.csv === undefined) throw new Error(`${spec.method.toUpperCase()} ${spec.path} answered CSV without describing it`);
        return reply.send(res);
      }
      res.status(reply.status).json(reply.body);
    });
  }

  /**
   * A route whose answer is not one JSON body (the Server-Sent Events stream): described like the
   * others — its success answers with `mediaType` — and mounted with its own express handler,
   * which validates its own input.
   */
  addStream<R extends Responses, Q extends z.ZodType = z.ZodObject>(
    router: Router,
    spec: RouteSpec<R, z.ZodObject, Q, z.ZodUnknown>,
    mediaType: string,
    handler: RequestHandler,
  ): void {
    this.describe(spec, mediaType);
    router[spec.method](spec.path, handler);
  }

  private describe(spec: RouteSpec<Responses, z.ZodType, z.ZodType, z.ZodType>, successMediaType: string): void {
    const token = spec.token ?? true;
    const full = this.prefix + spec.path;
    if (spec.path.includes(':')) this.paths.add(spec.path);
    const base = token === false ? OPEN_ERRORS : token === 'or-ticket' ? STREAM_ERRORS : TOKEN_ERRORS;
    const errors = [...new Set([...base, ...(spec.errors ?? [])])].sort();
    const responses: Record<string, { description: string; content: Record<string, { schema: z.ZodType }> }> = {};
    for (const [status, r] of Object.entries(spec.responses))
      responses[status] = { description: r.description, content: { [successMediaType]: { schema: r.schema } } };
    if (spec.csv !== undefined && responses['200'])
      responses['200'].content['text/csv'] = { schema: csvSchema.openapi({ description: spec.csv }) };
    for (const status of errors)
      responses[String(status)] = { description: ERROR_STATUSES[status], content: { 'application/json': { schema: errorBodySchema } } };
    this.registry.registerPath({
      method: spec.method,
      path: openapiPath(full),
      summary: spec.summary,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      tags: [spec.tag],
      security: token === 'or-ticket' ? [{ bearerToken: [] }, { eventTicket: [] }] : token ? [{ bearerToken: [] }] : [],
      request: {
        ...(spec.params ? { params: spec.params as unknown as z.ZodObject } : {}),
        ...(spec.query ? { query: spec.query as unknown as z.ZodObject } : {}),
        ...(spec.body
          ? {
              body: {
                required: spec.body.optional !== true,
                ...(spec.body.description !== undefined ? { description: spec.body.description } : {}),
                content: { 'application/json': { schema: spec.body.schema } },
              },
            }
          : {}),
      },
      responses,
    });
    const schemas: Record<number, z.ZodType> = {};
    for (const [status, r] of Object.entries(spec.responses)) schemas[Number(status)] = r.schema;
    for (const status of errors) schemas[status] = errorBodySchema;
    this.routes.push({ method: spec.method, path: full, openapiPath: openapiPath(full), token, responses: schemas });
    this.document = undefined;
  }

  /** The OpenAPI 3.1 document of every route added so far. */
  openapi(): object {
    this.document ??= new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'chifa-terminal counter API',
        version: '1',
        description:
          'The pharmacy counter: the insured and professional cards, quotes, checkouts (an invoice signed by the professional card, its records written on the insured card), card writes, receipts and the batches sent to the fund. Every amount is integer centimes of dinar. Every error is `{ error: { code, message, field? } }`.',
      },
      servers: [{ url: '/' }],
    });
    return this.document;
  }
}
