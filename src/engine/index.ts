/** The engine's public surface: what the entry points (CLI, Lambda) use. */
export { confirm, rotate, selectTargets, status } from './commands.js';
export type { TargetStatus } from './commands.js';
export { dryRun, dryRuntime } from './dry-run.js';
export { isRotationEvent, rotationStep, targetForSecret } from './protocol.js';
export { reconcileTarget } from './reconcile.js';
export { createRunScope } from './scope.js';
export { putSecret } from './secret-put.js';
export type { PutSecretResult } from './secret-put.js';
export { exitCodeFor } from '../core/outcome.js';
export type { TargetResult } from '../core/outcome.js';
export type { RotationEvent } from '../credentials/index.js';
export type { RunOptions, Runtime } from '../core/runtime.js';
