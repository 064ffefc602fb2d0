import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';

/**
 * Checks real answers against the API description itself (JSON Schema 2020-12, as OpenAPI 3.1
 * uses it), not against the zod schemas it was generated from, with ajv, the reference validator.
 * Strict mode refuses a schema with a keyword ajv does not know, so no constraint can be passed
 * over by being ignored; only OpenAPI's own annotations are declared as known.
 */

export type JsonSchema = boolean | { [keyword: string]: unknown };

/** OpenAPI 3.1 annotations that may sit in its schemas (they assert nothing). */
const OPENAPI_ANNOTATIONS = ['example', 'discriminator', 'xml', 'externalDocs'];

export class SchemaChecker {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<JsonSchema, ValidateFunction>();

  /** `document` holds `components.schemas`, which `$ref: '#/components/schemas/…'` point into. */
  constructor(private readonly document: { components?: unknown }) {
    for (const k of OPENAPI_ANNOTATIONS) this.ajv.addKeyword(k);
    this.ajv.addKeyword('components');
  }

  /** The problems of `value` against `schema`, each `$.path: message`; empty when it fits. */
  check(schema: JsonSchema, value: unknown): string[] {
    let validate = this.compiled.get(schema);
    if (validate === undefined) {
      const root = typeof schema === 'boolean' ? { allOf: [schema] } : schema;
      validate = this.ajv.compile({ ...root, components: this.document.components });
      this.compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map(describe);
  }
}

function describe(e: ErrorObject): string {
  const at = '$' + e.instancePath.replace(/\/([^/]*)/g, (_m, seg: string) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`));
  const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : '';
  return `${at}: ${e.message ?? e.keyword}${extra}`;
}
