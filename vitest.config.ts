import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node and GNU make; `e2e` drives a real
// Docker engine and registries started by test/e2e/support/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/golden/**/*.test.ts', 'test/make/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/support/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // One engine is shared: the files run one at a time, in one process.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
