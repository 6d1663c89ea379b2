// Setup file of the lambda-node22 project (vitest.config.ts): these suites exist to test the
// Lambda on the runtime Lambda runs. If a vitest upgrade stopped the pool from forking Node 22,
// they would silently run on the machine's Node; this makes that a failure instead.
if (!process.version.startsWith('v22.'))
  throw new Error(
    `the Lambda suites must run on Node 22 (nodejs22.x), not ${process.version}: see forksOn in test/support/node22-pool.ts`,
  );
