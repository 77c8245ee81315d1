// ESLint for the whole tree (flat config): ESLint's recommended rules and typescript-eslint's
// type-checked recommended rules, which catch what matters most in an async server (promises
// nobody awaits, misused promises, unsafe any). Formatting is Prettier's job, not ESLint's.
// `npm run lint` runs this and `prettier --check`; `make test` runs `npm run lint`.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', '.stafette/', '.make/', 'crds/src/generated/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The tsconfig.json project; files outside it (this file) get a default project.
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits; awaiting
      // them at the top of a test file is not how the runner is used. Every other promise
      // must still be awaited, returned, or explicitly voided.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // `const { dropped: _dropped, ...kept } = object` is how a field is left out of a copy;
      // a leading underscore marks a binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      // Test doubles implement async interfaces (a store, a resolver) with answers known at
      // once; an `async` method without `await` is the plainest way to write them.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
