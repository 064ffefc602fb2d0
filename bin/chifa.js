#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('chifa: the project is not built yet; run `npm run build` (or `npm start`) first.\n');
  process.exit(2);
}
require(main)
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`chifa: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
  });
