import { claimTags } from '../../core/claim.js';
import {
  CURRENT,
  formatPromotion,
  formatStamp,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
  TAG_RETIRED,
} from '../../core/labels.js';
import type { PutResult, VerifyResult } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError } from '../../errors.js';
import type { ActResult } from '../kind.js';
import { isOwnKeyName } from './naming.js';
import type { ApiKeySession } from './observe.js';
import type { LabelledKey, Observation, PlannerSettings, RunFacts, Step } from './observation.js';
import { retiringKey } from './plan.js';
import { newKeyWouldDiffer, resolvePolicy, type ResolvedPolicy } from './policy.js';
import { nextApiKeyValue } from './shape.js';

/**
 * Each step of the API-key flow as one function. The scheduled run, the CLI and the dry run reach
 * them through `act`; Secrets Manager's rotation protocol (./protocol.ts) calls the same functions.
 * Each comment says what the step leaves behind.
 */

/** The policy a new key gets and how to prove a key works; resolved once per run, its warnings logged. */
export async function policyFor(
  session: ApiKeySession,
  runtime: Runtime,
  obs: Observation,
  facts: RunFacts,
): Promise<ResolvedPolicy> {
  if (!facts.policy) {
    facts.policy = await resolvePolicy(session.target, session.keys, obs.current?.key.apiKeySid);
    for (const warning of facts.policy.warnings)
      runtime.logger.warn(warning, { target: session.target.name, step: 'resolve-policy' });
  }
  return facts.policy;
}

/**
 * The only way a key is deleted. Refuses an admin credential, anything the secret still labels
 * current or pending, and a key another configured target's secret holds — read afresh right here,
 * whatever the caller believed (`held`: that read, when the caller made it just before).
 * Leaves: the key gone on Twilio (a 404 counts as gone), or a result starting with "kept".
 */
export async function deleteKey(
  session: ApiKeySession,
  obs: Observation,
  sid: string,
  held?: ReadonlyMap<string, string>,
): Promise<string> {
  if (session.protectedSids.has(sid)) return 'kept: it is an admin credential';
  if (sid === obs.current?.key.apiKeySid || sid === obs.pending?.key.apiKeySid) return 'kept: the secret still uses it';
  const elsewhere = (held ?? (await session.heldElsewhere({ fresh: true }))).get(sid);
  if (elsewhere !== undefined) return `kept: target "${elsewhere}"'s secret holds it`;
  return session.keys.remove(sid);
}

const GONE_DROPPED = 'which no longer exists on Twilio; dropped the AWSPENDING label';
const REPLACED = 'a key with the configured policy replaces it';

/** True for a `deleteKey` result that left the key alive. */
export const keptKey = (result: string) => result.startsWith('kept');

/**
 * Creates a key named `friendlyName` with the configured policy and stores it under `token`: as
 * AWSCURRENT for the first key of a secret, as AWSPENDING for a rotation. Twilio shows the secret once,
 * so it is stored before anything else can fail. When another rotator stored this token first, the
 * key made here is revoked.
 * Leaves: a key on Twilio and a version holding it, or (lost race) neither.
 */
export async function createAndStoreKey(
  session: ApiKeySession,
  runtime: Runtime,
  obs: Observation,
  facts: RunFacts,
  request: { token: string; friendlyName: string; as: 'current' | 'pending' },
): Promise<{ sid: string; put: PutResult; removed?: string }> {
  const { target, store, keys } = session;
  const { policy } = await policyFor(session, runtime, obs, facts);
  const created = await keys.create({ friendlyName: request.friendlyName, ...(policy ? { policy } : {}) });
  const value = nextApiKeyValue(obs.current?.document, {
    accountSid: target.accountSid,
    apiKeySid: created.sid,
    apiKeySecret: created.secret,
    ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
  });
  const secretId = target.secret.secretId;
  const put =
    request.as === 'current'
      ? await store.create(secretId, request.token, value)
      : await store.putPending(secretId, request.token, value);
  if (put !== 'token-conflict') return { sid: created.sid, put };
  return { sid: created.sid, put, removed: await keys.remove(created.sid) };
}

