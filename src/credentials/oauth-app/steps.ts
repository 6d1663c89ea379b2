import { claimTags } from '../../core/claim.js';
import {
  CURRENT,
  formatPromotion,
  formatStamp,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
  TAG_RETIRED,
} from '../../core/labels.js';
import type { OAuthApp, PutResult, VerifyMethod, VerifyResult } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError } from '../../errors.js';
import { isOwnKeyName } from '../api-key/naming.js';
import type { LabelledKey, Observation, PlannerSettings, Step } from '../api-key/observation.js';
import { retiringKey } from '../api-key/plan.js';
import type { ActResult } from '../kind.js';
import { VERIFY_READS, type OAuthAppTargetConfig } from './config.js';
import type { AppFacts, OAuthAppSession } from './observe.js';
import { nextOAuthAppValue } from './shape.js';

/**
 * Each step of the OAuth-app flow as one function: the API-key flow's steps (../api-key/steps.ts)
 * with an app where a key was. Each comment says what the step leaves behind.
 */

/** The read that proves an app works: the first the policy grants (and does not deny), or validationUrl. */
export function verifyMethodOf(target: OAuthAppTargetConfig): VerifyMethod {
  if (target.validationUrl !== undefined) return { kind: 'url', url: target.validationUrl };
  const denied = new Set(target.policy.deny ?? []);
  const granted = Object.entries(VERIFY_READS).find(([p]) => target.policy.allow.includes(p) && !denied.has(p));
  // The configuration check requires one or the other, so this is a bug if reached.
  if (!granted) throw new RotationError(target.name, 'verify', 'no verification read and no validationUrl');
  return { kind: granted[1] };
}

const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort().join(' ');

/** How a live app differs from what the configuration would make; empty when it does not. */
export function appDrift(app: OAuthApp, target: OAuthAppTargetConfig): string[] {
  const out: string[] = [];
  const added = target.policy.allow.filter((p) => !app.policy.allow.includes(p));
  const dropped = app.policy.allow.filter((p) => !target.policy.allow.includes(p));
  if (added.length) out.push(`adds ${added.join(', ')}`);
  if (dropped.length) out.push(`drops ${dropped.join(', ')}`);
  if (sorted(app.policy.deny) !== sorted(target.policy.deny)) out.push(`denies [${sorted(target.policy.deny)}]`);
  if (app.accessTokenTtlSeconds !== target.accessTokenTtlSeconds)
    out.push(`has a token TTL of ${target.accessTokenTtlSeconds} s (now ${app.accessTokenTtlSeconds} s)`);
  return out;
}

/** Policy drift between the configuration and the live current app, as for Restricted keys. */
export function driftWarning(facts: AppFacts, obs: Observation, target: OAuthAppTargetConfig): string | undefined {
  const app = facts.apps?.find((a) => a.sid === obs.current?.key.apiKeySid);
  const drift = app ? appDrift(app, target) : [];
  return drift.length
    ? `policy drift between config and the live app ${app!.sid}: the next app ${drift.join(' and ')}`
    : undefined;
}

/**
 * The only way an app is deleted. Refuses anything the secret still labels current or pending, and an
 * app another configured target's secret holds — read afresh right here, whatever the caller believed.
 * Leaves: the app gone on Twilio (a 404 counts as gone), or a result starting with "kept".
 */
export async function deleteApp(
  session: OAuthAppSession,
  obs: Observation,
  sid: string,
  held?: ReadonlyMap<string, string>,
): Promise<string> {
  if (session.protectedSids.has(sid)) return 'kept: it is an admin credential';
  if (sid === obs.current?.key.apiKeySid || sid === obs.pending?.key.apiKeySid) return 'kept: the secret still uses it';
  const elsewhere = (held ?? (await session.heldElsewhere({ fresh: true }))).get(sid);
  if (elsewhere !== undefined) return `kept: target "${elsewhere}"'s secret holds it`;
  return session.apps.remove(sid);
}

const kept = (result: string) => result.startsWith('kept');

/**
 * Creates an app named `friendlyName` with the configured policy and TTL and stores its client ID and
 * secret under `token` (AWSCURRENT for a secret's first, AWSPENDING for a rotation). Twilio shows the
 * secret once, so it is stored before anything else can fail; when another rotator stored this token
 * first, the app made here is deleted. Leaves: an app and a version holding it, or (lost race) neither.
 */
