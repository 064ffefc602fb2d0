/**
 * Two projects: `unit` runs in parallel; `pcsc` holds the tests that drive the real pcscd and
 * share its two vpcd readers (files named `*.pcscd.test.ts`, beside the code they test), so it
 * runs in band (npm test runs it as a second pass).
 * ts-jest only transpiles (isolatedModules): `npm test` type-checks the tests before it runs them.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false, tsconfig: '<rootDir>/tsconfig.test.json' }] };
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.pcscd\\.test\\.ts$'],
      transform,
    },
    { displayName: 'pcsc', testEnvironment: 'node', roots: ['<rootDir>/test'], testMatch: ['**/*.pcscd.test.ts'], transform },
  ],
  testTimeout: 60000,
};
