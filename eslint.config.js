import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const fetchGlobals = { Request: 'readonly', Response: 'readonly', Headers: 'readonly' };

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '**/.skiff/**',
      'test/fixtures/**/node_modules/**',
      'test/fixtures/functions/broken-ts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['test/fixtures/**', 'examples/**'],
    languageOptions: { globals: { ...fetchGlobals, module: 'writable', require: 'readonly' } },
  },
  {
    files: ['src/cli/**', 'bench/**', 'scripts/**', 'test/**', 'examples/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