export async function createAndStoreApp(
  session: OAuthAppSession,
  obs: Observation,
  request: { token: string; friendlyName: string; as: 'current' | 'pending' },
): Promise<{ sid: string; put: PutResult; removed?: string }> {
  const { target, store, apps } = session;
  const created = await apps.create({
    friendlyName: request.friendlyName,
    description: `twilio-key-rotator target "${target.name}", rotation ${request.token}`,
    policy: target.policy,
    accessTokenTtlSeconds: target.accessTokenTtlSeconds,
  });
  const value = nextOAuthAppValue(obs.current?.document, {
    accountSid: target.accountSid,
    clientId: created.sid,
    clientSecret: created.secret,
  });
  const secretId = target.secret.secretId;
  const put =
    request.as === 'current'
      ? await store.create(secretId, request.token, value)
      : await store.putPending(secretId, request.token, value);
  if (put !== 'token-conflict') return { sid: created.sid, put };
  return { sid: created.sid, put, removed: await apps.remove(created.sid) };
}

/** Proves `version`'s app works with its own client credentials. Leaves: nothing (a token and a GET). */
export async function verifyApp(
  session: OAuthAppSession,
  facts: AppFacts,
  version: LabelledKey,
): Promise<VerifyResult> {
  const { accountSid, apiKeySid: clientId, apiKeySecret: clientSecret } = version.key;
  const result = await session.verifier.verify({ accountSid, clientId, clientSecret }, verifyMethodOf(session.target));
  if (result.ok) facts.verified.add(clientId);
  return result;
}

/**
 * A pending app that was refused never becomes current: it is deleted when its name proves it is this
 * target's, then AWSPENDING comes off (in that order, as for keys). Leaves: the version deprecated.
 */
export async function withdrawPending(session: OAuthAppSession, obs: Observation, versionId: string, sid: string) {
  const { target, store } = session;
  const fingerprint = obs.fingerprint ?? '';
  const ours = obs.keys.some(
    (k) => k.sid === sid && isOwnKeyName(k.friendlyName, target.friendlyNamePrefix, fingerprint),
  );
  const now = (await store.read(target.secret.secretId, { fresh: true }))?.versions.find(
    (v) => v.versionId === versionId,
  );
  if (now?.stages.includes(CURRENT)) return 'kept: another run made its version current meanwhile';
  const removed = ours
    ? await deleteApp(session, { ...obs, pending: undefined }, sid)
    : 'left alone: not provably made for this target';
  await store.abandonPending(target.secret.secretId, versionId);
  return removed;
}

/** Leaves: `to` current, `from` previous, the rotator:promoted tag naming both. */
export async function promoteVersion(session: OAuthAppSession, from: string, to: string): Promise<void> {
  const secretId = session.target.secret.secretId;
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, to) });
  await session.store.promote(secretId, to);
}

/**
 * Leaves: rotator:current-since naming `versionId` and now; the consumer gate counts from it. With it,
 * the claim of what the version holds (core/claim.ts), when the look saw it.
 */
export async function markCurrent(session: OAuthAppSession, runtime: Runtime, versionId: string, obs?: Observation) {
  const current = obs?.current?.versionId === versionId ? obs.current : undefined;
  const claim = current && { versionId, ref: current.key.apiKeySid, createdAtMs: current.createdAtMs };
  await session.store.setTags(session.target.secret.secretId, {
    [TAG_CURRENT_SINCE]: formatStamp(versionId, runtime.now()),
    ...(claim ? claimTags(claim, {}) : {}),
  });
}

async function verifyStep(
  step: Extract<Step, { kind: 'verify-pending' | 'verify-current' }>,
  obs: Observation,
  session: OAuthAppSession,
  facts: AppFacts,
  settings: PlannerSettings,
): Promise<ActResult> {
  const version = step.kind === 'verify-pending' ? obs.pending! : obs.current!;
  const sid = version.key.apiKeySid;
  const result = await verifyApp(session, facts, version);
  if (result.ok) return { detail: `app ${sid} gets a token and reads with it` };
  const refused = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
  if (step.kind === 'verify-pending' && result.definitive) {
    const removed = await withdrawPending(session, obs, step.versionId, sid);
    const failed = `new app ${sid} failed verification (${refused})`;
    const error = kept(removed)
      ? `${failed}; ${removed}; the next run looks again`
      : `${failed}; it was deleted and the current app keeps serving`;
    const end = {
      kind: 'failed' as const,
      step: step.kind,
      error,
      ...(kept(removed) ? {} : { reason: 'verification-failed' as const }),
    };
    return { detail: `${failed}; ${removed}`, end };
  }
  const unproven = obs.secret?.tags[TAG_CURRENT_SINCE]?.split(' ')[0] !== version.versionId;
  const live = facts.apps?.find((a) => a.sid === sid);
  if (step.kind === 'verify-current' && result.definitive && unproven && !retiringKey(obs, settings)) {
    // A current app that never proved itself: one made from the configuration replaces it when it would differ.
    if (!live || appDrift(live, session.target).length > 0) {
      facts.currentRefused = { keySid: sid, reason: result.reason };
      return { detail: `current app ${sid} is refused (${refused}); an app with the configured policy replaces it` };
    }
  }
  const why = result.definitive ? 'the app was refused' : 'Twilio could not be asked; the next run retries';
  const error = `app ${sid} did not verify (${refused}): ${why}; nothing was deleted`;
  const reason = result.definitive ? { reason: 'verification-failed' as const } : {};
  return {
    detail: `could not verify app ${sid}: ${refused}`,
    end: { kind: 'failed', step: step.kind, error, ...reason },
  };
}

