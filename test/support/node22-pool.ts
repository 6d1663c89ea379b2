import { fork, type ChildProcess } from 'node:child_process';
import { ForksPoolWorker, type PoolOptions } from 'vitest/node';

/** Set in a worker's environment when Node 22 could not be had: test/support/on-node22.ts reports it. */
export const NODE22_MISSING = 'TKR_NODE22_MISSING';

/**
 * vitest's forks pool, but the workers run on the binary `execPath()` resolves (Node 22) instead of
 * the Node running vitest. It is resolved when the first worker starts, so a run that has no test
 * needing Node 22 never fetches it. When it cannot be resolved, the worker starts on this Node with
 * the reason in NODE22_MISSING, and the setup file fails every test of the project with it: a test
 * that needs Node 22 never passes on another Node.
 * ForksPoolWorker.start() forks only when it has no child yet, so one made here is used as is.
 */
export function forksOn(execPath: () => Promise<string>, name: string) {
  let resolved: Promise<{ path: string } | { missing: string }> | undefined;
  const resolveOnce = () =>
    (resolved ??= execPath().then(
      (path) => ({ path }),
      (err: unknown) => ({ missing: err instanceof Error ? err.message : String(err) }),
    ));

  class Worker extends ForksPoolWorker {
    override readonly name = name;
    override async start(): Promise<void> {
      const self = this as unknown as { _fork?: ChildProcess };
      if (!self._fork) {
        const node = await resolveOnce();
        const env = 'missing' in node ? { ...this.env, [NODE22_MISSING]: node.missing } : this.env;
        self._fork = fork(this.entrypoint, [], {
          ...('path' in node ? { execPath: node.path } : {}),
          env,
          execArgv: this.execArgv,
          stdio: 'pipe',
          serialization: 'advanced',
        });
      }
      return super.start();
    }
  }
  return { name, createPoolWorker: (options: PoolOptions) => new Worker(options) };
}
