import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors';

/**
 * Express decodes path parameters with decodeURIComponent while it matches routes, and a segment
 * that is not valid percent-encoding (`%ff`, `%E0%A4%A`, a lone `%`) makes it throw a URIError
 * that names no parameter. This runs before the routes, finds the first such segment and refuses
 * the request with 400 naming the parameter at that place in the route that matches the path
 * (`code` for `/catalogue/%ff`), or `path` when no route has a parameter there.
 */
export class PathTemplates {
  private readonly templates: string[][] = [];

  /** Records a route path (`/invoices/:number/receipt`) and returns it, for `router.get(t.add(…))`. */
  add(template: string): string {
    this.templates.push(template.split('/'));
    return template;
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

  middleware() {
    return (req: Request, _res: Response, next: NextFunction): void => {
      const segments = req.path.split('/');
      const bad = segments.findIndex((s) => {
        if (!s.includes('%')) return false;
        try {
          decodeURIComponent(s);
          return false;
        } catch {
          return true;
        }
      });
      if (bad < 0) {
        next();
        return;
      }
      const field = this.fieldAt(segments, bad);
      next(new HttpError(400, 'invalid-input', `${field}: not valid percent-encoded UTF-8`, field));
    };
  }
}
