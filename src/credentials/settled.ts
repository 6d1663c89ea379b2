import { CURRENT, parseStamp, PENDING, TAG_CURRENT_SINCE } from '../core/labels.js';
import type { StoredSecret } from '../core/ports.js';

/**
 * What the stored secret alone proves of a rotation event's postcondition (a kind's `RotationView`
 * `settled`), as AWS's template checks in its prologue: no Twilio, no admin secret, no key list. Each
 * only ever lets an event end with "nothing to do".
 */

const versionOf = (secret: StoredSecret | undefined, token: string) =>
  secret?.versions.find((v) => v.versionId === token);

/** The token's version is AWSCURRENT. */
export function tokenCurrent(secret: StoredSecret | undefined, token: string): boolean {
  return versionOf(secret, token)?.stages.includes(CURRENT) === true;
}

/**
 * The token's version is this rotation's, AWSPENDING or already AWSCURRENT (the template's prologue): all
 * setSecret needs, since a Twilio credential is live when it is made. Its value is createSecret's to fill
 * and testSecret's to prove; Secrets Manager runs setSecret only after createSecret succeeded.
 */
export function tokenStaged(secret: StoredSecret | undefined, token: string): boolean {
  const stages = versionOf(secret, token)?.stages ?? [];
  return stages.includes(CURRENT) || stages.includes(PENDING);
}

/** The token's version holds a value: AWSPENDING filled (not Secrets Manager's empty placeholder), or current. */
export function tokenFilled(secret: StoredSecret | undefined, token: string): boolean {
  const version = versionOf(secret, token);
  if (!version) return false;
  return version.stages.includes(CURRENT) || (version.stages.includes(PENDING) && version.value !== undefined);
}

/** finishSecret's end: the token AWSCURRENT, no longer AWSPENDING, stamped current since. */
export function tokenFinished(secret: StoredSecret | undefined, token: string): boolean {
  const version = versionOf(secret, token);
  return (
    version?.stages.includes(CURRENT) === true &&
    !version.stages.includes(PENDING) &&
    parseStamp(secret?.tags[TAG_CURRENT_SINCE], token) !== undefined
  );
}
