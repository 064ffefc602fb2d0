import type { NextFunction, Request, Response } from 'express';
import { PathTemplates as Templates } from '../../common/path-templates';
import { HttpError } from './errors';

/**
 * The counter's route paths (common/path-templates.ts): a segment express cannot decode is
 * refused before routing with 400 invalid-input naming the route's parameter there, or `path`.
 */
export class PathTemplates extends Templates {
  middleware() {
    return (req: Request, _res: Response, next: NextFunction): void => {
      const field = this.badSegment(req.path);
      if (field === undefined) {
        next();
        return;
      }
      next(new HttpError(400, 'invalid-input', `${field}: not valid percent-encoded UTF-8`, field));
    };
  }
}
