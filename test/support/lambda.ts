import { vi } from 'vitest';

export type Lambda = typeof import('../../src/entry/lambda.js');

/**
 * The Lambda entry as a new execution environment loads it: nothing kept from an earlier invocation
 * (the configuration and logger it caches for the environment's lifetime). Modules of node_modules
 * are not reloaded; the project's are.
 */
export async function freshLambda(): Promise<Lambda> {
  vi.resetModules();
  return await import('../../src/entry/lambda.js');
}
