import { defineConfig } from 'vitest/config';
import { ensureNode22 } from './scripts/node22.mjs';
import { forksOn } from './test/support/node22-pool.js';

/**
 * Two projects. Most suites run on the Node that runs vitest (the supported floor, package.json
 * "engines"). The Lambda's own suites run on Node 22, the runtime Lambda uses (nodejs22.x): their
 * workers are forked from a Node 22 binary (scripts/node22.mjs: this Node if it is 22, else one
 * fetched from the npm registry once, when the first of them starts), so the handler in-process and
 * every bundle they spawn (process.execPath) run on it. test/support/on-node22.ts fails them on any
 * other, saying why.
 */
const ON_NODE22 = [
  'test/lambda/**/*.test.ts',
  'test/crash/rotation-protocol.test.ts',
  'test/race/rotation-protocol-race.test.ts',
];
const common = {
  environment: 'node' as const,
  // Limits for a hung test, not performance checks: a busy machine (the suite beside two busy loops
  // on two cores) takes several times as long as a quiet one (osls package in a hook: 90 s and more),
  // and a test must not fail for that.
  testTimeout: 60_000,
  hookTimeout: 180_000,
  setupFiles: ['test/support/quiet.ts'],
};

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // A passing test prints nothing: console output is shown for failing tests only, and so is what a
    // test writes to process.stdout or process.stderr (test/support/quiet.ts).
    silent: 'passed-only',
    // Most suites wait on child processes and emulators rather than the CPU: three files at a time
    // on two cores took the suite from about 6 to 4 minutes, every test passing.
    maxWorkers: 3,
    coverage: { provider: 'v8', include: ['src/**/*.ts'], reporter: ['text', 'lcov'] },
    projects: [
      { test: { ...common, name: 'node', include: ['test/**/*.test.ts'], exclude: ON_NODE22 } },
      {
        test: {
          ...common,
          name: 'lambda-node22',
          include: ON_NODE22,
          setupFiles: [...common.setupFiles, 'test/support/on-node22.ts'],
          pool: forksOn(ensureNode22, 'forks-node22'),
        },
      },
    ],
  },
});
