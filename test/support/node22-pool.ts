import { fork, type ChildProcess } from 'node:child_process';
import { ForksPoolWorker, type PoolOptions } from 'vitest/node';

/**
 * vitest's forks pool, but the workers are `execPath` (Node 22) instead of the Node running vitest.
 * ForksPoolWorker.start() forks only when it has no child yet, so one made here is used as is.
 */
export function forksOn(execPath: string, name: string) {
  class Worker extends ForksPoolWorker {
    override readonly name = name;
    override async start(): Promise<void> {
      const self = this as unknown as { _fork?: ChildProcess };
      self._fork ??= fork(this.entrypoint, [], {
        execPath,
        env: this.env,
        execArgv: this.execArgv,
        stdio: 'pipe',
        serialization: 'advanced',
      });
      return super.start();
    }
  }
  return { name, createPoolWorker: (options: PoolOptions) => new Worker(options) };
}
