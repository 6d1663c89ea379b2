import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { CURRENT, PENDING, type SecretStore } from '../core/ports.js';
import { formatCurrentSince, parseCurrentSince, retiringKey } from '../core/planner.js';
import { keyName, rotationIdForToken } from '../core/rotation-id.js';
import { nextApiKeyValue } from '../core/secret-shapes.js';
import { TAG_CURRENT_SINCE, TAG_PROMOTED } from '../core/state.js';
import { RotationError } from '../errors.js';
import type { Runtime } from './context.js';
import { observe } from './observe.js';
import { resolvePolicy } from './policy.js';
import { openSession, plannerSettings } from './reconcile.js';
import { createRunScope } from './scope.js';

/**
 * Secrets Manager's rotation protocol (rotate-secret, rotation schedules, "Rotate now"):
 * createSecret → setSecret → testSecret → finishSecret, each invoked with the same
 * ClientRequestToken, each repeated on failure. Every step first looks for its own result.
 *
 * The consumer gate still applies: finishSecret makes the new key current but never deletes the
 * old one. The scheduled run (or `rotate`) retires it once the gate passes, exactly as after a
 * rotation it started itself. For the same reason createSecret refuses to start while a previous
 * key is still waiting for its gate: a target never has more than two keys.
 */

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<RotationEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.Step === 'string' &&
    typeof e.SecretId === 'string' &&
    typeof e.ClientRequestToken === 'string'
  );
}

/** The configured target whose secret is `secretId` (a name, a full ARN or a partial ARN). */
export function targetForSecret(config: RotatorConfig, secretId: string): TargetConfig {
  const name = /:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(secretId)?.[1];
  const found = config.targets.find(
    (t) =>
      t.secret.store === 'aws' &&
      (t.secret.secretId === secretId ||
        t.secret.secretId === name ||
        secretId.endsWith(`:secret:${t.secret.secretId}`)),
  );
  if (!found)
    throw new RotationError(
      '(none)',
      'rotation-event',
      `secret ${secretId} is not the secret of any configured target with store "aws"; add it to the configuration or remove its rotation schedule`,
    );
  return found;
}

/**
 * AWSCURRENT onto the token's version, AWSPENDING off it, and the tag the consumer gate counts
 * from. Each part is skipped when already done, so a retry after a crash anywhere in here is safe.
 * A tag written on a retry is later than the real promotion: the gate waits a little longer.
 */
async function finishPromotion(
  store: SecretStore,
  secretId: string,
  token: string,
  tags: Readonly<Record<string, string>>,
  nowMs: number,
): Promise<void> {
  await store.promote(secretId, token);
  if (parseCurrentSince(tags[TAG_CURRENT_SINCE], token) === undefined)
    await store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatCurrentSince(token, nowMs) });
}

export async function rotationStep(event: RotationEvent, config: RotatorConfig, runtime: Runtime): Promise<string> {
  const target = targetForSecret(config, event.SecretId);
  const token = event.ClientRequestToken;
  const fail = (message: string) => new RotationError(target.name, event.Step, message);
  const session = await openSession(target, runtime, createRunScope(config, runtime));
  const settings = plannerSettings(target, runtime, {});
  const secretId = target.secret.secretId;

  const secret = await session.store.read(secretId);
  const version = secret?.versions.find((v) => v.versionId === token);
  if (!secret || !version) throw fail(`secret version ${token} has no stage for rotation of ${secretId}`);
  if (version.stages.includes(CURRENT)) {
    // A finishSecret can die between moving AWSCURRENT and its last writes; Secrets Manager then
    // retries with this token from createSecret. Whatever step arrives completes that work.
    const leftovers =
      version.stages.includes(PENDING) || parseCurrentSince(secret.tags[TAG_CURRENT_SINCE], token) === undefined;
    if (!leftovers) return `version ${token} is already AWSCURRENT; nothing to do`;
    await finishPromotion(session.store, secretId, token, secret.tags, runtime.now());
    return `version ${token} was already AWSCURRENT; completed the promotion an earlier finishSecret began`;
  }
  if (!version.stages.includes(PENDING))
    throw fail(`secret version ${token} is not AWSPENDING for rotation of ${secretId}`);

  const obs = await observe(session.store, () => session.keys.list(), target, {
    nowMs: runtime.now(),
    verified: new Set(),
    protectedSids: session.protectedSids,
  });
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
      for (const stale of obs.keys.filter((k) => k.friendlyName === friendlyName)) await session.keys.remove(stale.sid);
      const { policy } = await resolvePolicy(target, session.keys, obs.current.key.apiKeySid);
      const created = await session.keys.create({ friendlyName, ...(policy ? { policy } : {}) });
      const value = nextApiKeyValue(obs.current.document, {
        accountSid: target.accountSid,
        apiKeySid: created.sid,
        apiKeySecret: created.secret,
        ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
      });
      if ((await session.store.putPending(secretId, token, value)) === 'token-conflict') {
        await session.keys.remove(created.sid);
        throw fail(`version ${token} was filled by someone else; revoked our key ${created.sid}`);
      }
      return `created key ${created.sid} "${friendlyName}" and stored it in version ${token}`;
    }
    case 'setSecret':
      if (!pendingKey) throw fail(`version ${token} has no value yet; createSecret has not run`);
      return `nothing to set: Twilio activates key ${pendingKey.key.apiKeySid} when it is created`;
    case 'testSecret': {
      if (!pendingKey) throw fail(`version ${token} has no value yet; createSecret has not run`);
      const { verifyMethod } = await resolvePolicy(target, session.keys, obs.current.key.apiKeySid);
      const result = await runtime
        .verifier(target)
        .verify(
          { accountSid: target.accountSid, sid: pendingKey.key.apiKeySid, secret: pendingKey.key.apiKeySecret },
          verifyMethod,
        );
      if (result.ok) return `key ${pendingKey.key.apiKeySid} authenticates against Twilio`;
      if (result.definitive) {
        // Never becomes current: drop it so a retry cannot promote a key that does not work.
        await session.store.abandonPending(secretId, token);
        if (obs.keys.some((k) => k.sid === pendingKey.key.apiKeySid && k.friendlyName === friendlyName))
          await session.keys.remove(pendingKey.key.apiKeySid);
      }
      const why = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
      throw fail(
        `new key ${pendingKey.key.apiKeySid} failed verification (${why})${result.definitive ? '; it was revoked and AWSPENDING removed, the current key keeps serving' : '; Secrets Manager will retry'}`,
      );
    }
    case 'finishSecret': {
      if (!pendingKey) throw fail(`version ${token} has no value; createSecret has not run`);
      // Recorded first: the scheduled run retires the previous key only after a promotion this names.
      await session.store.setTags(secretId, { [TAG_PROMOTED]: `${obs.current.versionId} ${token}` });
      await finishPromotion(session.store, secretId, token, secret.tags, runtime.now());
      return `version ${token} (key ${pendingKey.key.apiKeySid}) is AWSCURRENT; the previous key stays until the consumer gate passes`;
    }
    default:
      throw fail(`unknown rotation step "${String(event.Step)}"`);
  }
}
