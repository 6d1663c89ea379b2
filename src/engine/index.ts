export { confirm, rotate, selectTargets, status } from './commands.js';
export type { TargetStatus } from './commands.js';
export { exitCodeFor } from './context.js';
export type { Runtime, RunOptions, StepRecord, TargetResult } from './context.js';
export { reconcileTarget } from './reconcile.js';
