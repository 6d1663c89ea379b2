import { CURRENT, PENDING, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import type { SeenLabels } from '../../core/ports.js';
import { parsePause, type RollbackAct, type RollbackPlan, type RollbackStep } from '../../core/rollback.js';
import { rotationIdForToken } from '../../core/rotation-id.js';
import type { Runtime } from '../../core/runtime.js';
import { isRotationFrom, keyName } from './naming.js';
import type { LabelledKey, Observation, PlannerSettings } from './observation.js';
import { HISTORY_LIMIT, promotionRecorded } from './plan.js';
import type { NamedPort, NamedSession } from './port.js';
import { deleteNamed, keptKey, verifyNamed } from './steps.js';

/**
 * Rolling a named credential back during the overlap (core/rollback.ts has the timeline). Two states
 * are this command's to finish, told apart by facts of the version history and the pause record:
 *
 *   overlap:     AWSCURRENT new, AWSPREVIOUS old, the rotator's own promotion (new derives from old,
 *                or the promotion tag), old not retired and alive on Twilio.
 *   rolled back: AWSCURRENT old, AWSPREVIOUS new, new derives from old (only a rollback or a person
 *                puts a successor behind its basis), and rotator:paused names exactly this pair.
 *
 * The new credential is revoked only when it is provably this target's: its name is the one the
 * rotator gives the credential it stores under the new version's token, with this target's fingerprint.
 */
export function namedRollback<S extends NamedSession>(port: NamedPort<S>) {
  return {
    plan: (obs: Observation, s: Names) => planRollback(obs, s, port.noun),
    act: (step: RollbackStep, obs: Observation, session: S, runtime: Runtime) =>
      actRollback(port, step, obs, session, runtime),
  };
}

const LOSE = 'consumers still holding it lose access';

type Names = Pick<PlannerSettings, 'prefix' | 'target'>;
type Step = RollbackStep & {
  kind: 'verify-previous' | 'restore-previous' | 'verify-restored' | 'reinstate-new' | 'revoke-new';
};

const listed = (obs: Observation, sid: string) => obs.keys.some((k) => k.sid === sid);
const stepOf = (kind: Step['kind'], changes: boolean, plan: string): Step => ({ kind, changes, plan });
const ref = (v: LabelledKey) => ({ versionId: v.versionId, ref: v.key.apiKeySid });

/** True when the key `version` holds carries the name the rotator gives the key of that version. */
function namedForVersion(obs: Observation, s: Names, version: LabelledKey): boolean {
  if (obs.fingerprint === undefined) return false;
  const name = obs.keys.find((k) => k.sid === version.key.apiKeySid)?.friendlyName;
  return name === keyName(s.prefix, obs.fingerprint, rotationIdForToken(version.versionId));
}

/** Why the new key stays, or undefined when it may be revoked. */
function keepNew(obs: Observation, s: Names, bad: LabelledKey, good: LabelledKey, noun: string): string | undefined {
  const sid = bad.key.apiKeySid;
  if (obs.protectedSids.has(sid)) return `the new ${noun} ${sid} is an admin credential`;
  if (sid === good.key.apiKeySid) return `both versions hold ${noun} ${sid}`;
  if (!namedForVersion(obs, s, bad))
    return `the new ${noun} ${sid} is not provably this target's (its name is not the one the rotator gives it)`;
  return undefined;
}

export function planRollback(obs: Observation, s: Names, noun = 'key'): RollbackPlan {
  const { current, previous, secret } = obs;
  const nothing = (why: string): RollbackPlan => ({ kind: 'refused', why: `${why}; nothing to roll back` });
  if (!secret || !current) return nothing(`the secret has no current ${noun}`);
  if (obs.pending || obs.pendingPlaceholder) {
    const id = obs.pending?.versionId ?? obs.pendingPlaceholder?.versionId;
    const what = `a rotation is under way (version ${id} is AWSPENDING, not yet current)`;
    return nothing(`${what}: consumers still get ${current.key.apiKeySid}`);
  }
  if (!previous || previous.versionId === current.versionId) return nothing(`the secret has no previous ${noun}`);
  const pause = parsePause(secret.tags);

  // Rolled back already (this command moved AWSCURRENT back): revoke the new key, if it is ours.
  if (isRotationFrom(obs.secretId, current.versionId, previous.versionId, HISTORY_LIMIT)) {
    const mine = pause !== undefined && pause !== 'unreadable' && pause.from === previous.versionId;
    if (!mine || pause.to !== current.versionId) {
      const what = `AWSCURRENT is already back on version ${current.versionId}`;
      const why = "but no rollback of this rotator's is recorded (someone moved the labels); nothing was changed";
      return { kind: 'stop', why: `${what}, ${why}` };
    }
    const pair = { from: ref(previous), to: ref(current) };
    const [bad, restored] = [previous.key.apiKeySid, current.key.apiKeySid];
    if (!listed(obs, restored)) {
      // A racing run retired the old key right as it came back: consumers must get the new one again.
      if (!listed(obs, bad)) {
        const fix = `store a working ${noun} with secret put --replace`;
        return { kind: 'stop', why: `both ${noun}s are gone from Twilio (${restored}, ${bad}); ${fix}` };
      }
      const back = `move AWSCURRENT back to version ${previous.versionId} (${noun} ${bad})`;
      return {
        kind: 'steps',
        ...pair,
        steps: [stepOf('reinstate-new', true, `${back}: ${restored} is gone from Twilio`)],
      };
    }
    if (!listed(obs, bad)) return { kind: 'rolled-back', ...pair };
    const kept = keepNew(obs, s, previous, current, noun);
    if (kept) return { kind: 'rolled-back', ...pair, kept };
    const steps: Step[] = [];
    // The restored key is proven once more before the only other working key goes (a rerun after a kill).
    if (!obs.verified.has(restored))
      steps.push(stepOf('verify-restored', false, `verify that the restored ${noun} ${restored} works`));
    steps.push(stepOf('revoke-new', true, `revoke the new ${noun} ${bad} on Twilio (${LOSE})`));
    return { kind: 'steps', ...pair, steps };
  }

  // The overlap: the old key of the rotator's own promotion is still alive, waiting for its gate.
  const old = previous.key.apiKeySid;
  if (!promotionRecorded(obs.secretId, secret, previous.versionId, current.versionId))
    return nothing(`the previous ${noun} ${old} was not replaced by a rotation of this rotator's`);
  if (secret.tags[TAG_RETIRED] === previous.versionId || !listed(obs, old)) {
    const gone = `the previous ${noun} ${old} was already retired (or deleted): there is nothing to go back to`;
    return {
      kind: 'refused',
      why: `${gone}; to replace ${current.key.apiKeySid}, rotate --force --target ${s.target}`,
    };
  }
  if (obs.protectedSids.has(old))
    return { kind: 'refused', why: `the previous ${noun} ${old} is an admin credential; it is never put back` };
  const newSid = current.key.apiKeySid;
  const steps: Step[] = [];
  if (!obs.verified.has(old))
    steps.push(stepOf('verify-previous', false, `verify that the previous ${noun} ${old} still works`));
  const back = `move AWSCURRENT back to version ${previous.versionId} (${noun} ${old})`;
  steps.push(stepOf('restore-previous', true, `${back}; ${newSid} becomes AWSPREVIOUS`));
  if (!keepNew(obs, s, current, previous, noun))
    steps.push(stepOf('revoke-new', true, `revoke the new ${noun} ${newSid} on Twilio (${LOSE})`));
  return { kind: 'steps', from: ref(current), to: ref(previous), steps };
}

/** The secret's labels right now, past any cache, when AWSCURRENT and AWSPREVIOUS are where this look saw them. */
async function labelsAsSeen(session: NamedSession, obs: Observation): Promise<SeenLabels | undefined> {
  const secret = await session.store.read(session.target.secret.secretId, { fresh: true, wantValue: () => false });
  const labels = Object.fromEntries((secret?.versions ?? []).map((v) => [v.versionId, v.stages]));
  const at = (v: LabelledKey | undefined, stage: string) => v !== undefined && labels[v.versionId]?.includes(stage);
  return at(obs.current, CURRENT) && at(obs.previous, PREVIOUS) ? labels : undefined;
}

const movedMeanwhile = {
  stop: "the secret's labels changed meanwhile (a person or another run); nothing more was done",
};

export async function actRollback<S extends NamedSession>(
  port: NamedPort<S>,
  step: RollbackStep,
  obs: Observation,
  session: S,
  runtime: Runtime,
): Promise<RollbackAct> {
  const noun = port.noun;
  const { current, previous } = obs;
  if (!current || !previous) return { stop: 'the secret changed under this rollback; nothing more was done' };
  const secretId = session.target.secret.secretId;
  switch (step.kind) {
    case 'verify-previous': {
      // Leaves: nothing (a GET with the old key itself).
      const result = await verifyNamed(port, session, runtime, obs, previous);
      if (result.ok) return { detail: `the previous ${noun} ${previous.key.apiKeySid} authenticates against Twilio` };
      const refused = `the previous ${noun} ${previous.key.apiKeySid} no longer works (${result.reason})`;
      if (!result.definitive)
        return { stop: `could not verify the previous ${noun}: ${result.reason}; nothing was changed` };
      const keep = `${current.key.apiKeySid} stays current; nothing was changed`;
      const next = `fix the new ${noun}'s problem instead, or rotate --force --target ${session.target.name}`;
      return { refused: `${refused}: rolling back would hand consumers a dead ${noun}; ${keep}. ${next}` };
    }
    case 'restore-previous': {
      // Right before the move, the labels must still be the ones this plan was made on.
      const labels = await labelsAsSeen(session, obs);
      if (!labels || Object.values(labels).some((stages) => stages.includes(PENDING))) return movedMeanwhile;
      await session.store.promote(secretId, previous.versionId, labels);
      // Leaves: the old version AWSCURRENT, the new one AWSPREVIOUS. A concurrent run may have retired
      // the old key after this run verified it: then AWSCURRENT goes back to the new key at once.
      const again = await verifyNamed(port, session, runtime, obs, previous);
      if (!again.ok && again.definitive) {
        await session.store.promote(secretId, current.versionId);
        const why = `the previous ${noun} ${previous.key.apiKeySid} stopped working right after AWSCURRENT moved to it`;
        return {
          stop: `${why} (${again.reason}); AWSCURRENT is back on ${current.key.apiKeySid}; nothing was revoked`,
        };
      }
      return { detail: `AWSCURRENT is version ${previous.versionId} again (${noun} ${previous.key.apiKeySid})` };
    }
    case 'verify-restored':
    case 'reinstate-new': {
      // Leaves: nothing (the restored key works), or AWSCURRENT on the new key again.
      if (step.kind === 'verify-restored') {
        const result = await verifyNamed(port, session, runtime, obs, current);
        if (result.ok) return { detail: `the restored ${noun} ${current.key.apiKeySid} authenticates against Twilio` };
        if (!result.definitive)
          return { stop: `could not verify the restored ${noun}: ${result.reason}; nothing was revoked` };
      }
      const labels = await labelsAsSeen(session, obs);
      if (!labels) return movedMeanwhile;
      await session.store.promote(secretId, previous.versionId, labels);
      const why = `the restored ${noun} ${current.key.apiKeySid} no longer works (deleted or refused on Twilio)`;
      return { stop: `${why}; AWSCURRENT is back on the new ${noun} ${previous.key.apiKeySid}; nothing was revoked` };
    }
    case 'revoke-new': {
      // Only once AWSCURRENT is back on the old version (the new one is AWSPREVIOUS), read afresh.
      const bad = previous.key.apiKeySid;
      if (!isRotationFrom(secretId, current.versionId, previous.versionId, HISTORY_LIMIT))
        return { stop: 'revoke-new runs only once AWSCURRENT is back on the old version; this is a bug' };
      if (!(await labelsAsSeen(session, obs))) return movedMeanwhile;
      const removed = await deleteNamed(port, session, obs, bad);
      if (keptKey(removed)) return { stop: `the new ${noun} ${bad} was not revoked (${removed})` };
      return { detail: `revoked the new ${noun} ${bad} on Twilio (${removed})` };
    }
    default:
      return { stop: `unknown rollback step ${step.kind}; this is a bug` };
  }
}
