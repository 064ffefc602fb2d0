/**
 * `['lines', 2, 'quantity']` → `lines[2].quantity`: the form every validation error names its
 * field in (zod issue paths, card images, quote requests, config files).
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
