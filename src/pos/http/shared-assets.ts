import * as path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { packageRoot } from '../../common/paths';

/**
 * The modules the counter page shares with the server, one implementation each: the formatting
 * of amounts, rates, dates and masked identifiers, and the reading of GS1 barcodes. They are ES
 * modules written in JavaScript with JSDoc types that import only each other (by relative path), so the browser runs their
 * sources as they are, at `/assets/NAME` (a module script under the page's `script-src 'self'`),
 * while tsc compiles the same files into dist/ for the server: there is no generated copy that
 * could lag behind.
 */
export function sharedModules(root: string = packageRoot()): ReadonlyMap<string, string> {
  return new Map([
    ['format.js', path.join(root, 'src', 'common', 'format.js')],
    ['gs1.js', path.join(root, 'src', 'common', 'gs1.js')],
    ['calendar.js', path.join(root, 'src', 'common', 'calendar.js')],
    [CHART_ASSET, chartLibrary()],
  ]);
}

/** Where the back office's pages load Chart.js from (a classic script: see chartLibrary). */
export const CHART_ASSET = 'chart.umd.min.js';

/**
 * The back office's charts are drawn by Chart.js (MIT), a dependency of this package, served from
 * the counter itself (no remote resource, the page's `script-src 'self'`). Its UMD build: the ES
 * build imports `@kurkle/color` by a bare name, which a browser resolves only through an import
 * map — an inline script the Content-Security-Policy refuses. Found through Node's resolution
 * (the package's `main`, then its dist/ directory), wherever npm installed it.
 */
export function chartLibrary(): string {
  return path.join(path.dirname(require.resolve('chart.js')), CHART_ASSET);
}

/** Serves `GET /assets/NAME` for the shared modules only; anything else goes on (to a 404). */
export function serveSharedModules(modules: ReadonlyMap<string, string> = sharedModules()) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^\/assets\/([a-z0-9.-]+\.js)$/.exec(req.path);
    const file = m ? modules.get(m[1]!) : undefined;
    if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/javascript');
    res.sendFile(file, (err) => {
      if (err) next(err);
    });
  };
}
