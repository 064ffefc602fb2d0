/**
 * Express decodes path parameters with decodeURIComponent while it matches routes, and a segment
 * that is not valid percent-encoding (`%ff`, `%E0%A4%A`, a lone `%`) makes it fail with an error
 * that names no parameter (a URIError, or a 400 quoting the segment whole). A server records its
 * route paths here and, before routing, asks which field to name for such a path: the parameter
 * at that place in the route that matches the path (`code` for `/catalogue/%ff`), or `path` when
 * no route has a parameter there.
 */
export class PathTemplates {
  private readonly templates: string[][] = [];

  /** Records a route path (`/invoices/:number/receipt`) and returns it, for `router.get(t.add(…))`. */
  add(template: string): string {
    this.templates.push(template.split('/'));
    return template;
  }

  /** The field to name for the first segment of `path` that is not percent-encoded UTF-8; undefined when every segment decodes. */
  badSegment(path: string): string | undefined {
    const segments = path.split('/');
    const bad = segments.findIndex((s) => {
      if (!s.includes('%')) return false;
      try {
        decodeURIComponent(s);
        return false;
      } catch {
        return true;
      }
    });
    return bad < 0 ? undefined : this.fieldAt(segments, bad);
  }

  /** The field to name for a bad segment `index` of `segments`. */
  private fieldAt(segments: readonly string[], index: number): string {
    for (const t of this.templates) {
      if (t.length !== segments.length) continue;
      if (!t.every((part, i) => part.startsWith(':') || i === index || part === segments[i])) continue;
      const part = t[index]!;
      if (part.startsWith(':')) return part.slice(1);
    }
    return 'path';
  }
}
