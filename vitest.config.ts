import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (*.spec.ts) and use no servers. Integration tests
// (test/integration) run against the real local stack started by `npm run stack:up`.
export default defineConfig({
  // SWC, as in the build, so that Nest's decorator metadata is emitted in tests too.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  // The @app/* aliases come from tsconfig.json, the one place they are declared.
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // The servers are shared; files run one after another so they never race on them.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // Servers stopped and restarted, workers killed, a hundred studies: after the
          // integration tests (scripts/test-all.sh), never beside them.
          name: 'faults',
          include: ['test/faults/**/*.spec.ts'],
          testTimeout: 300_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
