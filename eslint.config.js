import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['test/fixtures/**', 'examples/**'],
    languageOptions: { globals: globals.node },
  },
  {
    // function folders written as their users write them, CommonJS included
    files: ['test/fixtures/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/cli/**', 'bench/**', 'scripts/**', 'test/**', 'examples/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
