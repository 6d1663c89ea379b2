import { CURRENT, parseStamp, PENDING, TAG_CURRENT_SINCE } from '../../core/labels.js';
import { rotationIdForToken } from '../../core/rotation-id.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError } from '../../errors.js';
import { keyName } from '../api-key/naming.js';
import { retiringKey } from '../api-key/plan.js';
import type { RotationEvent } from '../kind.js';
import { observe, type OAuthAppSession } from './observe.js';
import { createAndStoreApp, deleteApp, markCurrent, promoteVersion, verifyApp, withdrawPending } from './steps.js';

/**
 * Secrets Manager's rotation protocol for an OAuth-app secret, as ../api-key/protocol.ts does it for
 * keys (the transitional "legacy" form of the kind table, until the shared planner takes the event's
 * token): every step first looks for its own result, then runs the step function the scheduled run
 * runs. finishSecret makes the new app current and never deletes the old one: the scheduled run
 * retires it once the consumer gate passes.
 */
export async function rotationStep(event: RotationEvent, session: OAuthAppSession, runtime: Runtime): Promise<string> {
  const { target } = session;
  const token = event.ClientRequestToken;
  const fail = (message: string) => new RotationError(target.name, event.Step, message);
  const secretId = target.secret.secretId;
  const secret = await session.store.read(secretId);
  const version = secret?.versions.find((v) => v.versionId === token);
  if (!secret || !version) throw fail(`secret version ${token} has no stage for rotation of ${secretId}`);
  if (version.stages.includes(CURRENT)) {
    const unstamped = parseStamp(secret.tags[TAG_CURRENT_SINCE], token) === undefined;
    if (!version.stages.includes(PENDING) && !unstamped) return `version ${token} is already AWSCURRENT; nothing to do`;
    await session.store.promote(secretId, token);
    if (unstamped) await markCurrent(session, runtime, token);
    return `version ${token} was already AWSCURRENT; completed the promotion an earlier finishSecret began`;
  }
  if (!version.stages.includes(PENDING))
    throw fail(`secret version ${token} is not AWSPENDING for rotation of ${secretId}`);

  const obs = await observe(session, runtime, session.facts);
  if (!obs.current)
    throw fail(`secret ${secretId} has no AWSCURRENT version to rotate from; run the rotator once to create it`);
  if (obs.current.versionId === token)
    return `version ${token} became AWSCURRENT while this step ran (a scheduled run promoted it); nothing to do`;
  const pending = version.value !== undefined && obs.pending?.versionId === token ? obs.pending : undefined;
  const friendlyName = keyName(target.friendlyNamePrefix, obs.fingerprint!, rotationIdForToken(token));
  const settings = {
    prefix: target.friendlyNamePrefix,
    target: target.name,
    maxAgeMs: target.maxAgeMs,
    orphanGraceMs: runtime.orphanGraceMs,
    force: false,
    gate: target.gate,
  };

  switch (event.Step) {
    case 'createSecret': {
      if (pending) return `version ${token} already holds app ${pending.key.apiKeySid}`;
      const previous = retiringKey(obs, settings);
      if (previous)
        throw fail(
          `the previous app ${previous.key.apiKeySid} is still alive, waiting for the consumer gate; rotate again after it is retired`,
        );
      // An app made for this token by an attempt that died before storing it: its secret is lost.
      for (const stale of obs.keys.filter((k) => k.friendlyName === friendlyName))
        await deleteApp(session, obs, stale.sid);
      const made = await createAndStoreApp(session, obs, { token, friendlyName, as: 'pending' });
      if (made.put === 'token-conflict')
        throw fail(`version ${token} was filled by someone else; deleted our app ${made.sid}`);
      return `created app ${made.sid} "${friendlyName}" and stored it in version ${token}`;
    }
    case 'setSecret':
      if (!pending) throw fail(`version ${token} has no value yet; createSecret has not run`);
      return `nothing to set: Twilio activates app ${pending.key.apiKeySid} when it is created`;
    case 'testSecret': {
      if (!pending) throw fail(`version ${token} has no value yet; createSecret has not run`);
      const result = await verifyApp(session, session.facts, pending);
      if (result.ok) return `app ${pending.key.apiKeySid} gets a token and reads with it`;
      if (result.definitive) await withdrawPending(session, obs, token, pending.key.apiKeySid);
      const why = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
      const then = result.definitive ? '; it was deleted and AWSPENDING removed' : '; Secrets Manager will retry';
      throw fail(`new app ${pending.key.apiKeySid} failed verification (${why})${then}`);
    }
    case 'finishSecret': {
      if (!pending) throw fail(`version ${token} has no value; createSecret has not run`);
      await promoteVersion(session, obs.current.versionId, token);
      await markCurrent(session, runtime, token);
      return `version ${token} (app ${pending.key.apiKeySid}) is AWSCURRENT; the previous app stays until the consumer gate passes`;
    }
    default:
      throw fail(`unknown rotation step "${String(event.Step)}"`);
  }
}
