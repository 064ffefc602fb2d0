/**
 * A JSON Schema (2020-12, as OpenAPI 3.1 uses it) checker for the keywords the counter's API
 * description contains, to check real answers against the document itself rather than against
 * the zod schemas it was generated from. It refuses a schema with a keyword it does not know, so
 * it can never pass a value by ignoring a constraint.
 */

export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Keywords that only annotate. */
const ANNOTATIONS = new Set(['description', 'title', 'format', 'default', 'example', 'examples', 'discriminator', 'deprecated']);
const ASSERTIONS = new Set([
  '$ref',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
]);

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

export class SchemaChecker {
  constructor(private readonly root: Record<string, unknown>) {}

  /** The problems of `value` against `schema` (empty when it conforms). */
  check(schema: JsonSchema, value: unknown, at = '$'): string[] {
    if (schema === true) return [];
    if (schema === false) return [`${at}: no value is allowed here`];
    for (const k of Object.keys(schema))
      if (!ANNOTATIONS.has(k) && !ASSERTIONS.has(k)) throw new Error(`${at}: the checker does not know the keyword "${k}"`);
    const out: string[] = [];
    const s = schema as Record<string, unknown>;
    if (typeof s.$ref === 'string') out.push(...this.check(this.resolve(s.$ref), value, at));
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const t = typeOf(value);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) out.push(`${at}: expected ${types.join(' or ')}, got ${t}`);
    }
    if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => e === value))
      out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    if (s.const !== undefined && s.const !== value) out.push(`${at}: expected ${JSON.stringify(s.const)}`);
    if (typeof value === 'string') {
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) out.push(`${at}: does not match ${s.pattern}`);
      const n = [...value].length;
      if (typeof s.minLength === 'number' && n < s.minLength) out.push(`${at}: shorter than ${s.minLength}`);
      if (typeof s.maxLength === 'number' && n > s.maxLength) out.push(`${at}: longer than ${s.maxLength}`);
    }
    if (typeof value === 'number') {
      if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${at}: below ${s.minimum}`);
      if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${at}: above ${s.maximum}`);
      if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) out.push(`${at}: not above ${s.exclusiveMinimum}`);
      if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) out.push(`${at}: not below ${s.exclusiveMaximum}`);
    }
    if (Array.isArray(value)) {
      if (typeof s.minItems === 'number' && value.length < s.minItems) out.push(`${at}: fewer than ${s.minItems} items`);
      if (typeof s.maxItems === 'number' && value.length > s.maxItems) out.push(`${at}: more than ${s.maxItems} items`);
      if (s.items !== undefined) value.forEach((v, i) => out.push(...this.check(s.items as JsonSchema, v, `${at}[${i}]`)));
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const obj = value as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in obj)) out.push(`${at}: missing ${r}`);
      for (const [k, v] of Object.entries(obj)) {
        if (s.propertyNames !== undefined) out.push(...this.check(s.propertyNames as JsonSchema, k, `${at}{${k}}`));
        if (k in props) out.push(...this.check(props[k]!, v, `${at}.${k}`));
        else if (s.additionalProperties !== undefined) out.push(...this.check(s.additionalProperties as JsonSchema, v, `${at}.${k}`));
      }
    }
    if (Array.isArray(s.allOf)) for (const sub of s.allOf as JsonSchema[]) out.push(...this.check(sub, value, at));
    for (const [keyword, exactlyOne] of [
      ['anyOf', false],
      ['oneOf', true],
    ] as const) {
      if (!Array.isArray(s[keyword])) continue;
      const results = (s[keyword] as JsonSchema[]).map((sub) => this.check(sub, value, at));
      const n = results.filter((r) => r.length === 0).length;
      if (n === 0) {
        // Say why with the branch that came closest.
        const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
        out.push(`${at}: matches none of ${keyword}; closest: ${closest.join('; ')}`);
      } else if (exactlyOne && n > 1) out.push(`${at}: matches ${n} of oneOf, expected exactly 1`);
    }
    return out;
  }

  private resolve(ref: string): JsonSchema {
    if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
    let node: unknown = this.root;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`unresolved reference ${ref}`);
    return node as JsonSchema;
  }
}
