import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The native suites change process-wide state (tier cap, threads): one file at a time per worker.
    sequence: { concurrent: false },
  },
});