const NEVER_HELD = 'made for this target that no version ever held';
const DROPPED = 'dropped AWSPENDING';

/** Carries out one step of the reconcile. */
export async function act(
  step: Step,
  obs: Observation,
  session: OAuthAppSession,
  runtime: Runtime,
  facts: AppFacts,
  settings: PlannerSettings,
): Promise<ActResult> {
  const { target, store } = session;
  const secretId = target.secret.secretId;
  switch (step.kind) {
    case 'sweep-orphans': {
      const held = await session.heldElsewhere({ fresh: true });
      const outcomes = [];
      for (const app of step.keys) outcomes.push(`${app.sid} (${await deleteApp(session, obs, app.sid, held)})`);
      return {
        detail: `deleted ${step.keys.length} orphan app(s) ${NEVER_HELD}: ${outcomes.join(', ')}`,
      };
    }
    case 'reserve-secret':
      await store.reserve(secretId);
      return { detail: `created secret "${secretId}" without a value; its first app is named after it` };
    case 'create-secret':
    case 'start-rotation': {
      const drift = driftWarning(facts, obs, target);
      if (drift) runtime.logger.warn(drift, { target: target.name, step: step.kind });
      const as = step.kind === 'create-secret' ? 'current' : 'pending';
      const made = await createAndStoreApp(session, obs, {
        token: step.versionId,
        friendlyName: step.friendlyName,
        as,
      });
      if (made.put === 'token-conflict') {
        const end = { kind: 'lost-race' as const, detail: `another rotator is handling rotation ${step.versionId}` };
        return {
          detail: `another rotator stored rotation ${step.versionId} first; deleted our app ${made.sid} (${
            made.removed
          })`,
          end,
        };
      }
      const why = step.kind === 'start-rotation' ? ` because ${step.reason}` : '';
      const stored = `stored it as AWS${as.toUpperCase()} (version ${step.versionId})`;
      return {
        detail: `created app ${made.sid} "${step.friendlyName}"${why}; ${stored}`,
        startedRotation: step.kind === 'start-rotation',
        createdVersion: step.versionId,
      };
    }
    case 'clear-pending-label':
      await store.abandonPending(secretId, step.versionId);
      return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
    case 'drop-dead-pending':
      await store.abandonPending(secretId, step.versionId);
      return {
        detail: `pending version ${step.versionId} names app ${step.keySid}, which no longer exists; ${DROPPED}`,
      };
    case 'verify-pending':
    case 'verify-current':
      return verifyStep(step, obs, session, facts, settings);
    case 'promote':
      await promoteVersion(session, step.fromVersionId, step.versionId);
      return {
        detail: `promoted version ${step.versionId} (app ${step.keySid}) to AWSCURRENT; the old current is AWSPREVIOUS`,
      };
    case 'mark-current':
      await markCurrent(session, runtime, step.versionId, obs);
      return { detail: `recorded version ${step.versionId} as current since now; the consumer gate counts from here` };
    case 'retire-previous': {
      const removed = await deleteApp(session, obs, step.keySid);
      if (kept(removed)) {
        const error = `the previous app ${step.keySid} was not deleted (${removed}); the next run looks again`;
        return {
          detail: `consumer gate passed, but the previous app stays (${removed})`,
          end: { kind: 'failed', step: step.kind, error },
        };
      }
      await store.setTags(secretId, { [TAG_RETIRED]: step.versionId });
      return {
        detail: `consumer gate passed; deleted the previous app ${step.keySid} (${removed})`,
        completedRotation: true,
      };
    }
    default:
      throw new RotationError(target.name, (step as { kind: string }).kind, 'unknown step; this is a bug');
  }
}
