import {
  CURRENT,
  formatStamp,
  labelled,
  parseStamp,
  PENDING,
  PREVIOUS,
  recordedPromotion,
  TAG_CURRENT_SINCE,
} from '../../core/labels.js';
import type { StoredSecret } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError, SecretShapeError } from '../../errors.js';
import { tokenFingerprint } from './shape.js';
import type { AuthTokenTargetConfig } from './config.js';
import { targetToken } from './observe.js';
import { TAG_PENDING_SINCE, TAG_SECONDARY_INTENT, TAG_SETTLED, TAG_UNSTORED } from './observation.js';

/**
 * testSecret in its plain case (RotationView `direct`), as AWS's template tests: the token's pending
 * value asked about with itself, then `mark-pending`'s stamp, without the look's question about the
 * current token. 4 calls for a fresh process instead of 6.
 *
 * Plain: the token's version is AWSPENDING beside the current one the rotator promoted (its
 * current-since stamp: a token a person put there goes to the look, which asks about it), holds a token
 * of this account, and no promotion of the rotator's is still settling (the look holds the event
 * there). Twilio accepting the token without calling it the primary makes it the account's secondary,
 * so no other secondary exists: the stamp clears the creation records as `mark-pending` does. The
 * stamp only starts the consumer gate (later, never earlier); nothing is deleted or promoted here.
 * Twilio unreachable fails the event, as in the look; anything else (refused, already the primary) goes
 * to the whole look, which decides and acts as before.
 */
export async function testPending(
  secret: StoredSecret,
  token: string,
  target: AuthTokenTargetConfig,
  runtime: Runtime,
): Promise<string | undefined> {
  const version = secret.versions.find((v) => v.versionId === token);
  const current = labelled(secret, CURRENT);
  if (!current || !version?.stages.includes(PENDING) || version.stages.includes(CURRENT)) return undefined;
  // AWSCURRENT must be the version this rotator promoted and stamped: a token a person put or moved there
  // since (one Twilio refuses, another account's) goes to the look, which asks about it and refuses.
  if (parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId) === undefined) return undefined;
  const previous = labelled(secret, PREVIOUS);
  const settling =
    previous !== undefined &&
    recordedPromotion(secret, previous.versionId, current.versionId) === true &&
    secret.tags[TAG_SETTLED] !== current.versionId;
  if (settling || version.value === undefined) return undefined;
  let pending: string;
  try {
    const source = { secretId: secret.secretId, versionId: token, stage: PENDING };
    pending = targetToken(source, version.value, version.binary ?? false, target).authToken;
  } catch (err) {
    // The look fails on it, naming the field.
    if (err instanceof SecretShapeError) return undefined;
    throw err;
  }
  const ref = tokenFingerprint(pending);
  const check = await runtime.tokenVerifier(target).check(target.accountSid, pending);
  if (!check.ok && !check.definitive) {
    // As the look's check: an answer that says nothing fails the event, and Secrets Manager retries.
    const what = `could not ask Twilio about the token ${ref} (${check.reason}); nothing was changed`;
    throw new RotationError(target.name, 'observe', what);
  }
  if (!check.ok || check.primary) return undefined;
  const works = `the pending token ${ref} authenticates`;
  if (parseStamp(secret.tags[TAG_PENDING_SINCE], token) !== undefined) return `version ${token}: ${works}`;
  const since = formatStamp(token, runtime.now());
  const written = { [TAG_PENDING_SINCE]: since, [TAG_SECONDARY_INTENT]: '', [TAG_UNSTORED]: '' };
  await runtime.store(target.secret.store).setTags(target.secret.secretId, written);
  return `version ${token}: ${works}; the consumer gate counts from now`;
}
