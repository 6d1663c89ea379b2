import type { ApiKeyTargetConfig } from './config.js';
import type { Observation, Step } from './observation.js';

const NAMED_AFTER = '(its new keys are named after it)';
const NO_CURRENT = 'because the secret has no current version';

/** How a key is proven, in words; the exact GET depends on the live policy for `inherit`. */
function howToVerify(target: ApiKeyTargetConfig): string {
  if (target.validationUrl) return `GET ${target.validationUrl} with the key`;
  if (target.keyType === 'standard') return 'GET IncomingPhoneNumbers (PageSize=1) with the key';
  return 'one GET its policy allows (IncomingPhoneNumbers or Messages list, or its own key), with the key';
}

/** One step in words, as the dry run prints it and `status` says what the next run will do. */
export function describeStep(d: Step, obs: Observation, target: ApiKeyTargetConfig): string {
  switch (d.kind) {
    case 'sweep-orphans': {
      const why =
        'made for this target by this rotator, referenced by no version of the secret (a crashed or lost run)';
      return `revoke ${d.keys.map((k) => k.sid).join(', ')}: ${why}`;
    }
    case 'reserve-secret':
      return `create the secret "${obs.secretId}" without a value, because it does not exist ${NAMED_AFTER}`;
    case 'create-secret':
      return `create key "${d.friendlyName}" and store it as AWSCURRENT (version ${d.versionId}), ${NO_CURRENT}`;
    case 'start-rotation':
      return `create key "${d.friendlyName}" and store it as AWSPENDING (version ${d.versionId}), because ${d.reason}`;
    case 'drop-dead-pending':
      return `drop AWSPENDING from version ${d.versionId}: its key ${d.keySid} no longer exists`;
    case 'clear-pending-label':
      return `take AWSPENDING off version ${d.versionId}, which is already AWSCURRENT (a promotion stopped part-way)`;
    case 'verify-pending':
      return `verify the pending key ${d.keySid}: ${howToVerify(target)}`;
    case 'promote': {
      const old = obs.current?.key.apiKeySid ?? 'the old key';
      return `promote version ${d.versionId} to AWSCURRENT; ${old} becomes AWSPREVIOUS`;
    }
    case 'verify-current':
      return `verify the current key ${d.keySid}: ${howToVerify(target)}`;
    case 'mark-current':
      return `tag the secret: version ${d.versionId} current since now (the consumer gate counts from here)`;
    case 'retire-previous':
      return `delete the previous key ${d.keySid} on Twilio: the consumer gate has passed`;
  }
}
