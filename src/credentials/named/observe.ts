import { CURRENT, labelled, PENDING, placeholderOf, notRetired, PREVIOUS } from '../../core/labels.js';
import { UNKNOWN_IDENTITY, type StoredSecret, type StoredVersion } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { keySidsIn } from '../../core/secret-values.js';
import { errorMessage, RemoteError, RotationError, SecretShapeError } from '../../errors.js';
import { redact } from '../../redact.js';
import { ownerFingerprint } from './naming.js';
import type { LabelledKey, Observation, UnreadableVersion } from './observation.js';
import { unlabelledOwnKeys } from './plan.js';
import type { NamedPort, NamedSession } from './port.js';

const FIX_ACCOUNT = "fix the target's accountSid or the secret";

/** The credential in one labelled version; throws SecretShapeError naming secret, stage, version and field. */
function labelledKey<S extends NamedSession>(
  port: NamedPort<S>,
  secret: StoredSecret,
  stage: string,
  target: S['target'],
): LabelledKey | undefined {
  const version = labelled(secret, stage);
  if (!version) return undefined;
  const claimed = claimedKey(version, target.accountSid);
  if (claimed) return claimed;
  const source = { secretId: secret.secretId, versionId: version.versionId, stage };
  const { key, document } = port.parse(source, version.value, version.binary);
  if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
    const rotates = `target "${target.name}" rotates ${port.noun}s of ${target.accountSid}`;
    throw new SecretShapeError(source, 'accountSid', `is ${key.accountSid}, but ${rotates}; ${FIX_ACCOUNT}`);
  }
  return { versionId: version.versionId, createdAtMs: version.createdAtMs, key, document };
}

/**
 * A version a sweep knows only by its claim (core/claim.ts): no secret, no document. The look it is in
 * can conclude only "nothing due"; every step reads the secret first (engine/reconcile.ts).
 */
function claimedKey(version: StoredVersion, accountSid: string): LabelledKey | undefined {
  const { versionId, claim } = version;
  if (!claim || version.value !== undefined) return undefined;
  const key = { accountSid, apiKeySid: claim.ref, apiKeySecret: '' };
  return { versionId, createdAtMs: claim.createdAtMs, key, document: {} };
}

/**
 * One look: the secret's labelled versions and the account's complete credential list. An unreadable
 * AWSCURRENT or AWSPENDING stops the run; an unreadable AWSPREVIOUS is recorded, its credential in use.
 * When a credential could be deleted, the look also takes every version id the secret ever had and what
 * other targets' secrets hold: the facts a deletion rests on.
 */
export async function observe<S extends NamedSession>(port: NamedPort<S>, session: S, runtime: Runtime) {
  const prefix = session.target.friendlyNamePrefix;
  // Not on a sweep's copy: it is read afresh before any step anyway (engine/reconcile.ts lookIsCurrent).
  const ids = session.rotating === true && runtime.confirmed?.(session.target) !== false;
  let obs = await look(port, session, runtime, ids);
  const unlabelled = () => unlabelledOwnKeys(obs, { prefix }).length > 0;
  if (obs.secret?.versionIdsComplete === false && unlabelled()) obs = await look(port, session, runtime, true);
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

async function look<S extends NamedSession>(port: NamedPort<S>, session: S, runtime: Runtime, versionIds: boolean) {
  const { target, store, facts } = session;
  // The account's list needs no value of the secret: asked for at once where the kind keeps one per run.
  const early = port.prefetch?.(session);
  early?.catch(() => undefined); // awaited below, unless the secret's read fails first
  const reading = { ...(versionIds ? { versionIds } : {}), wantValue: notRetired, claims: true };
  const secret = await store.read(target.secret.secretId, reading);
  // SIDs the secret references: a list from earlier in this run that lacks one is out of date. Not
  // those of a retired previous version: rightly gone, even when this run's copy holds its value.
  const referenced = (secret?.versions ?? []).flatMap((v) =>
    v.value === undefined || !notRetired(v, secret?.tags ?? {}) ? [] : keySidsIn(v.value),
  );
  const obs: Observation = {
    nowMs: runtime.now(),
    secretId: target.secret.secretId,
    secret,
    // After the early list settled: its failure is this look's (a list that just failed is not asked
    // again at once), and its answer is the run's list, refreshed only if it lacks a referenced SID.
    keys: await (early ? early.then(() => port.list(session, referenced)) : port.list(session, referenced)),
    verified: facts.verified,
    protectedSids: session.protectedSids,
    unreadable: [],
    ...(facts.currentRefused !== undefined ? { currentRefused: facts.currentRefused } : {}),
  };
  if (!secret) return obs;
  // A secret the dry run only imagines has no ARN yet, so its credentials' names cannot be known either.
  obs.fingerprint =
    secret.identity === UNKNOWN_IDENTITY ? '????????' : ownerFingerprint(target.accountSid, secret.identity);
  const current = labelledKey(port, secret, CURRENT, target);
  if (current) obs.current = current;

  const unreadable: UnreadableVersion[] = [];
  // A retired previous version (TAG_RETIRED) is skipped: its credential is gone, and nothing in it is needed.
  if (!labelled(secret, PREVIOUS)?.skipped)
    try {
      const previous = labelledKey(port, secret, PREVIOUS, target);
      if (previous) obs.previous = previous;
    } catch (err) {
      if (!(err instanceof SecretShapeError)) throw err;
      const version = labelled(secret, PREVIOUS)!;
      const problem = `${err.field} ${err.problem}`;
      unreadable.push({ stage: PREVIOUS, versionId: version.versionId, sids: keySidsIn(version.value), problem });
    }
  obs.unreadable = unreadable;

  const placeholder = placeholderOf(secret);
  if (placeholder) {
    obs.pendingPlaceholder = placeholder;
    return obs;
  }
  const pending = labelledKey(port, secret, PENDING, target);
  if (pending && pending.versionId !== current?.versionId) obs.pending = pending;
  return obs;
}
