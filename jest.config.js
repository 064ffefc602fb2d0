/** Tests run the TypeScript sources through ts-jest; type errors are caught by `npm run build`
 * (run before `npm test`), so ts-jest only transpiles (isolatedModules) to keep the suite fast. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
