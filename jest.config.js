/**
 * Two projects: `unit` runs in parallel; `pcsc` holds the tests that drive the real pcscd and
 * share its two vpcd readers, so it runs in band (npm test runs it as a second pass).
 * ts-jest only transpiles (isolatedModules): `npm run build` type-checks before `npm test`.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false, tsconfig: '<rootDir>/tsconfig.test.json' }] };
module.exports = {
  projects: [
    { displayName: 'unit', testEnvironment: 'node', roots: ['<rootDir>/test'], testMatch: ['**/*.test.ts'], testPathIgnorePatterns: ['/test/pcsc/'], transform },
    { displayName: 'pcsc', testEnvironment: 'node', roots: ['<rootDir>/test'], testMatch: ['**/test/pcsc/**/*.test.ts'], transform },
  ],
  testTimeout: 60000,
};
