import { defineConfig } from 'vitest/config';

/**
 * Tests that measure the platform's memory under a flood run on their own, after the others: on a
 * 2-core machine, test files running beside them starve the platform of CPU, its garbage collector
 * falls behind, and the measurement says more about the neighbours than about the platform.
 */
const ALONE = ['test/security/output-flood.test.ts'];

/** What every project shares (the global set-up, which builds dist/, is the root's and runs once). */
const common = { testTimeout: 60_000, hookTimeout: 120_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        test: {
          ...common,
          name: 'suite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ALONE,
        },
      },
      {
        test: { ...common, name: 'alone', include: ALONE, sequence: { groupOrder: 1 }, maxWorkers: 1 },
      },
    ],
  },
});
