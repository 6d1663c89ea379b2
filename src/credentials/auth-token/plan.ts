import { gateBlockers } from '../../core/gate.js';
import {
  CURRENT,
  parseStamp,
  PENDING,
  pendingLeftOnCurrent,
  PLACEHOLDER_STUCK_AFTER_MS,
  TAG_CURRENT_SINCE,
} from '../../core/labels.js';
import { rotationId } from '../../core/rotation-id.js';
import { DAY_MS, wholeDays } from '../../core/sids.js';
import {
  TAG_PENDING_SINCE,
  type Decision,
  type Observation,
  type PlannerSettings,
  type TokenVersion,
} from './observation.js';

const FROM_NOTHING = 'a token cannot be made from nothing';
const NO_VALUE_YET = 'is AWSPENDING with no value yet';
const WHY_REFUSED = 'it was changed outside the rotator, or the account is suspended';

/**
 * The Auth Token flow as one pure function. One secondary slot, no read-back, and a promotion that
 * kills the old primary at once, so the consumer gate comes before the promotion:
 *
 *   start-rotation (create the secondary, store it as AWSPENDING at once) ─▶ mark-pending (proven)
 *     ─▶ check-gate ─(waiting | stuck)… ─▶ promote (old primary dies; AWSCURRENT follows at once)
 *     ─▶ propagation delay ─▶ refresh-copies ─▶ settle (new token works, old one refused) ─▶ done
 *
 * Whatever a crash leaves, the next look says where things stand: Twilio tells, with the tokens
 * themselves, which one works and which is the primary.
 */