/** Proves `version`'s key works, with the key itself. Leaves: nothing (a GET). */
export async function verifyKey(
  session: ApiKeySession,
  runtime: Runtime,
  obs: Observation,
  facts: RunFacts,
  version: LabelledKey,
): Promise<VerifyResult> {
  const { verifyMethod } = await policyFor(session, runtime, obs, facts);
  const result = await runtime
    .verifier(session.target)
    .verify(
      { accountSid: session.target.accountSid, sid: version.key.apiKeySid, secret: version.key.apiKeySecret },
      verifyMethod,
    );
  if (result.ok) facts.verified.add(version.key.apiKeySid);
  return result;
}

/**
 * A pending key that was refused never becomes current: the key is deleted when its name proves it
 * is this target's, then AWSPENDING comes off its version. In that order: a crash between the two
 * leaves a pending version whose key is gone (`drop-dead-pending` finishes), never an unlabelled
 * version holding a live key, which no run could tell from a key consumers were served.
 * Leaves: the version deprecated, the key gone (or left, and said so).
 */
export async function withdrawPending(
  session: ApiKeySession,
  obs: Observation,
  versionId: string,
  keySid: string,
  prefix: string,
): Promise<string> {
  const secretId = session.target.secret.secretId;
  const ours = obs.keys.some((k) => k.sid === keySid && isOwnKeyName(k.friendlyName, prefix, obs.fingerprint ?? ''));
  // Right before deleting, the version is read again: another run may have promoted it meanwhile.
  const now = (await session.store.read(secretId, { fresh: true }))?.versions.find((v) => v.versionId === versionId);
  if (now?.stages.includes(CURRENT)) return 'kept: another run made its version current meanwhile';
  // The key is refused: it serves nobody, even though AWSPENDING still names it for a moment.
  const removed = ours
    ? await deleteKey(session, { ...obs, pending: undefined }, keySid)
    : 'left alone: not provably made for this target';
  await session.store.abandonPending(secretId, versionId);
  return removed;
}

/**
 * Records the promotion, then moves AWSCURRENT from `from` to `to` (AWSPREVIOUS follows, AWSPENDING
 * comes off). A version this rotator named is its own record (`promotedByRotator`: its id derives from
 * `from`); the tag is the record of a version Secrets Manager named, and is kept for every promotion
 * so tools reading it see what they always saw.
 * Leaves: `to` current, `from` previous, the rotator:promoted tag naming both.
 */
export async function promoteVersion(session: ApiKeySession, from: string, to: string): Promise<void> {
  const secretId = session.target.secret.secretId;
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, to) });
  await session.store.promote(secretId, to);
}

/**
 * Leaves: rotator:current-since naming `versionId` and now; the consumer gate counts from it. With it,
 * the claim of what the version holds (core/claim.ts), when the look saw it.
 */
export async function markCurrent(session: ApiKeySession, runtime: Runtime, versionId: string, obs?: Observation) {
  const current = obs?.current?.versionId === versionId ? obs.current : undefined;
  const claim = current && { versionId, ref: current.key.apiKeySid, createdAtMs: current.createdAtMs };
  await session.store.setTags(session.target.secret.secretId, {
    [TAG_CURRENT_SINCE]: formatStamp(versionId, runtime.now()),
    ...(claim ? claimTags(claim, {}) : {}),
  });
}

