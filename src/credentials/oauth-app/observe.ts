import { CURRENT, labelled, PENDING, placeholderOf, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import { UNKNOWN_IDENTITY, type OAuthApp, type StoredSecret, type TwilioOAuthApps } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { keySidsIn, type AdminCredential } from '../../core/secret-values.js';
import { errorMessage, RemoteError, RotationError, SecretShapeError } from '../../errors.js';
import { redact } from '../../redact.js';
import { ownerFingerprint } from '../api-key/naming.js';
import { claimedKey } from '../api-key/observe.js';
import type { LabelledKey, Observation, RunFacts, UnreadableVersion } from '../api-key/observation.js';
import { unlabelledOwnKeys } from '../api-key/plan.js';
import type { Session } from '../kind.js';
import type { OAuthAppTargetConfig } from './config.js';
import type { OAuthAppsPort } from './port.js';
import { parseOAuthAppSecret } from './shape.js';

/** An OAuth-app target's run: its store, app management with the admin credential, what not to delete. */
export interface OAuthAppSession extends Session<OAuthAppTargetConfig> {
  apps: TwilioOAuthApps;
  /** Proves client credentials (the port's verify). */
  verifier: Pick<OAuthAppsPort, 'verify'>;
  admin: AdminCredential;
  /** Key SIDs of every admin credential in the configuration (an app is never one, but the planner asks). */
  protectedSids: ReadonlySet<string>;
  /** Client IDs and key SIDs other configured targets' secrets on this account hold, by target. */
  heldElsewhere(options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  /** What this run has learnt so far (apps it proved, the apps as last listed). */
  facts: AppFacts;
}

/** What this kind adds to a run's facts: the apps as listed, for drift and the summary. */
export interface AppFacts extends RunFacts {
  apps?: readonly OAuthApp[];
}

function labelledApp(secret: StoredSecret, stage: string, target: OAuthAppTargetConfig): LabelledKey | undefined {
  const version = labelled(secret, stage);
  if (!version) return undefined;
  const claimed = claimedKey(version, target.accountSid);
  if (claimed) return claimed;
  const source = { secretId: secret.secretId, versionId: version.versionId, stage };
  const { key, document } = parseOAuthAppSecret(source, version.value, version.binary);
  if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
    const fix = "fix the target's accountSid or the secret";
    const problem = `is ${key.accountSid}, but target "${target.name}" rotates apps of ${target.accountSid}; ${fix}`;
    throw new SecretShapeError(source, 'accountSid', problem);
  }
  return { versionId: version.versionId, createdAtMs: version.createdAtMs, key, document };
}

/**
 * One look: the secret's labelled versions and the account's complete app list, in the API-key
 * planner's terms (../api-key/observation.ts; an app is a credential with a SID, a name and an age).
 * As for keys: an unreadable AWSCURRENT or AWSPENDING stops the run, an unreadable AWSPREVIOUS is
 * recorded and whatever it names counts as in use, and when an app could be deleted the look also
 * takes in every version id the secret ever had and what other targets' secrets hold.
 */
export async function observe(session: OAuthAppSession, runtime: Runtime, facts: AppFacts): Promise<Observation> {
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

async function look(session: OAuthAppSession, runtime: Runtime, facts: AppFacts, versionIds: boolean) {
  const { target, store } = session;
  const secret = await store.read(target.secret.secretId, {
    ...(versionIds ? { versionIds } : {}),
    wantValue: (v, tags) => !(v.stages.length === 1 && v.stages[0] === PREVIOUS && tags[TAG_RETIRED] === v.versionId),
    claims: true,
  });
  // Listed afresh on every look: apps are few, and a list from before this run's own create would miss it.
  facts.apps = await session.apps.list();
  const obs: Observation = {
    nowMs: runtime.now(),
    secretId: target.secret.secretId,
    secret,
    keys: facts.apps.map((a) => ({ sid: a.sid, friendlyName: a.friendlyName, createdAtMs: a.createdAtMs })),
    verified: facts.verified,
    protectedSids: session.protectedSids,
    unreadable: [],
    ...(facts.currentRefused !== undefined ? { currentRefused: facts.currentRefused } : {}),
  };
  if (!secret) return obs;
  obs.fingerprint =
    secret.identity === UNKNOWN_IDENTITY ? '????????' : ownerFingerprint(target.accountSid, secret.identity);
  const current = labelledApp(secret, CURRENT, target);
  if (current) obs.current = current;
  const unreadable: UnreadableVersion[] = [];
  if (!labelled(secret, PREVIOUS)?.skipped)
    try {
      const previous = labelledApp(secret, PREVIOUS, target);
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
  const pending = labelledApp(secret, PENDING, target);
  if (pending && pending.versionId !== current?.versionId) obs.pending = pending;
  return obs;
}