export function plan(obs: Observation, s: PlannerSettings): Decision {
  const { secret, current } = obs;
  if (!secret || !current) {
    const storeIt = `store the account's token in it (twilio-key-rotator secret put ${obs.secretId} --store …)`;
    return {
      kind: 'stuck',
      on: [`secret "${obs.secretId}" holds no current Auth Token; ${storeIt}: ${FROM_NOTHING}`],
      sinceMs: obs.nowMs,
    };
  }
  if (s.token !== undefined) {
    const byToken = tokenStep(obs, s.token);
    if (byToken) return byToken;
  }
  // Secrets Manager's own value-less version: its rotation function fills it (start-rotation below).
  const placeholder = obs.pendingPlaceholder;
  const forToken = placeholder !== undefined && placeholder.versionId === s.token;
  if (placeholder && !forToken) {
    const what = `a Secrets Manager rotation is in progress (version ${placeholder.versionId} ${NO_VALUE_YET})`;
    if (obs.nowMs - placeholder.createdAtMs >= PLACEHOLDER_STUCK_AFTER_MS) {
      const sinceIso = new Date(placeholder.createdAtMs).toISOString();
      const cancel = `aws secretsmanager cancel-rotate-secret --secret-id ${obs.secretId}`;
      const giveUp = `to give up, run "${cancel}" and remove AWSPENDING from version ${placeholder.versionId}`;
      return {
        kind: 'stuck',
        on: [`${what} since ${sinceIso}: its rotation function keeps failing. Read its logs; ${giveUp}`],
        sinceMs: placeholder.createdAtMs,
      };
    }
    return { kind: 'busy', reason: `${what}; its own steps finish it` };
  }

  const pending = obs.pending;
  const curCheck = obs.checks.get(current.ref);
  const pendCheck = pending ? obs.checks.get(pending.ref) : undefined;
  /** `current` stays while `on` holds: waiting until the deadline, then stuck for a person. */
  const hold = (on: string[], sinceMs: number, deadlineMs: number): Decision =>
    obs.nowMs >= deadlineMs
      ? { kind: 'stuck', on, sinceMs, kept: current.ref }
      : { kind: 'waiting', on, sinceMs, deadlineMs, kept: current.ref };

  // Twilio promoted the pending token but the labels did not follow (a crash after the promotion).
  const promotion = pending && { versionId: pending.versionId, fromVersionId: current.versionId, ref: pending.ref };
  if (promotion && pendCheck?.ok && pendCheck.primary) return { kind: 'finish-promotion', ...promotion };
  if (obs.movedUnder && curCheck?.ok) {
    // A racing run promoted the token after this run read the secret: it carries the rotation on.
    const what = `another run promoted the Auth Token while this run looked (${obs.movedUnder})`;
    return { kind: 'busy', reason: `${what}; it carries the rotation on, and the next run takes it from there` };
  }
  if (!curCheck?.ok) {
    const what = `Twilio refuses the current Auth Token ${current.ref} (${curCheck?.reason ?? 'not checked'})`;
    const put = `twilio-key-rotator secret put ${obs.secretId} --store … --replace`;
    return {
      kind: 'stuck',
      on: [`${what}: ${WHY_REFUSED}. Store the working token: ${put}`],
      sinceMs: current.createdAtMs,
      kept: current.ref,
    };
  }

  // After a promotion this rotator recorded: wait out propagation, then prove it took.
  const previous = obs.previous;
  if (previous && obs.promoting) {
    const since = parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId);
    if (since === undefined) return { kind: 'mark-current', versionId: current.versionId };
    if (obs.staleCopies.length > 0)
      return { kind: 'refresh-copies', locations: [...obs.staleCopies], versionId: current.versionId };
    const elapsed = obs.nowMs - since;
    const deadline = since + s.propagationDelayMs + s.gate.maxWaitMs;
    if (elapsed < s.propagationDelayMs) {
      const toGoSeconds = Math.ceil((s.propagationDelayMs - elapsed) / 1000);
      return hold([`propagation delay: ${toGoSeconds} s to go before the promotion is checked`], since, deadline);
    }
    if (obs.checks.get(previous.ref)?.ok === true) {
      const after = `${Math.floor(elapsed / 1000)} s after the promotion`;
      const accepted = `the old token ${previous.ref} is still accepted ${after}`;
      return hold([accepted], since, deadline);
    }
    if (!curCheck.primary) return hold([`Twilio does not report ${current.ref} as the primary token`], since, deadline);
    return { kind: 'settle', versionId: current.versionId, ref: current.ref };
  }
  if (obs.staleCopies.length > 0)
    return { kind: 'refresh-copies', locations: [...obs.staleCopies], versionId: current.versionId };

  // A rotation under way: the new token waits for the consumer gate before it is promoted.
  if (pending) {
    if (!pendCheck?.ok) return { kind: 'drop-dead-pending', versionId: pending.versionId, ref: pending.ref };
    const since = parseStamp(secret.tags[TAG_PENDING_SINCE], pending.versionId);
    if (since === undefined) return { kind: 'mark-pending', versionId: pending.versionId, ref: pending.ref };
    if (s.emergency) {
      // rotate --now: the stated overlap is the whole gate; whoever has not switched by then loses access.
      const left = s.emergency.overlapMs - (obs.nowMs - since);
      const toGo = `emergency overlap (rotate --now): ${Math.ceil(left / 1000)} s to go before the promotion`;
      return left > 0 ? hold([toGo], since, since + s.emergency.overlapMs) : { kind: 'promote', ...promotion! };
    }
    if (!obs.gate) return { kind: 'check-gate', versionId: pending.versionId, expect: pending.ref, sinceMs: since };
    const on = gateBlockers(obs.gate, s.gate, {
      nowMs: obs.nowMs,
      sinceMs: since,
      expect: pending.ref,
      target: s.target,
    });
    return on.length > 0 ? hold(on, since, since + s.gate.maxWaitMs) : { kind: 'promote', ...promotion! };
  }

  const leftOver = pendingLeftOnCurrent(secret);
  if (leftOver !== undefined) return { kind: 'clear-pending-label', versionId: leftOver };

  // A creation announced but never stored. A young one may be storing its token right now; an older
  // one's run stopped, and whether it made a secondary is unknown. Its value is lost either way, so
  // nothing proves a secondary there now is this rotator's: the announcement is only written off.
  if (obs.intent) {
    const age = obs.nowMs - obs.intent.atMs;
    if (age < s.creationWindowMs) {
      const announced = new Date(obs.intent.atMs).toISOString();
      const after = new Date(obs.intent.atMs + s.creationWindowMs).toISOString();
      const what = `a secondary Auth Token is being created by another run (announced ${announced})`;
      return { kind: 'busy', reason: `${what}; if that run died, a run after ${after} takes over` };
    }
    return { kind: 'abandon-creation', rotationId: obs.intent.rotationId, atMs: obs.intent.atMs };
  }

  const reason = dueReason(obs, s, current, forToken);
  if (reason !== undefined && !curCheck.primary) {
    // The token consumers use is the account's secondary (a rotation made outside was left half-done).
    // A new rotation needs that slot, and deleting it would lock every consumer out.
    return {
      kind: 'stuck',
      on: [currentIsSecondary(current.ref, obs.secretId)],
      sinceMs: current.createdAtMs,
      kept: current.ref,
    };
  }
  if (reason !== undefined)
    return {
      kind: 'start-rotation',
      versionId: forToken ? placeholder.versionId : rotationId(obs.secretId, current.versionId, secret.allVersionIds),
      reason,
    };
  return { kind: 'done', current: current.ref, nextDueAtMs: current.createdAtMs + s.maxAgeMs };
}

