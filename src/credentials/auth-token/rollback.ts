import { recordedPromotion } from '../../core/labels.js';
import type { RollbackPlan } from '../../core/rollback.js';
import type { Observation, PlannerSettings } from './observation.js';

/**
 * An Auth Token cannot be rolled back: Twilio's Promote makes the secondary the primary and the old
 * primary stops working at that instant, so there is no overlap after a promotion to go back in.
 * Before the promotion the old token still serves, and `abort` backs the rotation out.
 */
export function planRollback(obs: Observation, s: Pick<PlannerSettings, 'target'>): RollbackPlan {
  const { current, pending, previous, secret } = obs;
  const abort = `"twilio-key-rotator abort ${s.target}" deletes the new secondary and keeps the old token`;
  if (pending) {
    const serving = `${current?.ref ?? 'the current token'} still serves`;
    const what = `the new token ${pending.ref} is not promoted yet: ${serving}`;
    return { kind: 'refused', why: `${what}; nothing to roll back. To back the rotation out, ${abort}` };
  }
  if (current && previous && secret && recordedPromotion(secret, previous.versionId, current.versionId) === true) {
    const dead = `the old Auth Token ${previous.ref} died on Twilio when ${current.ref} was promoted`;
    const why = 'Twilio has no way to bring it back, so there is nothing to roll back to';
    const replace = `"twilio-key-rotator rotate --force --target ${s.target}"`;
    const next = `consumers must use the new token (AWSCURRENT); to replace it, ${replace}`;
    return { kind: 'refused', why: `${dead}. ${why}; nothing was changed. ${next}` };
  }
  return { kind: 'refused', why: 'no rotation of this Auth Token is under way; nothing to roll back' };
}
