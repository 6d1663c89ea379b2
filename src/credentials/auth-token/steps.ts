import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretLocation } from '../../config/types.js';
import { formatPromotion, formatStamp, PENDING, TAG_CURRENT_SINCE, TAG_PROMOTED } from '../../core/labels.js';
import type { Runtime } from '../../core/runtime.js';
import { parseSecretObject } from '../../core/secret-values.js';
import { RemoteError, RotationError } from '../../errors.js';
import type { ActResult } from '../kind.js';
import { copiesHolding, type AuthTokenSession } from './observe.js';
import {
  TAG_PENDING_SINCE,
  TAG_SECONDARY_INTENT,
  TAG_SETTLED,
  type Observation,
  type PlannerSettings,
  type RunFacts,
  type Step,
  type TokenVersion,
} from './observation.js';
import { nextAuthTokenValue, tokenFingerprint } from './shape.js';

/**
 * Each step of the Auth Token flow as one function, used by the reconcile loop (`act`), the dry run
 * and Secrets Manager's rotation protocol (./protocol.ts). Each comment says what the step leaves.
 */

const secretIdOf = (session: AuthTokenSession) => session.target.secret.secretId;

/**
 * Twilio refused the admin credential. When the target manages itself, that credential is the token
 * this run read: another run promoted a new one since, and this run has lost the race.
 */
const refusedSelf = (session: AuthTokenSession, err: unknown) =>
  session.target.selfManaged && err instanceof RemoteError && (err.detail.status === 401 || err.detail.status === 403);

/** The value to store for `token`: the current version's fields, the new token. */
function valueFor(session: AuthTokenSession, obs: Observation, token: string): string {
  const { target } = session;
  return nextAuthTokenValue(obs.current?.document, {
    accountSid: target.accountSid,
    authToken: token,
    ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
  });
}

/** Looks at the store for a racing run's token, SETTLE_LOOKS more times, SETTLE_PAUSE_MS apart. */
const SETTLE_LOOKS = 3;
const SETTLE_PAUSE_MS = 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Creation = { stored: TokenVersion['ref'] } | { lost: string } | { foreign: true };

/**
 * Announces the creation (so a crash before the store write is recognised as this rotator's), asks
 * Twilio for a secondary token and stores it under `token` as AWSPENDING at once: Twilio never shows it
 * again. A secondary that already exists is someone else's: left alone and reported, unless the
 * operator asked to replace it.
 * Leaves: a secondary on Twilio stored as AWSPENDING, or (foreign, lost race) nothing new.
 */
export async function createSecondary(
  session: AuthTokenSession,
  obs: Observation,
  facts: RunFacts,
  token: string,
  replaceSecondary: boolean,
): Promise<Creation> {
  const secretId = secretIdOf(session);
  const nonce = randomBytes(4).toString('hex');
  await session.store.setTags(secretId, {
    [TAG_SECONDARY_INTENT]: `${token} ${new Date(obs.nowMs).toISOString()} ${nonce}`,
  });
  const tokens = await session.authTokens();
  facts.checks.clear();
  let made: Awaited<ReturnType<typeof tokens.createSecondary>>;
  try {
    made = await tokens.createSecondary();
  } catch (err) {
    if (!refusedSelf(session, err)) throw err;
    // Withdraw this run's announcement, unless another run has announced over it since.
    const again = await session.store.read(secretId, { fresh: true });
    if ((again?.tags[TAG_SECONDARY_INTENT] ?? '').endsWith(` ${nonce}`))
      await session.store.setTags(secretId, { [TAG_SECONDARY_INTENT]: '' });
    return { lost: 'another run promoted a new token while this one was starting; nothing was made' };
  }
  if (made === 'exists') {
    // A run that announced its creation just before this one may be storing its token right now:
    // give it the time one store write takes before calling the secondary someone else's.
    for (let look = 0; ; look++) {
      const again = await session.store.read(secretId, { fresh: true });
      const pendingHere = again?.versions.some((v) => v.versionId === token && v.value !== undefined);
      const intent = again?.tags[TAG_SECONDARY_INTENT] ?? '';
      if (pendingHere || !intent.endsWith(` ${nonce}`))
        return { lost: `another rotator is creating the secondary for rotation ${token}` };
      if (look === SETTLE_LOOKS) break;
      await pause(SETTLE_PAUSE_MS);
    }
    if (!replaceSecondary) {
      await session.store.setTags(secretId, { [TAG_SECONDARY_INTENT]: '' });
      return { foreign: true };
    }
    await tokens.deleteSecondary();
    made = await tokens.createSecondary();
    if (made === 'exists')
      throw new RotationError(
        session.target.name,
        'start-rotation',
        'a secondary Auth Token appeared again right after it was deleted: another process is rotating this account; stop it first',
      );
  }
  const put = await session.store.putPending(secretId, token, valueFor(session, obs, made.token));
  if (put === 'token-conflict') {
    // Another run stored a token for this rotation first; the secondary is this run's (the slot was
    // taken by it from its creation until now), and nothing holds it: delete it.
    await tokens.deleteSecondary();
    return { lost: `another rotator stored rotation ${token} first; deleted the secondary this run made` };
  }
  return { stored: tokenFingerprint(made.token) };
}

