import { parseStamp, PENDING, TAG_CURRENT_SINCE } from '../../core/labels.js';
import type { RotationView } from '../kind.js';
import { tokenCurrent, tokenFilled, tokenFinished, tokenStaged } from '../settled.js';
import type { Observation, Step } from './observation.js';

/** The token's version holds a credential, pending or already current. */
const filled = (obs: Observation, token: string) =>
  obs.pending?.versionId === token || obs.current?.versionId === token;

/**
 * Secrets Manager's events as a view of the planner told the token (./plan.ts tokenStep). The old
 * credential is never deleted here: the scheduled run retires it once the gate passes.
 */
export const plannerRotation: RotationView<Step, Observation> = {
  createSecret: { steps: ['sweep-orphans', 'start-rotation'], done: filled, settled: tokenFilled },
  setSecret: { steps: ['sweep-orphans'], done: (o, t) => tokenStaged(o.secret, t), settled: tokenStaged },
  testSecret: {
    steps: ['sweep-orphans', 'verify-pending'],
    settled: tokenCurrent,
    done: (o, t) =>
      o.current?.versionId === t || (o.pending?.versionId === t && o.verified.has(o.pending.key.apiKeySid)),
  },
  finishSecret: {
    steps: ['sweep-orphans', 'verify-pending', 'promote', 'verify-current', 'mark-current', 'clear-pending-label'],
    settled: tokenFinished,
    done: (o, t) =>
      o.current?.versionId === t &&
      parseStamp(o.secret?.tags[TAG_CURRENT_SINCE], t) !== undefined &&
      !o.secret?.versions.some((v) => v.versionId === t && v.stages.includes(PENDING)),
  },
};
