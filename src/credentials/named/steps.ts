import {
  CURRENT,
  formatPromotion,
  formatStamp,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
  TAG_RETIRED,
} from '../../core/labels.js';
import { claimTags } from '../../core/claim.js';
import type { SecretStore, VerifyResult } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import type { ActResult, StepSpec, StepTable } from '../kind.js';
import { isOwnKeyName, isRotationFrom } from './naming.js';
import type { LabelledKey, Observation, PlannerSettings, Settings, Step } from './observation.js';
import { HISTORY_LIMIT, retiringKey } from './plan.js';
import type { NamedPort, NamedSession } from './port.js';

/**
 * A version this rotator named is its own record (its id derives from the old one): moved first, then
 * tagged with the promotion and current-since in one call (after a kill between, mark-current writes
 * both); answers true. One Secrets Manager named gets the promotion tag, its only record, before the
 * move; answers false. Leaves: the new version current, the old one previous, rotator:promoted naming both.
 */
export async function promoteVersion(
  store: SecretStore,
  secretId: string,
  step: { fromVersionId: string; versionId: string },
  runtime: Runtime,
  claim: Record<string, string>,
): Promise<boolean> {
  const record = { [TAG_PROMOTED]: formatPromotion(step.fromVersionId, step.versionId) };
  if (isRotationFrom(secretId, step.fromVersionId, step.versionId, HISTORY_LIMIT)) {
    await store.promote(secretId, step.versionId);
    const since = { [TAG_CURRENT_SINCE]: formatStamp(step.versionId, runtime.now()) };
    await store.setTags(secretId, { ...record, ...since, ...claim });
    return true;
  }
  await store.setTags(secretId, record);
  await store.promote(secretId, step.versionId);
  return false;
}

/**
 * The only way a credential is deleted. Refuses an admin credential, anything the secret labels current
 * or pending, and one another target's secret holds, read afresh here (`held`: that read, just made).
 * Leaves: the credential gone (a 404 counts as gone), or a result starting with "kept".
 */
export async function deleteNamed<S extends NamedSession>(
  port: NamedPort<S>,
  session: S,
  obs: Observation,
  sid: string,
  held?: ReadonlyMap<string, string>,
): Promise<string> {
  if (session.protectedSids.has(sid)) return 'kept: it is an admin credential';
  if (sid === obs.current?.key.apiKeySid || sid === obs.pending?.key.apiKeySid) return 'kept: the secret still uses it';
  const elsewhere = (held ?? (await session.heldElsewhere({ fresh: true }))).get(sid);
  if (elsewhere !== undefined) return `kept: target "${elsewhere}"'s secret holds it`;
  return port.delete(session, sid);
}

export const keptKey = (result: string) => result.startsWith('kept');

/** A success is remembered for the rest of the run. Leaves: nothing. */
export async function verifyNamed<S extends NamedSession>(
  port: NamedPort<S>,
  session: S,
  runtime: Runtime,
  obs: Observation,
  version: LabelledKey,
): Promise<VerifyResult> {
  const result = await port.verify(session, runtime, obs, version);
  if (result.ok) session.facts.verified.add(version.key.apiKeySid);
  return result;
}

/**
 * A refused pending credential is deleted (when its name proves it this target's), then AWSPENDING comes
 * off. In that order: a crash between leaves a pending version whose credential is gone
 * (`drop-dead-pending` finishes), never an unlabelled version holding a live one, which no run could
 * tell from one consumers were served. Leaves: the version deprecated, the credential gone (or left).
 */
async function withdrawPending<S extends NamedSession>(port: NamedPort<S>, session: S, obs: Observation, sid: string) {
  const { target, store } = session;
  const versionId = obs.pending!.versionId;
  const prefix = target.friendlyNamePrefix;
  const ours = obs.keys.some((k) => k.sid === sid && isOwnKeyName(k.friendlyName, prefix, obs.fingerprint ?? ''));
  // Right before deleting, the version is read again: another run may have promoted it meanwhile.
  const now = (await store.read(target.secret.secretId, { fresh: true }))?.versions.find(
    (v) => v.versionId === versionId,
  );
  if (now?.stages.includes(CURRENT)) return 'kept: another run made its version current meanwhile';
  // Refused, it serves nobody, even though AWSPENDING still names it for a moment.
  const removed = ours
    ? await deleteNamed(port, session, { ...obs, pending: undefined }, sid)
    : 'left alone: not provably made for this target';
  await store.abandonPending(target.secret.secretId, versionId);
  return removed;
}

type VerifyStep = Extract<Step, { kind: 'verify-pending' | 'verify-current' }>;

