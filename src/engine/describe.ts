import { isOutcome, type Decision, type Observation, type Outcome, type Step } from '../core/state.js';

/** One step in words, as the dry run prints it and `status` says what the next run will do. */
export function describeStep(d: Step, obs: Observation, how: string): string {
  switch (d.kind) {
    case 'sweep-orphans':
      return `revoke ${d.keys.map((k) => k.sid).join(', ')}: made for this target by this rotator, referenced by no version of the secret (a crashed or lost run)`;
    case 'reserve-secret':
      return `create the secret "${obs.secretId}" without a value, because it does not exist (its new keys are named after it)`;
    case 'create-secret':
      return `create key "${d.friendlyName}" and store it as AWSCURRENT (version ${d.versionId}), because the secret has no current version`;
    case 'start-rotation':
      return `create key "${d.friendlyName}" and store it as AWSPENDING (version ${d.versionId}), because ${d.reason}`;
    case 'drop-dead-pending':
      return `drop AWSPENDING from version ${d.versionId}: its key ${d.keySid} no longer exists`;
    case 'verify-pending':
      return `verify the pending key ${d.keySid}: ${how}`;
    case 'promote':
      return `promote version ${d.versionId} to AWSCURRENT; ${obs.current?.key.apiKeySid ?? 'the old key'} becomes AWSPREVIOUS`;
    case 'verify-current':
      return `verify the current key ${d.keySid}: ${how}`;
    case 'mark-current':
      return `tag the secret: version ${d.versionId} current since now (the consumer gate counts from here)`;
    case 'check-gate':
      return 'check the consumer gate';
    case 'retire-previous':
      return `delete the previous key ${d.keySid} on Twilio: the consumer gate has passed`;
  }
}

/** An outcome in words: what happens (nothing, mostly) and why. */
export function describeOutcome(d: Outcome): string {
  switch (d.kind) {
    case 'done':
      return `nothing: current key ${d.currentKeySid} is fine until ${new Date(d.nextDueAtMs).toISOString()}`;
    case 'busy':
      return `nothing: ${d.reason}`;
    case 'waiting':
      return `nothing yet: keep the previous key ${d.previousKeySid} until ${d.on.join('; ')}`;
    case 'stuck':
      return `nothing until a person acts (STUCK)${d.previousKeySid ? `; the previous key ${d.previousKeySid} is kept` : ''}: ${d.on.join('; ')}`;
  }
}

export function describeDecision(d: Decision, obs: Observation, how: string): string {
  return isOutcome(d) ? describeOutcome(d) : describeStep(d, obs, how);
}