/** Carries out one step of the reconcile. */
export async function act(
  step: Step,
  obs: Observation,
  session: ApiKeySession,
  runtime: Runtime,
  facts: RunFacts,
  settings: PlannerSettings,
): Promise<ActResult> {
  const { target, store } = session;
  switch (step.kind) {
    case 'sweep-orphans': {
      const outcomes = [];
      const held = await session.heldElsewhere({ fresh: true });
      for (const key of step.keys) outcomes.push(`${key.sid} (${await deleteKey(session, obs, key.sid, held)})`);
      const what = `${step.keys.length} orphan key(s) this rotator made for this target`;
      return { detail: `revoked ${what} and no version of the secret ever held: ${outcomes.join(', ')}` };
    }
    case 'reserve-secret':
      await store.reserve(target.secret.secretId);
      return { detail: `created secret "${target.secret.secretId}" without a value; its first key is named after it` };
    case 'create-secret':
    case 'start-rotation': {
      const as = step.kind === 'create-secret' ? 'current' : 'pending';
      const made = await createAndStoreKey(session, runtime, obs, facts, {
        token: step.versionId,
        friendlyName: step.friendlyName,
        as,
      });
      if (made.put === 'token-conflict') {
        const first = `another rotator stored rotation ${step.versionId} first`;
        return {
          detail: `${first}; revoked our key ${made.sid} (${made.removed})`,
          end: { kind: 'lost-race', detail: `another rotator is handling rotation ${step.versionId}` },
        };
      }
      const why = step.kind === 'start-rotation' ? ` because ${step.reason}` : '';
      const stored = `stored it as AWS${as.toUpperCase()} (version ${step.versionId})`;
      return {
        detail: `created key ${made.sid} "${step.friendlyName}"${why}; ${stored}`,
        startedRotation: step.kind === 'start-rotation',
        createdVersion: step.versionId,
      };
    }
    case 'clear-pending-label':
      await store.abandonPending(target.secret.secretId, step.versionId);
      return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
    case 'drop-dead-pending':
      await store.abandonPending(target.secret.secretId, step.versionId);
      return {
        detail: `pending version ${step.versionId} names key ${step.keySid}, ${GONE_DROPPED}`,
      };
    case 'verify-pending':
    case 'verify-current': {
      const version = step.kind === 'verify-pending' ? obs.pending! : obs.current!;
      const result = await verifyKey(session, runtime, obs, facts, version);
      if (result.ok) return { detail: `key ${version.key.apiKeySid} authenticates against Twilio` };
      const refused = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
      if (step.kind === 'verify-pending' && result.definitive) {
        const removed = await withdrawPending(session, obs, step.versionId, step.keySid, settings.prefix);
        const failed = `new key ${step.keySid} failed verification (${refused})`;
        if (keptKey(removed))
          return {
            detail: `${failed}; the key stays (${removed})`,
            end: { kind: 'failed', step: step.kind, error: `${failed}; ${removed}; the next run looks again` },
          };
        return {
          detail: `${failed}; revoked it and dropped AWSPENDING (${removed})`,
          end: {
            kind: 'failed',
            step: step.kind,
            error: `${failed}; it was revoked and the current key keeps serving`,
            reason: 'verification-failed',
          },
        };
      }
      const unproven = obs.secret?.tags[TAG_CURRENT_SINCE]?.split(' ')[0] !== version.versionId;
      if (step.kind === 'verify-current' && result.definitive && unproven && !retiringKey(obs, settings)) {
        // A current key that never proved itself. A key made from the configuration replaces it when
        // it would get other permissions; otherwise it would be refused too, and the config must change.
        if (
          await newKeyWouldDiffer(session.keys, version.key.apiKeySid, await policyFor(session, runtime, obs, facts))
        ) {
          facts.currentRefused = { keySid: version.key.apiKeySid, reason: result.reason };
          return {
            detail: `current key ${version.key.apiKeySid} is refused (${refused}); ${REPLACED}`,
          };
        }
      }
      const why = result.definitive ? 'the key was refused' : 'Twilio could not be asked; the next run retries';
      return {
        detail: `could not verify key ${version.key.apiKeySid}: ${refused}`,
        end: {
          kind: 'failed',
          step: step.kind,
          error: `key ${version.key.apiKeySid} did not verify (${refused}): ${why}; nothing was deleted`,
          ...(result.definitive ? { reason: 'verification-failed' as const } : {}),
        },
      };
    }
    case 'promote':
      await promoteVersion(session, step.fromVersionId, step.versionId);
      return {
        detail: `promoted version ${step.versionId} (key ${step.keySid}) to AWSCURRENT; the old current is AWSPREVIOUS`,
      };
    case 'mark-current':
      await markCurrent(session, runtime, step.versionId, obs);
      return { detail: `recorded version ${step.versionId} as current since now; the consumer gate counts from here` };
    case 'retire-previous': {
      const removed = await deleteKey(session, obs, step.keySid);
      if (keptKey(removed))
        return {
          detail: `consumer gate passed, but the previous key ${step.keySid} stays (${removed})`,
          end: {
            kind: 'failed',
            step: step.kind,
            error: `the previous key ${step.keySid} was not deleted (${removed}); the next run looks again`,
          },
        };
      await store.setTags(target.secret.secretId, { [TAG_RETIRED]: step.versionId });
      return {
        detail: `consumer gate passed; deleted the previous key ${step.keySid} on Twilio (${removed})`,
        completedRotation: true,
      };
    }
    default:
      throw new RotationError(target.name, (step as { kind: string }).kind, 'unknown step; this is a bug');
  }
}