async function verifyStep<S extends NamedSession>(
  port: NamedPort<S>,
  step: VerifyStep,
  obs: Observation,
  session: S,
  runtime: Runtime,
  settings: PlannerSettings,
): Promise<ActResult> {
  const { noun, remove } = port;
  const version = step.kind === 'verify-pending' ? obs.pending! : obs.current!;
  const sid = version.key.apiKeySid;
  const result = await verifyNamed(port, session, runtime, obs, version);
  if (result.ok) return { detail: `${noun} ${sid} ${port.works}` };
  const refused = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
  if (step.kind === 'verify-pending' && result.definitive) {
    const removed = await withdrawPending(port, session, obs, sid);
    const failed = `new ${noun} ${sid} failed verification (${refused})`;
    if (keptKey(removed)) {
      const error = `${failed}; ${removed}; the next run looks again`;
      return { detail: `${failed}; the ${noun} stays (${removed})`, end: { kind: 'failed', step: step.kind, error } };
    }
    const error = `${failed}; it was ${remove.done} and the current ${noun} keeps serving`;
    return {
      detail: `${failed}; ${remove.done} it and dropped AWSPENDING (${removed})`,
      end: { kind: 'failed', step: step.kind, error, reason: 'verification-failed' },
    };
  }
  const unproven = obs.secret?.tags[TAG_CURRENT_SINCE]?.split(' ')[0] !== version.versionId;
  if (step.kind === 'verify-current' && result.definitive && unproven && !retiringKey(obs, settings)) {
    // A current credential that never proved itself. One made from the configuration replaces it when it
    // would differ; otherwise it would be refused too, and the configuration must change.
    if (await port.wouldDiffer(session, runtime, obs, sid)) {
      session.facts.currentRefused = { keySid: sid, reason: result.reason };
      return {
        detail: `current ${noun} ${sid} is refused (${refused}); a ${noun} with the configured policy replaces it`,
      };
    }
  }
  const why = result.definitive ? `the ${noun} was refused` : 'Twilio could not be asked; the next run retries';
  const error = `${noun} ${sid} did not verify (${refused}): ${why}; nothing was deleted`;
  return {
    detail: `could not verify ${noun} ${sid}: ${refused}`,
    end: { kind: 'failed', step: step.kind, error, ...(result.definitive ? { reason: 'verification-failed' } : {}) },
  };
}

/** The claim tag for `versionId` (core/claim.ts), when the look read that version. */
function claimOf(obs: Observation, versionId: string): Record<string, string> {
  const seen = [obs.current, obs.pending].find((v) => v?.versionId === versionId);
  return seen ? claimTags({ versionId, ref: seen.key.apiKeySid, createdAtMs: seen.createdAtMs }, {}) : {};
}

type Spec<K extends Step['kind'], S> = StepSpec<Extract<Step, { kind: K }>, Observation, S, Settings>;

/**
 * Twilio shows the secret once, so it is stored before anything else can fail. When another rotator
 * stored this token first, the one made here is deleted.
 * Leaves: a credential on Twilio and a version holding it, or (lost race) neither.
 */
function createStep<S extends NamedSession>(port: NamedPort<S>): Spec<'create-secret' | 'start-rotation', S>['act'] {
  return async (step, obs, session, runtime) => {
    const { noun, remove } = port;
    const { store } = session;
    const secretId = session.target.secret.secretId;
    const as = step.kind === 'create-secret' ? 'current' : 'pending';
    const token = step.versionId;
    const made = await port.create(session, runtime, obs, { friendlyName: step.friendlyName, token });
    const put =
      as === 'current'
        ? await store.create(secretId, token, made.value)
        : await store.putPending(secretId, token, made.value);
    if (put === 'token-conflict') {
      const removed = await port.delete(session, made.sid);
      const first = `another rotator stored rotation ${token} first`;
      return {
        detail: `${first}; ${remove.done} our ${noun} ${made.sid} (${removed})`,
        end: { kind: 'lost-race', detail: `another rotator is handling rotation ${token}` },
      };
    }
    // The version this run was told to name is named: later reads of the run need no version ids.
    session.rotating = false;
    const why = step.kind === 'start-rotation' ? ` because ${step.reason}` : '';
    const stored = `stored it as AWS${as.toUpperCase()} (version ${token})`;
    return {
      detail: `created ${noun} ${made.sid} "${step.friendlyName}"${why}; ${stored}`,
      startedRotation: step.kind === 'start-rotation',
      createdVersion: token,
    };
  };
}

/**
 * Each step of the named-credential flow, declared once for every kind on it: how it acts, its words
 * (dry run, status) and its properties. The reconcile loop, the dry run and Secrets Manager's protocol
 * all run these.
 */
