import { CURRENT, parseStamp, PENDING, TAG_CURRENT_SINCE } from '../../core/labels.js';
import { rotationIdForToken } from '../../core/rotation-id.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError } from '../../errors.js';
import type { RotationEvent } from '../kind.js';
import { keyName } from './naming.js';
import { observe, type ApiKeySession } from './observe.js';
import type { RunFacts } from './observation.js';
import { retiringKey } from './plan.js';
import { createAndStoreKey, deleteKey, markCurrent, promoteVersion, verifyKey, withdrawPending } from './steps.js';

/**
 * Secrets Manager's rotation protocol for an API-key secret (rotate-secret, rotation schedules,
 * "Rotate now"): createSecret → setSecret → testSecret → finishSecret, each invoked with the same
 * ClientRequestToken, each repeated on failure. Every step first looks for its own result, then runs
 * the same step function the scheduled reconcile runs (./steps.ts).
 *
 * The consumer gate still applies: finishSecret makes the new key current but never deletes the old
 * one. The scheduled run retires it once the gate passes, exactly as after a rotation it started
 * itself. For the same reason createSecret refuses to start while a previous key is still waiting
 * for its gate: a target never has more than two keys.
 */
export async function rotationStep(event: RotationEvent, session: ApiKeySession, runtime: Runtime): Promise<string> {
  const { target } = session;
  const token = event.ClientRequestToken;
  const fail = (message: string) => new RotationError(target.name, event.Step, message);
  const secretId = target.secret.secretId;
  const settings = {
    prefix: target.friendlyNamePrefix,
    target: target.name,
    maxAgeMs: target.maxAgeMs,
    orphanGraceMs: runtime.orphanGraceMs,
    force: false,
    gate: target.gate,
  };

  const secret = await session.store.read(secretId);
  const version = secret?.versions.find((v) => v.versionId === token);
  if (!secret || !version) throw fail(`secret version ${token} has no stage for rotation of ${secretId}`);
  if (version.stages.includes(CURRENT)) {
    // A finishSecret can die between moving AWSCURRENT and its last writes; Secrets Manager then
    // retries with this token from createSecret. Whatever step arrives completes that work.
    const leftovers =
      version.stages.includes(PENDING) || parseStamp(secret.tags[TAG_CURRENT_SINCE], token) === undefined;
    if (!leftovers) return `version ${token} is already AWSCURRENT; nothing to do`;
    await session.store.promote(secretId, token);
    if (parseStamp(secret.tags[TAG_CURRENT_SINCE], token) === undefined) await markCurrent(session, runtime, token);
    return `version ${token} was already AWSCURRENT; completed the promotion an earlier finishSecret began`;
  }
  if (!version.stages.includes(PENDING))
    throw fail(`secret version ${token} is not AWSPENDING for rotation of ${secretId}`);

  const facts: RunFacts = { verified: new Set() };
  const obs = await observe(session, runtime, facts);
  if (!obs.current)
    throw fail(`secret ${secretId} has no AWSCURRENT version to rotate from; run the rotator once to create it`);
  if (session.protectedSids.has(obs.current.key.apiKeySid)) {
    throw fail(
      `the current key ${obs.current.key.apiKeySid} is an admin credential of this configuration; the rotator will not rotate it`,
    );
  }
  // A scheduled run may promote the filled pending version between the two reads above: its work.
  if (obs.current.versionId === token)
    return `version ${token} became AWSCURRENT while this step ran (a scheduled run promoted it); nothing to do`;
  const pendingKey = version.value !== undefined && obs.pending?.versionId === token ? obs.pending : undefined;
  const friendlyName = keyName(target.friendlyNamePrefix, obs.fingerprint!, rotationIdForToken(token));

  switch (event.Step) {
    case 'createSecret': {
      if (pendingKey) return `version ${token} already holds key ${pendingKey.key.apiKeySid}`;
      const previous = retiringKey(obs, settings);
      if (previous) {
        throw fail(
          `the previous key ${previous.key.apiKeySid} is still alive, waiting for the consumer gate; rotate again after the rotator has retired it`,
        );
      }
      // A key made for this token by an attempt that died before storing it: its secret is gone.
      for (const stale of obs.keys.filter((k) => k.friendlyName === friendlyName))
        await deleteKey(session, obs, stale.sid);
      const made = await createAndStoreKey(session, runtime, obs, facts, { token, friendlyName, as: 'pending' });
      if (made.put === 'token-conflict')
        throw fail(`version ${token} was filled by someone else; revoked our key ${made.sid}`);
      return `created key ${made.sid} "${friendlyName}" and stored it in version ${token}`;
    }
    case 'setSecret':
      if (!pendingKey) throw fail(`version ${token} has no value yet; createSecret has not run`);
      return `nothing to set: Twilio activates key ${pendingKey.key.apiKeySid} when it is created`;
    case 'testSecret': {
      if (!pendingKey) throw fail(`version ${token} has no value yet; createSecret has not run`);
      const result = await verifyKey(session, runtime, obs, facts, pendingKey);
      if (result.ok) return `key ${pendingKey.key.apiKeySid} authenticates against Twilio`;
      // Never becomes current: drop it so a retry cannot promote a key that does not work.
      if (result.definitive)
        await withdrawPending(session, obs, token, pendingKey.key.apiKeySid, target.friendlyNamePrefix);
      const why = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
      throw fail(
        `new key ${pendingKey.key.apiKeySid} failed verification (${why})${result.definitive ? '; it was revoked and AWSPENDING removed, the current key keeps serving' : '; Secrets Manager will retry'}`,
      );
    }
    case 'finishSecret': {
      if (!pendingKey) throw fail(`version ${token} has no value; createSecret has not run`);
      // A tag written on a retry is later than the real promotion: the gate waits a little longer.
      await promoteVersion(session, obs.current.versionId, token);
      await markCurrent(session, runtime, token);
      return `version ${token} (key ${pendingKey.key.apiKeySid}) is AWSCURRENT; the previous key stays until the consumer gate passes`;
    }
    default:
      throw fail(`unknown rotation step "${String(event.Step)}"`);
  }
}
