import { defineConfig } from 'vitest/config';

// Two cores on the reference machine: keep parallelism modest and generous timeouts for
// SLH-DSA key generation and large streaming tests. No test asserts on elapsed time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