export function namedSteps<S extends NamedSession>(port: NamedPort<S>): StepTable<Step, Observation, S, Settings> {
  const { noun, remove } = port;
  const secretIdOf = (session: S) => session.target.secret.secretId;
  const verify = (step: VerifyStep, obs: Observation, session: S, runtime: Runtime, settings: PlannerSettings) =>
    verifyStep(port, step, obs, session, runtime, settings);
  const describeVerify = (d: VerifyStep, _obs: Observation, session: S) => {
    const which = d.kind === 'verify-pending' ? 'pending' : 'current';
    return `verify the ${which} ${noun} ${d.keySid}: ${port.howToVerify(session.target)}`;
  };
  return {
    'sweep-orphans': {
      irreversible: true,
      async act(step, obs, session) {
        const outcomes = [];
        const held = await session.heldElsewhere({ fresh: true });
        for (const { sid } of step.keys) outcomes.push(`${sid} (${await deleteNamed(port, session, obs, sid, held)})`);
        const what = `${step.keys.length} orphan ${noun}(s) this rotator made for this target`;
        return { detail: `${remove.done} ${what} and no version of the secret ever held: ${outcomes.join(', ')}` };
      },
      describe(d) {
        const why =
          'made for this target by this rotator, referenced by no version of the secret (a crashed or lost run)';
        return `${remove.verb} ${d.keys.map((k) => k.sid).join(', ')}: ${why}`;
      },
    },
    'reserve-secret': {
      async act(_step, _obs, session) {
        await session.store.reserve(secretIdOf(session));
        return {
          detail: `created secret "${secretIdOf(session)}" without a value; its first ${noun} is named after it`,
        };
      },
      describe(_d, obs) {
        const named = `(its new ${noun}s are named after it)`;
        return `create the secret "${obs.secretId}" without a value, because it does not exist ${named}`;
      },
    },
    'create-secret': {
      namesVersion: true,
      act: createStep(port),
      describe(d) {
        const why = 'because the secret has no current version';
        return `create ${noun} "${d.friendlyName}" and store it as AWSCURRENT (version ${d.versionId}), ${why}`;
      },
    },
    'start-rotation': {
      window: true,
      namesVersion: true,
      act: createStep(port),
      describe(d) {
        const store = `store it as AWSPENDING (version ${d.versionId})`;
        return `create ${noun} "${d.friendlyName}" and ${store}, because ${d.reason}`;
      },
    },
    'drop-dead-pending': {
      async act(step, _obs, session) {
        await session.store.abandonPending(secretIdOf(session), step.versionId);
        const gone = 'which no longer exists on Twilio; dropped the AWSPENDING label';
        return { detail: `pending version ${step.versionId} names ${noun} ${step.keySid}, ${gone}` };
      },
      describe: (d) => `drop AWSPENDING from version ${d.versionId}: its ${noun} ${d.keySid} no longer exists`,
    },
    'clear-pending-label': {
      async act(step, _obs, session) {
        await session.store.abandonPending(secretIdOf(session), step.versionId);
        return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
      },
      describe: (d) =>
        `take AWSPENDING off version ${d.versionId}, which is already AWSCURRENT (a promotion stopped part-way)`,
    },
    'verify-pending': { act: verify, describe: describeVerify },
    promote: {
      async act(step, obs, session, runtime) {
        await promoteVersion(session.store, secretIdOf(session), step, runtime, claimOf(obs, step.versionId));
        const old = 'the old current is AWSPREVIOUS';
        return { detail: `promoted version ${step.versionId} (${noun} ${step.keySid}) to AWSCURRENT; ${old}` };
      },
      describe(d, obs) {
        const old = obs.current?.key.apiKeySid ?? `the old ${noun}`;
        return `promote version ${d.versionId} to AWSCURRENT; ${old} becomes AWSPREVIOUS`;
      },
    },
    'verify-current': { act: verify, describe: describeVerify },
    'mark-current': {
      async act(step, obs, session, runtime) {
        // Leaves: rotator:current-since naming the version and now; the consumer gate counts from it. And
        // the promotion's tag, when a kill came between a version this rotator named and its tags; and the
        // claim of what the version holds (core/claim.ts), as the look saw it.
        const secretId = secretIdOf(session);
        const from = obs.previous?.versionId;
        const derived = from !== undefined && isRotationFrom(secretId, from, step.versionId, HISTORY_LIMIT);
        const promoted = formatPromotion(from ?? '', step.versionId);
        const record: Record<string, string> =
          derived && obs.secret?.tags[TAG_PROMOTED] !== promoted ? { [TAG_PROMOTED]: promoted } : {};
        const since = { [TAG_CURRENT_SINCE]: formatStamp(step.versionId, runtime.now()) };
        await session.store.setTags(secretId, { ...record, ...since, ...claimOf(obs, step.versionId) });
        return {
          detail: `recorded version ${step.versionId} as current since now; the consumer gate counts from here`,
        };
      },
      describe: (d) => `tag the secret: version ${d.versionId} current since now (the consumer gate counts from here)`,
    },
    'retire-previous': {
      irreversible: true,
      async act(step, obs, session) {
        const removed = await deleteNamed(port, session, obs, step.keySid);
        if (keptKey(removed)) {
          const error = `the previous ${noun} ${step.keySid} was not deleted (${removed}); the next run looks again`;
          return {
            detail: `consumer gate passed, but the previous ${noun} ${step.keySid} stays (${removed})`,
            end: { kind: 'failed', step: step.kind, error },
          };
        }
        await session.store.setTags(secretIdOf(session), { [TAG_RETIRED]: step.versionId });
        return {
          detail: `consumer gate passed; deleted the previous ${noun} ${step.keySid} on Twilio (${removed})`,
          completedRotation: true,
        };
      },
      describe: (d) => `delete the previous ${noun} ${d.keySid} on Twilio: the consumer gate has passed`,
    },
  };
}
