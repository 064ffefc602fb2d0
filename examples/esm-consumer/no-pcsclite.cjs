// A test double for a machine without libpcsclite: the optional native module `pcsclite` cannot
// be found (as when npm skipped it because its build failed). Preloaded with --require.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'pcsclite' || request.startsWith('pcsclite/')) {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
