import type { z } from 'zod';
import type { FieldIssue } from './errors';
import { formatPath } from './field-path';

export { formatPath };

/** Flattens a zod error into field issues, naming unknown keys as fields of their own. */
export function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: formatPath([...path, key]), message: 'unknown field' });
    } else {
      out.push({ field: formatPath(path), message: issue.message });
    }
  }
  return out;
}
