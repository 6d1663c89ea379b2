import { isRotatorKeyName, rotationId } from './rotation-id.js';
import { TAG_CURRENT_SINCE, type Decision, type Observation, type PlannerSettings } from './state.js';

/**
 * The rotation state machine as one pure function: observed state in, next step or outcome out.
 *
 *   (no secret) ─create-secret─▶ current ─verify-current─▶ mark-current ─▶ done ··· due ···┐
 *   ┌──────────────────────────────────────────────────────────────────────────────────────┘
 *   └▶ start-rotation (create key, store AWSPENDING) ─▶ verify-pending ─▶ promote
 *        ─▶ mark-current ─▶ check-gate ─(waiting | stuck)… ─▶ verify-current ─▶ retire-previous ─▶ done
 *
 * Orphan keys (made by this rotator, referenced by no labelled version, older than the grace) are
 * swept first. The engine applies the step, observes again and asks again; a rerun after a crash
 * simply starts with an observation and lands on the same path.
 */
export function plan(obs: Observation, s: PlannerSettings): Decision {
  const live = new Set(obs.keys.map((k) => k.sid));
  const referenced = new Set(
    [obs.current?.key.apiKeySid, obs.pending?.key.apiKeySid, obs.previous?.key.apiKeySid].filter(
      (x): x is string => x !== undefined,
    ),
  );

  const orphans = obs.keys.filter(
    (k) =>
      isRotatorKeyName(k.friendlyName, s.prefix) &&
      !referenced.has(k.sid) &&
      obs.nowMs - k.createdAtMs >= s.orphanGraceMs,
  );
  if (orphans.length > 0) return { kind: 'sweep-orphans', keys: orphans };

  const secret = obs.secret;
  const current = obs.current;
  if (!secret || !current) {
    const versionId = rotationId(obs.secretId, 'genesis', secret?.allVersionIds ?? []);
    return { kind: 'create-secret', versionId, friendlyName: s.prefix + versionId };
  }

  const currentSid = current.key.apiKeySid;
  const since = parseCurrentSince(secret.tags[TAG_CURRENT_SINCE], current.versionId);
  const previous = obs.previous;
  const retiring =
    previous &&
    live.has(previous.key.apiKeySid) &&
    previous.key.apiKeySid !== currentSid &&
    previous.key.apiKeySid !== obs.pending?.key.apiKeySid
      ? previous
      : undefined;

  const currentLive = live.has(currentSid);
  if (!currentLive && retiring) {
    // Consumers have nowhere safe to go: the new key is gone and the old one is the only one left.
    return {
      kind: 'stuck',
      on: [
        `the current key ${currentSid} was deleted outside the rotator while the previous key ${retiring.key.apiKeySid} still serves; restore a working key in the secret, then rerun`,
      ],
      sinceMs: since ?? current.createdAtMs,
      previousKeySid: retiring.key.apiKeySid,
    };
  }

  // Promotion (or first creation) is recorded once the current key is proven; the gate counts from it.
  if (currentLive && since === undefined) {
    if (!obs.verified.has(currentSid))
      return { kind: 'verify-current', versionId: current.versionId, keySid: currentSid };
    return { kind: 'mark-current', versionId: current.versionId };
  }

  // The old key is retired before anything new starts: at most two keys serve at any time.
  if (retiring && since !== undefined) {
    const gate = obs.gate;
    if (!gate) return { kind: 'check-gate', keySid: retiring.key.apiKeySid };
    const waitingOn = gateBlockers(obs, s, since, currentSid);
    if (waitingOn.length > 0) {
      if (obs.nowMs - since >= s.gate.maxWaitMs)
        return { kind: 'stuck', on: waitingOn, sinceMs: since, previousKeySid: retiring.key.apiKeySid };
      return {
        kind: 'waiting',
        on: waitingOn,
        sinceMs: since,
        deadlineMs: since + s.gate.maxWaitMs,
        previousKeySid: retiring.key.apiKeySid,
      };
    }
    if (!obs.verified.has(currentSid))
      return { kind: 'verify-current', versionId: current.versionId, keySid: currentSid };
    return { kind: 'retire-previous', keySid: retiring.key.apiKeySid, versionId: retiring.versionId };
  }

  if (obs.pendingPlaceholder !== undefined) {
    return {
      kind: 'busy',
      reason: `a Secrets Manager rotation is in progress (version ${obs.pendingPlaceholder} is AWSPENDING with no value yet); its own steps finish it`,
    };
  }

  const pending = obs.pending;
  if (pending && pending.versionId !== current.versionId) {
    const sid = pending.key.apiKeySid;
    if (!live.has(sid)) return { kind: 'drop-dead-pending', versionId: pending.versionId, keySid: sid };
    if (!obs.verified.has(sid)) return { kind: 'verify-pending', versionId: pending.versionId, keySid: sid };
    return { kind: 'promote', versionId: pending.versionId, keySid: sid };
  }

  const reason = dueReason(obs, s, currentLive);
  if (reason !== undefined) {
    const versionId = rotationId(obs.secretId, current.versionId, secret.allVersionIds);
    return { kind: 'start-rotation', versionId, friendlyName: s.prefix + versionId, reason };
  }
  return { kind: 'done', currentKeySid: currentSid, nextDueAtMs: current.createdAtMs + s.maxAgeMs };
}

function dueReason(obs: Observation, s: PlannerSettings, currentLive: boolean): string | undefined {
  const current = obs.current!;
  if (!currentLive) return `the current key ${current.key.apiKeySid} no longer exists on Twilio`;
  if (s.force) return 'forced (--force)';
  const age = obs.nowMs - current.createdAtMs;
  if (age >= s.maxAgeMs)
    return `the current key is ${Math.floor(age / 86_400_000)} days old (maxAgeDays ${s.maxAgeMs / 86_400_000})`;
  return undefined;
}

/** What the consumer gate is still waiting on; empty when the old key may go. */
export function gateBlockers(obs: Observation, s: PlannerSettings, sinceMs: number, currentSid: string): string[] {
  const on: string[] = [];
  const elapsed = obs.nowMs - sinceMs;
  if (elapsed < s.gate.minOverlapMs)
    on.push(`minimum overlap: ${Math.ceil((s.gate.minOverlapMs - elapsed) / 1000)} s to go`);
  for (const p of obs.gate?.probes ?? []) {
    if (!p.ok)
      on.push(
        `probe ${p.url}: ${p.problem ?? (p.reported ? `reports ${p.reported}, not ${currentSid}` : 'no answer')}`,
      );
  }
  if (s.gate.manualConfirm && !obs.gate?.confirmed)
    on.push('manual confirmation: run "twilio-key-rotator confirm <target>"');
  return on;
}

/** The tag reads "<versionId> <ISO time>"; it only counts for the version that is current now. */
export function parseCurrentSince(tag: string | undefined, versionId: string): number | undefined {
  if (!tag) return undefined;
  const [id, iso] = tag.split(' ');
  if (id !== versionId || !iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatCurrentSince(versionId: string, atMs: number): string {
  return `${versionId} ${new Date(atMs).toISOString()}`;
}
