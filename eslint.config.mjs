// One lint configuration for src/, test/ and bench/: typescript-eslint's recommended rules, a few
// type-aware ones that catch real bugs cheaply (promises nobody awaits, promises where a callback
// is expected), and eslint-config-prettier last so formatting is Prettier's alone.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'examples/*/node_modules/', 'var/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // Plain CommonJS scripts (the bin launcher, jest's config) load with require().
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
  },
  {
    // The counter page runs in the browser.
    files: ['src/pos/web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        localStorage: 'readonly',
        navigator: 'readonly',
        location: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        EventSource: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        Intl: 'readonly',
        HTMLElement: 'readonly',
        HTMLInputElement: 'readonly',
        HTMLTextAreaElement: 'readonly',
        HTMLSelectElement: 'readonly',
        HTMLButtonElement: 'readonly',
        HTMLTableElement: 'readonly',
        KeyboardEvent: 'readonly',
        console: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        Event: 'readonly',
        Node: 'readonly',
        crypto: 'readonly',
        TextDecoder: 'readonly',
      },
    },
  },
  {
    // Modules the page shares with the server: ES modules that run anywhere (no globals).
    files: ['src/common/format.js', 'src/common/gs1.js', 'src/common/calendar.js'],
    languageOptions: { sourceType: 'module' },
  },
  {
    // The examples and scripts run on Node (the examples as a user's own project would).
    files: ['examples/**/*.{js,mjs,cjs}', 'scripts/**/*.js'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  {
    // The integrator example's jest suite uses jest's globals, as jest suites do.
    files: ['examples/integrator-tests/__tests__/**/*.js'],
    languageOptions: {
      globals: { test: 'readonly', expect: 'readonly', beforeAll: 'readonly', afterAll: 'readonly', afterEach: 'readonly' },
    },
  },
  {
    // Tests read JSON answers (the API's, the fund's) without declaring every shape.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
