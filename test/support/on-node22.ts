// Setup file of the lambda-node22 project (vitest.config.ts): these suites exist to test the
// Lambda on the runtime Lambda runs. When Node 22 could not be had (no network to the npm registry,
// a platform without a pinned package), or a vitest upgrade stopped the pool from forking it, they
// would run on the machine's Node; this makes every one of them fail, saying why, instead.
import { NODE22_MISSING } from './node22-pool.js';

const missing = process.env[NODE22_MISSING];
if (missing) throw new Error(`the Lambda suites run on Node 22 (nodejs22.x), and none could be had: ${missing}`);
if (!process.version.startsWith('v22.')) {
  const where = 'see forksOn in test/support/node22-pool.ts';
  throw new Error(`the Lambda suites must run on Node 22 (nodejs22.x), not ${process.version}: ${where}`);
}
