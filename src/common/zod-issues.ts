import type { z } from 'zod';
import { clip } from './display';
import { firstIssueOf, type FieldIssue } from './errors';
import { formatPath } from './field-path';

export { formatPath };

/**
 * Flattens a zod error into field issues, naming unknown keys as fields of their own — cut with
 * `clip`, since an unknown key is whatever the client sent.
 */
export function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: formatPath([...path, clip(key)]), message: 'unknown field' });
    } else {
      out.push({ field: formatPath(path), message: issue.message });
    }
  }
  return out;
}

/** The first of the zod error's issues, its message saying how many more there are (`… (and 2 more)`). */
export function firstZodIssue(error: z.ZodError): FieldIssue {
  return firstIssueOf(zodIssues(error));
}