/**
 * Secrets Manager's rotation protocol (its token in the settings): the token's version is AWSPENDING,
 * or AWSCURRENT once finishSecret promoted it; a label move that stopped part-way is finished here.
 * Everything else is the common path, told to fill the token's value-less version.
 */
function tokenStep(obs: Observation, token: string): Decision | undefined {
  const secret = obs.secret!;
  const version = secret.versions.find((v) => v.versionId === token);
  const what = `secret version ${token}`;
  if (!version)
    return { kind: 'stuck', on: [`${what} has no stage for rotation of ${obs.secretId}`], sinceMs: obs.nowMs };
  if (version.stages.includes(CURRENT)) {
    if (version.stages.includes(PENDING)) return { kind: 'clear-pending-label', versionId: token };
    const since = parseStamp(secret.tags[TAG_CURRENT_SINCE], token);
    return since === undefined ? { kind: 'mark-current', versionId: token } : undefined;
  }
  if (!version.stages.includes(PENDING))
    return { kind: 'stuck', on: [`${what} is not AWSPENDING for rotation of ${obs.secretId}`], sinceMs: obs.nowMs };
  return undefined;
}

/** Why a rotation starts now, if it does; in Secrets Manager's protocol only to fill the token's version. */
function dueReason(obs: Observation, s: PlannerSettings, current: TokenVersion, forToken: boolean): string | undefined {
  if (s.token !== undefined) return forToken ? 'Secrets Manager rotates the secret' : undefined;
  if (s.emergency && !s.emergency.created.has(current.versionId))
    return `rotate --now: the current token ${current.ref} is treated as leaked`;
  if (s.force) return 'forced (--force)';
  const age = obs.nowMs - current.createdAtMs;
  if (age >= s.maxAgeMs) return `the current token is ${wholeDays(age)} days old (maxAgeDays ${s.maxAgeMs / DAY_MS})`;
  if (!obs.unstored) return undefined;
  // Only a creation tells whether that secondary exists: it is made (none did), or kept and reported.
  const what = `rotation ${obs.unstored.rotationId} (${new Date(obs.unstored.atMs).toISOString()}) was never stored`;
  return `${what} and may have left a secondary whose value was lost`;
}

function currentIsSecondary(ref: string, secretId: string): string {
  const what = `the current token ${ref} (secret "${secretId}") works but is not the primary`;
  const why = "it is the account's secondary, left by a rotation made outside the rotator";
  const fix = 'promote it in the Twilio Console (the old primary then stops working), then run rotate';
  return `${what}: ${why}. Fix: ${fix}; --replace-secondary refuses to delete it`;
}

export function warnings(obs: Observation, s: PlannerSettings): string[] {
  const out: string[] = [];
  if (obs.unstored) {
    const at = new Date(obs.unstored.atMs).toISOString();
    const what = `rotation ${obs.unstored.rotationId} (${at}) may have made a secondary whose value was lost`;
    const fix = `"twilio-key-rotator rotate --target ${s.target} --replace-secondary"`;
    out.push(`${what}; if one exists it is kept, never deleted: should a rotation meet it, run ${fix}`);
  }
  const current = obs.current;
  const check = current && obs.checks.get(current.ref);
  // Right after a promotion of this rotator's, Twilio may not say so yet: the planner waits for that.
  if (current && check?.ok && !check.primary && !obs.pending && !obs.promoting)
    out.push(currentIsSecondary(current.ref, obs.secretId));
  return out;
}