/** Leaves: rotator:pending-since naming `versionId` and now (the gate counts from it); no intent. */
export async function markPending(session: AuthTokenSession, runtime: Runtime, versionId: string): Promise<void> {
  await session.store.setTags(secretIdOf(session), {
    [TAG_PENDING_SINCE]: formatStamp(versionId, runtime.now()),
    [TAG_SECONDARY_INTENT]: '',
  });
}

/**
 * Moves AWSCURRENT to the promoted version at once (the old primary no longer works anywhere), stamps
 * when, and records the promotion if an earlier step could not.
 * Leaves: the new token AWSCURRENT, the old one AWSPREVIOUS, current-since and the promotion record.
 */
export async function finishPromotion(
  session: AuthTokenSession,
  runtime: Runtime,
  from: string,
  to: string,
): Promise<void> {
  const secretId = secretIdOf(session);
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, to) });
  await session.store.promote(secretId, to);
  await session.store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(to, runtime.now()) });
}

/**
 * Records the promotion, asks Twilio to promote the secondary (the old primary dies at once), then
 * finishes the labels, and the other admin secrets that held the old token, in the same step. A
 * promotion Twilio cannot make (no secondary) changes nothing.
 * Leaves: as finishPromotion, or (no secondary) the record of an intended promotion only.
 */
export async function promote(
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  pending: TokenVersion,
  from: string,
  oldToken: string,
): Promise<'promoted' | 'no-secondary' | { other: string }> {
  const secretId = secretIdOf(session);
  // Other admin secrets holding the token about to die get the new one in this same step.
  const copies = await copiesHolding(session, runtime, oldToken);
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, pending.versionId) });
  const tokens = await session.authTokens();
  facts.checks.clear();
  let promoted: Awaited<ReturnType<typeof tokens.promote>>;
  try {
    promoted = await tokens.promote();
  } catch (err) {
    // The old token this run authenticates with died: another run may have promoted this very token.
    if (!refusedSelf(session, err)) throw err;
    promoted = 'no-secondary';
  }
  if (promoted === 'no-secondary') {
    // Another run may have promoted it a moment ago: then the pending token is the primary now.
    const now = await runtime.tokenVerifier(session.target).check(session.target.accountSid, pending.token);
    if (!now.ok || !now.primary) return promoted;
    await finishPromotion(session, runtime, from, pending.versionId);
    await refreshCopies(session, runtime, copies, pending.token);
    return 'promoted';
  }
  if (promoted.token !== pending.token) {
    // Twilio promoted a secondary that is not the one stored: the only working token is the one just
    // returned. Keep it, so nothing is locked out, and let a person find out who made the other one.
    const versionId = randomUUID();
    await session.store.putCurrent(
      secretId,
      versionId,
      nextAuthTokenValue(pending.document, { accountSid: session.target.accountSid, authToken: promoted.token }),
    );
    await session.store.abandonPending(secretId, pending.versionId);
    return { other: tokenFingerprint(promoted.token) };
  }
  await finishPromotion(session, runtime, from, pending.versionId);
  await refreshCopies(session, runtime, copies, pending.token);
  return 'promoted';
}

/**
 * The other admin secrets that held the retired token get the new one, keeping their other fields,
 * so no target of this configuration is locked out. Leaves: a new AWSCURRENT in each.
 */
export async function refreshCopies(
  session: AuthTokenSession,
  runtime: Runtime,
  locations: readonly SecretLocation[],
  token: string,
): Promise<string[]> {
  const done: string[] = [];
  for (const location of locations) {
    const store = runtime.store(location.store);
    const secret = await store.read(location.secretId);
    const current = secret?.versions.find((v) => v.stages.includes('AWSCURRENT'));
    if (!current) continue;
    const document = parseSecretObject(
      { secretId: location.secretId, versionId: current.versionId, stage: 'AWSCURRENT' },
      current.value,
      current.binary,
    );
    await store.putCurrent(location.secretId, randomUUID(), JSON.stringify({ ...document, authToken: token }));
    done.push(`"${location.secretId}" (${location.store})`);
  }
  return done;
}

