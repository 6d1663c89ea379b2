import type { Observation, Step } from './observation.js';

const SETTLED = 'works and the old token is refused; the rotation is complete';

/** One step in words, as the dry run prints it and `status` says what the next run will do. */
export function describeStep(d: Step, obs: Observation, propagationDelayMs: number): string {
  switch (d.kind) {
    case 'start-rotation': {
      const what = `create a secondary Auth Token and store it as AWSPENDING (version ${d.versionId})`;
      const unknown = 'Twilio cannot be asked beforehand whether a secondary exists';
      const kept = 'if one exists whose value this tool does not hold, the run stops there and keeps it';
      const replace = "--replace-secondary deletes it, unless the target's own secret serves it";
      return `${what}, because ${d.reason}. ${unknown}: ${kept} (${replace})`;
    }
    case 'abandon-creation': {
      const what = `write off the creation announced for rotation ${d.rotationId} but never stored`;
      const kept = 'a secondary it may have made has a lost value: kept (never deleted) and recorded';
      return `${what}: ${kept}`;
    }
    case 'clear-pending-label':
      return `take AWSPENDING off version ${d.versionId}, which is already AWSCURRENT (a promotion stopped part-way)`;
    case 'drop-dead-pending':
      return `drop AWSPENDING from version ${d.versionId}: its token ${d.ref} no longer works`;
    case 'mark-pending':
      return `record that the pending token ${d.ref} works; the consumer gate counts from now`;
    case 'promote': {
      const old = obs.current?.ref ?? 'the old token';
      const follows = `AWSCURRENT moves to version ${d.versionId} in the same step`;
      return `promote ${d.ref} on Twilio: ${old} stops working at once; ${follows}`;
    }
    case 'finish-promotion':
      return `move AWSCURRENT to version ${d.versionId}: Twilio already made ${d.ref} the primary`;
    case 'mark-current':
      return `record version ${d.versionId} as current since now; the propagation delay counts from here`;
    case 'refresh-copies': {
      const where = d.locations.map((l) => `"${l.secretId}"`).join(', ');
      return `store the new token in the admin secret(s) that still hold the old one: ${where}`;
    }
    case 'settle':
      return `after the propagation delay (${propagationDelayMs / 1000} s): ${d.ref} ${SETTLED}`;
  }
}
