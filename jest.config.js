/**
 * Two projects: `unit` runs in parallel; `pcsc` holds the tests that drive the real pcscd and
 * share its two vpcd readers (files named `*.pcscd.test.ts`, beside the code they test), so it
 * runs in band (npm test runs it as a second pass).
 * ts-jest only transpiles (isolatedModules): `npm test` type-checks the tests before it runs them.
 * It transpiles the ES modules written in JavaScript under src/ too (the modules the counter page
 * shares with the server, src/common/format.js…), as tsc does for dist/.
 */
const tsJest = ['ts-jest', { diagnostics: false, tsconfig: '<rootDir>/tsconfig.test.json' }];
const transform = { '^.+\\.ts$': tsJest, '/src/.+\\.js$': tsJest };
// The page imports the shared modules as the server serves them, `../assets/NAME.js`
// (src/pos/http/shared-assets.ts; tsconfig.web.json's rootDirs says the same to tsc).
const moduleNameMapper = {
  '^\\.\\./assets/format\\.js$': '<rootDir>/src/common/format.js',
  '^\\.\\./assets/gs1\\.js$': '<rootDir>/src/common/gs1.js',
};
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.pcscd\\.test\\.ts$'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'pcsc',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.pcscd.test.ts'],
      transform,
      moduleNameMapper,
    },
  ],
  testTimeout: 60000,
};
