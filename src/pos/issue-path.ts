import type { z } from 'zod';
import type { FieldIssue } from './errors';

/** `['lines', 2, 'quantity']` → `lines[2].quantity`: the form every error message uses. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

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
