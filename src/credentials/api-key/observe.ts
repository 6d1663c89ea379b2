import { CURRENT, labelled, PENDING, placeholderOf, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import { UNKNOWN_IDENTITY, type StoredSecret, type StoredVersion, type TwilioKeys } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { keySidsIn, type AdminCredential } from '../../core/secret-values.js';
import { errorMessage, RemoteError, RotationError, SecretShapeError } from '../../errors.js';
import { redact } from '../../redact.js';
import type { Session } from '../kind.js';
import type { ApiKeyTargetConfig } from './config.js';
import { ownerFingerprint } from './naming.js';
import type { LabelledKey, Observation, RunFacts, UnreadableVersion } from './observation.js';
import { unlabelledOwnKeys } from './plan.js';
import { parseApiKeySecret } from './shape.js';

const FIX_ACCOUNT = "fix the target's accountSid or the secret";

/** An API-key target's run: its store, key management with the admin credential, what not to delete. */
export interface ApiKeySession extends Session<ApiKeyTargetConfig> {
  keys: TwilioKeys;
  admin: AdminCredential;
  /** Key SIDs of every admin credential in the configuration, this target's own included. */
  protectedSids: ReadonlySet<string>;
  /** Key SIDs other configured targets' secrets on this account hold, by target (RunScope.heldElsewhere). */
  heldElsewhere(options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  /** What this run has learnt so far (keys it proved). */
  facts: RunFacts;
}

/** The key in one labelled version; throws SecretShapeError naming secret, stage, version and field. */
function labelledKey(secret: StoredSecret, stage: string, target: ApiKeyTargetConfig): LabelledKey | undefined {
  const version = labelled(secret, stage);
  if (!version) return undefined;
  const source = { secretId: secret.secretId, versionId: version.versionId, stage };
  const claimed = claimedKey(version, target.accountSid);
  if (claimed) return claimed;
  const { document, ...key } = parseApiKeySecret(source, version.value, version.binary);
  if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
    throw new SecretShapeError(
      source,
      'accountSid',
      `is ${key.accountSid}, but target "${target.name}" rotates keys of ${target.accountSid}; ${FIX_ACCOUNT}`,
    );
  }
  return { versionId: version.versionId, createdAtMs: version.createdAtMs, key, document };
}

/**
 * A version a sweep knows only by its claim (core/claim.ts): no secret, no document. The look it is in
 * can conclude only "nothing due"; every step reads the secret first (engine/reconcile.ts).
 */
export function claimedKey(version: StoredVersion, accountSid: string): LabelledKey | undefined {
  const { versionId, claim } = version;
  if (!claim || version.value !== undefined) return undefined;
  const key = { accountSid, apiKeySid: claim.ref, apiKeySecret: '' };
  return { versionId, createdAtMs: claim.createdAtMs, key, document: {} };
}

/**
 * One look at the world: the secret's labelled versions and the account's complete key list.
 * An unreadable AWSCURRENT or AWSPENDING stops the run (nothing can be decided safely); an unreadable
 * AWSPREVIOUS is recorded, and whatever key it may hold is treated as in use.
 *
 * When a key could be deleted (a previous key alive, or a key of this target's that nothing labels),
 * the look also takes in the facts a deletion rests on: every version id the secret ever had (an
 * orphan is a key no version held) and the keys other targets' secrets hold (never retired here).
 */
export async function observe(session: ApiKeySession, runtime: Runtime, facts: RunFacts): Promise<Observation> {
  const prefix = session.target.friendlyNamePrefix;
  let obs = await look(session, runtime, facts, false);
  const unlabelled = () => unlabelledOwnKeys(obs, { prefix }).length > 0;
  if (obs.secret?.versionIdsComplete === false && unlabelled()) obs = await look(session, runtime, facts, true);
  const previous = obs.previous?.key.apiKeySid;
  const previousAlive =
    previous !== undefined &&
    previous !== obs.current?.key.apiKeySid &&
    previous !== obs.pending?.key.apiKeySid &&
    obs.keys.some((k) => k.sid === previous);
  if (previousAlive || unlabelled()) {
    try {
      obs.servedElsewhere = { sids: await session.heldElsewhere() };
    } catch (err) {
      if (!(err instanceof RemoteError || err instanceof RotationError)) throw err;
      const what = `the secret of another target on ${session.target.accountSid} cannot be read`;
      obs.servedElsewhere = { problem: `${what} (${redact(errorMessage(err))})` };
    }
  }
  return obs;
}

async function look(session: ApiKeySession, runtime: Runtime, facts: RunFacts, versionIds: boolean) {
  const { target, store } = session;
  // A previous version whose key this rotator retired holds nothing to look at: skip its value.
  const wantValue = (v: { stages: readonly string[]; versionId: string }, tags: Readonly<Record<string, string>>) =>
    !(v.stages.length === 1 && v.stages[0] === PREVIOUS && tags[TAG_RETIRED] === v.versionId);
  // The account's key list is asked for at once (one per run and account): it needs no value of the secret.
  void session.keys.list().catch(() => undefined);
  const reading = { ...(versionIds ? { versionIds } : {}), wantValue, claims: true };
  const secret = await store.read(target.secret.secretId, reading);
  // Key SIDs the secret references: a list from earlier in this run that lacks one is out of date. Not
  // the key of a retired previous version: it is rightly gone, even when this run's copy holds its value.
  const retired = (v: { stages: readonly string[]; versionId: string }) => !wantValue(v, secret?.tags ?? {});
  const referenced = (secret?.versions ?? []).flatMap((v) =>
    v.value === undefined || retired(v) ? [] : keySidsIn(v.value),
  );
  const keys = await session.keys.list({ expect: referenced });
  const obs: Observation = {
    nowMs: runtime.now(),
    secretId: target.secret.secretId,
    secret,
    keys,
    verified: facts.verified,
    protectedSids: session.protectedSids,
    unreadable: [],
    ...(facts.currentRefused !== undefined ? { currentRefused: facts.currentRefused } : {}),
  };
  if (!secret) return obs;
  // A secret the dry run only imagines has no ARN yet, so its keys' names cannot be known either.
  obs.fingerprint =
    secret.identity === UNKNOWN_IDENTITY ? '????????' : ownerFingerprint(target.accountSid, secret.identity);
  const current = labelledKey(secret, CURRENT, target);
  if (current) obs.current = current;

  const unreadable: UnreadableVersion[] = [];
  if (labelled(secret, PREVIOUS)?.skipped) {
    // Retired (TAG_RETIRED): its key is gone, and nothing in it is needed.
  } else
    try {
      const previous = labelledKey(secret, PREVIOUS, target);
      if (previous) obs.previous = previous;
    } catch (err) {
      if (!(err instanceof SecretShapeError)) throw err;
      const version = labelled(secret, PREVIOUS)!;
      unreadable.push({
        stage: PREVIOUS,
        versionId: version.versionId,
        sids: keySidsIn(version.value),
        problem: `${err.field} ${err.problem}`,
      });
    }
  obs.unreadable = unreadable;

  const placeholder = placeholderOf(secret);
  if (placeholder) {
    obs.pendingPlaceholder = placeholder;
    return obs;
  }
  const pending = labelledKey(secret, PENDING, target);
  if (pending && pending.versionId !== current?.versionId) obs.pending = pending;
  return obs;
}