/** Carries out one step of the reconcile. */
export async function act(
  step: Step,
  obs: Observation,
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  settings: PlannerSettings,
): Promise<ActResult> {
  const secretId = secretIdOf(session);
  switch (step.kind) {
    case 'start-rotation': {
      const made = await createSecondary(session, obs, facts, step.versionId, settings.replaceSecondary);
      if ('lost' in made) return { detail: made.lost, end: { kind: 'lost-race', detail: made.lost } };
      if ('foreign' in made) {
        const error = `a secondary Auth Token exists on ${session.target.accountSid} that this rotator did not create, and it cannot be read back: it may be in use. Find out whose it is, then delete it in the Console, or run "twilio-key-rotator rotate --target ${session.target.name} --replace-secondary" to delete it; nothing was changed`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error, reason: 'foreign-secondary' } };
      }
      return {
        detail: `created a secondary Auth Token ${made.stored} because ${step.reason}; stored it as AWSPENDING (version ${step.versionId})`,
        startedRotation: true,
        createdVersion: step.versionId,
      };
    }
    case 'abandon-creation': {
      let what = 'nothing to delete: the announcement is too old to prove the secondary (if any) is this rotator’s';
      if (step.deleteSecondary) {
        facts.checks.clear();
        let deleted: 'deleted' | 'none';
        try {
          deleted = await (await session.authTokens()).deleteSecondary();
        } catch (err) {
          if (!refusedSelf(session, err)) throw err;
          const detail = 'another run promoted a new token meanwhile; this run leaves the rest to it';
          return { detail, end: { kind: 'lost-race', detail } };
        }
        what = `its unstored secondary (if it was made) ${deleted === 'deleted' ? 'was deleted' : 'was never made'}`;
      }
      await session.store.setTags(secretId, { [TAG_SECONDARY_INTENT]: '' });
      return { detail: `a secondary announced for rotation ${step.rotationId} was never stored; ${what}` };
    }
    case 'clear-pending-label':
      await session.store.abandonPending(secretId, step.versionId);
      return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
    case 'drop-dead-pending':
      await session.store.abandonPending(secretId, step.versionId);
      return {
        detail: `the pending token ${step.ref} (version ${step.versionId}) no longer works: its secondary was deleted outside the rotator; dropped AWSPENDING`,
      };
    case 'mark-pending':
      await markPending(session, runtime, step.versionId);
      return { detail: `the pending token ${step.ref} authenticates; the consumer gate counts from now` };
    case 'promote': {
      const outcome = await promote(session, runtime, facts, obs.pending!, step.fromVersionId, obs.current!.token);
      if (outcome === 'no-secondary') {
        // An `abort` deletes the secondary, then drops AWSPENDING: give one that is under way the
        // time to finish before calling the deletion someone else's.
        for (let look = 0; look <= SETTLE_LOOKS; look++) {
          const again = await session.store.read(secretId, { fresh: true });
          const stillPending = again?.versions.some(
            (v) => v.versionId === step.versionId && v.stages.includes(PENDING),
          );
          if (!stillPending) {
            const detail = `the rotation was backed out (abort) before its promotion: ${step.ref} was deleted and AWSPENDING dropped; the current token stays the primary`;
            return { detail, end: { kind: 'lost-race', detail } };
          }
          if (look < SETTLE_LOOKS) await pause(SETTLE_PAUSE_MS);
        }
        const error = `Twilio has no secondary token to promote (404/20404): ${step.ref} was deleted outside the rotator; the current token keeps working and the next run starts over`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error } };
      }
      if (typeof outcome === 'object') {
        const error = `Twilio promoted a secondary token (${outcome.other}) that is not the pending ${step.ref}; it is stored as AWSCURRENT so nothing is locked out. Another process is rotating this account's token: find it`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error } };
      }
      return { detail: `promoted ${step.ref} to primary on Twilio and to AWSCURRENT; the old token stopped working` };
    }
    case 'finish-promotion':
      await finishPromotion(session, runtime, step.fromVersionId, step.versionId);
      return { detail: `Twilio had already promoted ${step.ref}; moved AWSCURRENT to version ${step.versionId}` };
    case 'mark-current':
      await session.store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(step.versionId, runtime.now()) });
      return {
        detail: `recorded version ${step.versionId} as current since now; the propagation delay counts from here`,
      };
    case 'refresh-copies': {
      const done = await refreshCopies(session, runtime, step.locations, obs.current!.token);
      return { detail: `stored the new token in the admin secret(s) that held the old one: ${done.join(', ')}` };
    }
    case 'settle':
      await session.store.setTags(secretId, { [TAG_SETTLED]: step.versionId });
      return {
        detail: `the promotion took: ${step.ref} works and the old token is refused`,
        completedRotation: true,
      };
  }
}
