import { gateBlockers } from '../../core/gate.js';
import {
  parseStamp,
  pendingLeftOnCurrent,
  PLACEHOLDER_STUCK_AFTER_MS,
  recordedPromotion,
  TAG_CURRENT_SINCE,
} from '../../core/labels.js';
import type { StoredSecret, TwilioKey } from '../../core/ports.js';
import { rotationId, rotationIdForToken } from '../../core/rotation-id.js';
import { keySidsIn } from '../../core/secret-values.js';
import { DAY_MS, wholeDays } from '../../core/sids.js';
import { isOwnKeyName, isRotationFrom, keyName, legacyKeyName, looksLikeRotatorKeyName } from './naming.js';
import type { Decision, LabelledKey, Observation, PlannerSettings } from './observation.js';

const ADMIN = 'an admin credential of this configuration';
const RESTORE = 'restore a working key in the secret, then rerun';
const NEVER_DELETED = 'never deleted by this target';
const NO_VALUE_YET = 'is AWSPENDING with no value yet';

/**
 * The rotation state machine as one pure function: observed state in, next step or outcome out
 * (docs/rotation-flow.md walks through it). A key is deleted only when (a) its name carries this
 * target's fingerprint and no version of the secret ever held it (an orphan), or (b) it is AWSPREVIOUS
 * after a promotion of this rotator's own, and the gate passed. Never an admin credential, a key another
 * target's secret holds, a key behind an unreadable version, or one without this target's fingerprint.
 */
export function plan(obs: Observation, s: PlannerSettings): Decision {
  const secret = obs.secret;
  if (!secret) return { kind: 'reserve-secret' };
  const fingerprint = obs.fingerprint ?? '';
  const current = obs.current;

  if (current && obs.protectedSids.has(current.key.apiKeySid)) {
    const why = 'rotating it would replace a Main or admin key with an ordinary one, so the rotator will not touch it.';
    const todo = `Store the application's own key in "${obs.secretId}", or point the target at another secret`;
    return {
      kind: 'stuck',
      on: [`the secret's current key ${current.key.apiKeySid} is ${ADMIN}; ${why} ${todo}`],
      sinceMs: current.createdAtMs,
    };
  }

  const orphans = orphanKeys(obs, s);
  if (orphans.length > 0) return { kind: 'sweep-orphans', keys: orphans };

  if (!current) {
    const versionId = rotationId(obs.secretId, 'genesis', secret.allVersionIds);
    return { kind: 'create-secret', versionId, friendlyName: keyName(s.prefix, fingerprint, versionId) };
  }

  if (s.token !== undefined) {
    const byToken = tokenStep(obs, s, s.token);
    if (byToken) return byToken;
  }

  const currentSid = current.key.apiKeySid;
  const since = parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId);
  const retiring = retiringKey(obs, s);
  const currentLive = isListed(obs, currentSid);
  if (!currentLive && retiring) {
    // Consumers have nowhere safe to go: the new key is gone and the old one is the only one left.
    const what = `the current key ${currentSid} was deleted outside the rotator`;
    return {
      kind: 'stuck',
      on: [`${what} while the previous key ${retiring.key.apiKeySid} still serves; ${RESTORE}`],
      sinceMs: since ?? current.createdAtMs,
      kept: retiring.key.apiKeySid,
    };
  }

  // Promotion (or first creation) is recorded once the current key is proven; the gate counts from it.
  // A refused current key that a differently configured key would replace falls through to a rotation.
  const refused = obs.currentRefused?.keySid === currentSid ? obs.currentRefused : undefined;
  if (currentLive && since === undefined && !refused) {
    if (!obs.verified.has(currentSid))
      return { kind: 'verify-current', versionId: current.versionId, keySid: currentSid };
    return { kind: 'mark-current', versionId: current.versionId };
  }

  // The old key is retired before anything new starts: at most two keys serve at any time.
  if (retiring && since !== undefined) {
    const kept = retiring.key.apiKeySid;
    if (s.emergency) {
      // rotate --now: the stated overlap is the whole gate; probes and confirmation are skipped.
      const left = s.emergency.overlapMs - (obs.nowMs - since);
      if (left > 0)
        return {
          kind: 'waiting',
          on: [`emergency overlap (rotate --now): ${Math.ceil(left / 1000)} s to go`],
          sinceMs: since,
          deadlineMs: since + s.emergency.overlapMs,
          kept,
        };
    } else {
      const gate = obs.gate;
      if (!gate) return { kind: 'check-gate', versionId: current.versionId, expect: currentSid, sinceMs: since };
      const waitingOn = gateBlockers(gate, s.gate, {
        nowMs: obs.nowMs,
        sinceMs: since,
        expect: currentSid,
        target: s.target,
      });
      if (waitingOn.length > 0) {
        if (obs.nowMs - since >= s.gate.maxWaitMs) return { kind: 'stuck', on: waitingOn, sinceMs: since, kept };
        return { kind: 'waiting', on: waitingOn, sinceMs: since, deadlineMs: since + s.gate.maxWaitMs, kept };
      }
    }
    if (!obs.verified.has(currentSid))
      return { kind: 'verify-current', versionId: current.versionId, keySid: currentSid };
    const elsewhere = obs.servedElsewhere;
    if (elsewhere && 'problem' in elsewhere) {
      const why = `cannot tell whether another target's secret holds the previous key ${kept} (${elsewhere.problem})`;
      return { kind: 'stuck', on: [`${why}; it is kept until that secret can be read`], sinceMs: since, kept };
    }
    return { kind: 'retire-previous', keySid: retiring.key.apiKeySid, versionId: retiring.versionId };
  }

  const placeholder = obs.pendingPlaceholder;
  if (placeholder !== undefined) {
    const what = `a Secrets Manager rotation is in progress (version ${placeholder.versionId} ${NO_VALUE_YET})`;
    if (obs.nowMs - placeholder.createdAtMs >= PLACEHOLDER_STUCK_AFTER_MS) {
      const sinceIso = new Date(placeholder.createdAtMs).toISOString();
      const cancel = `aws secretsmanager cancel-rotate-secret --secret-id ${obs.secretId}`;
      const giveUp = `to give up on it, run "${cancel}" and remove AWSPENDING from version ${placeholder.versionId}`;
      return {
        kind: 'stuck',
        on: [`${what} since ${sinceIso}: its rotation function keeps failing. Read that function's logs; ${giveUp}`],
        sinceMs: placeholder.createdAtMs,
      };
    }
    return { kind: 'busy', reason: `${what}; its own steps finish it` };
  }

  const pending = obs.pending;
  if (pending && pending.versionId !== current.versionId) {
    const sid = pending.key.apiKeySid;
    if (!isListed(obs, sid)) return { kind: 'drop-dead-pending', versionId: pending.versionId, keySid: sid };
    if (!obs.verified.has(sid)) return { kind: 'verify-pending', versionId: pending.versionId, keySid: sid };
    return { kind: 'promote', versionId: pending.versionId, keySid: sid, fromVersionId: current.versionId };
  }

  const leftOver = pendingLeftOnCurrent(secret);
  if (leftOver !== undefined) return { kind: 'clear-pending-label', versionId: leftOver };

  const reason = s.token === undefined ? dueReason(obs, s, currentLive) : undefined;
  if (reason !== undefined) {
    const versionId = rotationId(obs.secretId, current.versionId, secret.allVersionIds);
    return { kind: 'start-rotation', versionId, friendlyName: keyName(s.prefix, fingerprint, versionId), reason };
  }
  return { kind: 'done', current: currentSid, nextDueAtMs: current.createdAtMs + s.maxAgeMs };
}

/**
 * Secrets Manager's rotation protocol: the steps only the token's version (AWSPENDING, no value yet)
 * needs before the common path. Its key is named from the token, so a key an earlier attempt made
 * before filling the version is an orphan and goes first. Nothing starts while the previous key of the
 * last rotation waits for its gate: never more than two keys.
 */
function tokenStep(obs: Observation, s: PlannerSettings, token: string): Decision | undefined {
  const secret = obs.secret!;
  const version = secret.versions.find((v) => v.versionId === token);
  const sinceMs = obs.nowMs;
  if (!version)
    return { kind: 'stuck', on: [`secret version ${token} has no stage for rotation of ${obs.secretId}`], sinceMs };
  if (version.stages.includes('AWSCURRENT'))
    return version.stages.includes('AWSPENDING') ? { kind: 'clear-pending-label', versionId: token } : undefined;
  if (!version.stages.includes('AWSPENDING'))
    return {
      kind: 'stuck',
      on: [`secret version ${token} is not AWSPENDING for rotation of ${obs.secretId}`],
      sinceMs,
    };
  const pending = obs.pending;
  if (pending?.versionId === token && obs.current && isListed(obs, pending.key.apiKeySid)) {
    const keySid = pending.key.apiKeySid;
    if (!obs.verified.has(keySid)) return { kind: 'verify-pending', versionId: token, keySid };
    return { kind: 'promote', versionId: token, keySid, fromVersionId: obs.current.versionId };
  }
  if (obs.pendingPlaceholder?.versionId !== token) return undefined;
  const friendlyName = keyName(s.prefix, obs.fingerprint ?? '', rotationIdForToken(token));
  const stale = obs.keys.filter((k) => k.friendlyName === friendlyName);
  if (stale.length > 0) return { kind: 'sweep-orphans', keys: stale };
  const previous = retiringKey(obs, s);
  if (previous) {
    const alive = `the previous key ${previous.key.apiKeySid} is still alive, waiting for the consumer gate`;
    return { kind: 'busy', reason: `${alive}; rotate again after the rotator has retired it` };
  }
  const reason = 'Secrets Manager rotates the secret';
  return { kind: 'start-rotation', versionId: token, friendlyName, reason };
}

function dueReason(obs: Observation, s: PlannerSettings, currentLive: boolean): string | undefined {
  const current = obs.current!;
  if (!currentLive) return `the current key ${current.key.apiKeySid} no longer exists on Twilio`;
  if (obs.currentRefused?.keySid === current.key.apiKeySid) {
    const other = 'a key made from the configuration gets other permissions';
    const what = `the current key ${current.key.apiKeySid} never passed verification`;
    return `${what} (${obs.currentRefused.reason}), and ${other}`;
  }
  if (s.emergency && !s.emergency.created.has(current.versionId))
    return `rotate --now: the current key ${current.key.apiKeySid} is treated as leaked`;
  if (s.force) return 'forced (--force)';
  const age = obs.nowMs - current.createdAtMs;
  if (age >= s.maxAgeMs) return `the current key is ${wholeDays(age)} days old (maxAgeDays ${s.maxAgeMs / DAY_MS})`;
  return undefined;
}

/** A scan, not a set: an index of the account's list (thousands of keys) would cost more than the few lookups. */
function isListed(obs: Observation, sid: string): boolean {
  return obs.keys.some((k) => k.sid === sid);
}

/** Key SIDs some labelled version holds, readable or not. */
export function referencedSids(obs: Observation): Set<string> {
  const sids = [obs.current, obs.pending, obs.previous].flatMap((v) => (v ? [v.key.apiKeySid] : []));
  // Any other label (a person's own staging label) counts too: whatever its value names is in use.
  const labelledValues = (obs.secret?.versions ?? []).flatMap((v) => keySidsIn(v.value));
  return new Set([...sids, ...labelledValues, ...obs.unreadable.flatMap((u) => u.sids)]);
}

/** The configured target, other than this one, whose secret holds `sid`, if any. */
export function servedBy(obs: Observation, sid: string): string | undefined {
  const elsewhere = obs.servedElsewhere;
  return elsewhere && 'sids' in elsewhere ? elsewhere.sids.get(sid) : undefined;
}

/**
 * Secrets Manager keeps about 100 versions (the file store exactly 100): with that many, an older one
 * may be gone, so a key its name ties to no version is not proof that no version held it.
 */
export const HISTORY_LIMIT = 100;

/**
 * What the secret's history says about a key of this target's that no labelled version holds. A key is
 * stored only under the token its name carries, and a version never changes: no version with that token
 * (the store was never reached), or each holding another key (a lost race), proves consumers never got
 * it. A version whose value is not read now (no label) may have served it: then only a person retires it.
 */
export type KeyHistory = { held: false } | { held: true; why: string };

export function keyHistory(obs: Observation, s: PlannerSettings, key: TwilioKey): KeyHistory {
  const secret = obs.secret;
  if (!secret || obs.fingerprint === undefined || key.friendlyName === null)
    return { held: true, why: 'the secret cannot be read' };
  const token = key.friendlyName.slice(s.prefix.length + obs.fingerprint.length);
  if (secret.versionIdsComplete === false)
    return { held: true, why: "the secret's version history was not read whole" };
  const candidates = secret.allVersionIds.filter((id) => rotationIdForToken(id).startsWith(token));
  if (candidates.length === 0) {
    if (secret.allVersionIds.length < HISTORY_LIMIT) return { held: false };
    return { held: true, why: `the secret has ${HISTORY_LIMIT} or more versions; an older one may have held it` };
  }
  const labelled = [obs.current, obs.pending, obs.previous];
  for (const id of candidates) {
    const parsed = labelled.find((v) => v?.versionId === id);
    const version = secret.versions.find((v) => v.versionId === id);
    const holds = parsed ? [parsed.key.apiKeySid] : version?.value !== undefined ? keySidsIn(version.value) : undefined;
    if (holds === undefined && obs.pendingPlaceholder?.versionId === id)
      return { held: true, why: `Secrets Manager's rotation may be storing it in version ${id}` };
    if (holds === undefined) return { held: true, why: `version ${id} of the secret was stored under its token` };
    if (holds.includes(key.sid)) return { held: true, why: `version ${id} of the secret holds it` };
  }
  return { held: false };
}

/** This target's keys (its fingerprint in the name) that no labelled version references, admin keys left out. */
export function unlabelledOwnKeys(obs: Observation, s: Pick<PlannerSettings, 'prefix'>): TwilioKey[] {
  if (obs.fingerprint === undefined) return [];
  const referenced = referencedSids(obs);
  return obs.keys.filter(
    (k) =>
      isOwnKeyName(k.friendlyName, s.prefix, obs.fingerprint!) &&
      !referenced.has(k.sid) &&
      !obs.protectedSids.has(k.sid),
  );
}

/** Keys provably made for this target that no version ever held nor another target's secret holds, past the grace. */
export function orphanKeys(obs: Observation, s: PlannerSettings): TwilioKey[] {
  if (obs.fingerprint === undefined) return [];
  // A labelled version we cannot read might hold any of our keys: sweep nothing until it is fixed.
  if (obs.unreadable.some((u) => u.sids.length === 0)) return [];
  if (obs.servedElsewhere && 'problem' in obs.servedElsewhere) return [];
  return unlabelledOwnKeys(obs, s).filter(
    (k) =>
      obs.nowMs - k.createdAtMs >= s.orphanGraceMs && servedBy(obs, k.sid) === undefined && !keyHistory(obs, s, k).held,
  );
}

/** This target's keys that lost their label after a version held them (or may have): a person retires them. */
export function servedUnlabelledKeys(obs: Observation, s: PlannerSettings): { key: TwilioKey; why: string }[] {
  if (obs.unreadable.some((u) => u.sids.length === 0)) return [];
  return unlabelledOwnKeys(obs, s).flatMap((key) => {
    const history = keyHistory(obs, s, key);
    return history.held ? [{ key, why: history.why }] : [];
  });
}

/** Rotation counters `isRotationFrom` tries: a counter is skipped only for an id a rotation used before. */
const MAX_ID_COUNTER = HISTORY_LIMIT;

/**
 * True when AWSCURRENT came from AWSPREVIOUS by a promotion of this rotator's: the current version's id
 * derives from the previous one's (naming.ts `isRotationFrom`, a fact no late write can undo), or, for a
 * version Secrets Manager named, the `rotator:promoted` tag. A stale write can only hide a promotion
 * (the previous key is then kept and reported), never invent one.
 */
export function promotedByRotator(obs: Observation, s: PlannerSettings): boolean {
  const { current, previous, secret } = obs;
  if (!current || !previous || !secret) return false;
  if (promotionRecorded(obs.secretId, secret, previous.versionId, current.versionId)) return true;
  // Before promotions were recorded (0.1.0), the current key's name was prefix + its version's id,
  // which proves this rotator made that version, and the current-since tag that it promoted it.
  const name = obs.keys.find((k) => k.sid === current.key.apiKeySid)?.friendlyName ?? null;
  return (
    name === legacyKeyName(s.prefix, current.versionId) &&
    parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId) !== undefined
  );
}

/** The proofs of `promotedByRotator` that need no key list: the derived version id, or the tag. */
export function promotionRecorded(secretId: string, secret: StoredSecret, from: string, to: string): boolean {
  return isRotationFrom(secretId, from, to, MAX_ID_COUNTER) || recordedPromotion(secret, from, to) === true;
}

/** The previous key this rotator may retire once the gate passes, if there is one. */
export function retiringKey(obs: Observation, s: PlannerSettings): LabelledKey | undefined {
  const previous = obs.previous;
  if (!previous || !obs.current) return undefined;
  const sid = previous.key.apiKeySid;
  if (sid === obs.current.key.apiKeySid || sid === obs.pending?.key.apiKeySid) return undefined;
  if (!isListed(obs, sid) || obs.protectedSids.has(sid) || servedBy(obs, sid) !== undefined) return undefined;
  return promotedByRotator(obs, s) ? previous : undefined;
}

/** Keys left alone because the rotator cannot prove they are its own, and versions it cannot read. */
export function observationWarnings(obs: Observation, s: PlannerSettings): string[] {
  const out: string[] = [];
  for (const u of obs.unreadable) {
    const keys =
      u.sids.length > 0
        ? `its key${u.sids.length > 1 ? 's' : ''} ${u.sids.join(', ')} stay${u.sids.length > 1 ? '' : 's'} untouched`
        : 'until it is fixed or relabelled, no orphan key is deleted';
    out.push(`${u.stage} version ${u.versionId} cannot be read (${u.problem}); ${keys}`);
  }
  const previous = obs.previous;
  const previousAlive = previous && isListed(obs, previous.key.apiKeySid);
  if (previous && previousAlive && !retiringKey(obs, s) && previous.key.apiKeySid !== obs.current?.key.apiKeySid) {
    const elsewhere = servedBy(obs, previous.key.apiKeySid);
    const why = obs.protectedSids.has(previous.key.apiKeySid)
      ? 'it is an admin credential'
      : elsewhere !== undefined
        ? `target "${elsewhere}"'s secret holds it too`
        : 'this rotator did not put it there (no promotion of its own is recorded)';
    out.push(`AWSPREVIOUS key ${previous.key.apiKeySid} is left alone: ${why}`);
  }
  if (obs.servedElsewhere && 'problem' in obs.servedElsewhere)
    out.push(`no key is deleted in this run: ${obs.servedElsewhere.problem}`);
  for (const { key, why } of servedUnlabelledKeys(obs, s)) {
    const hint = 'consumers may still use it, so the rotator never deletes it; delete it by hand once nothing does';
    out.push(`key ${key.sid} of this target has no label in the secret, but ${why}: ${hint}`);
  }
  const foreign = strayKeys(obs, s);
  if (foreign.length > 0) {
    const what = `${foreign.length} key(s) named like this target's (${foreign.join(', ')})`;
    const whose = `another configuration with the prefix "${s.prefix}", or keys made before fingerprints`;
    out.push(`${what} do not carry its fingerprint ${obs.fingerprint}: ${whose}; ${NEVER_DELETED}`);
  }
  return out;
}

/** Keys named the rotator's way with this prefix, without this target's fingerprint, referenced by no version. */
export function strayKeys(obs: Observation, s: PlannerSettings): string[] {
  if (obs.fingerprint === undefined) return [];
  const referenced = referencedSids(obs);
  return obs.keys
    .filter(
      (k) =>
        looksLikeRotatorKeyName(k.friendlyName, s.prefix) &&
        !isOwnKeyName(k.friendlyName, s.prefix, obs.fingerprint!) &&
        !referenced.has(k.sid),
    )
    .map((k) => k.sid);
}

/** Keys left for a person: strays (above), and this target's own keys that lost their label after being served. */
export function keysLeftAlone(obs: Observation, s: PlannerSettings): string[] {
  return [...strayKeys(obs, s), ...servedUnlabelledKeys(obs, s).map((x) => x.key.sid)];
}

/**
 * Why `secret put --replace` must wait: the gate still holds the previous key of the rotator's own
 * promotion; a new value would take its label away, and no gate would ever retire it.
 */
export function replaceBlocked(obs: Observation, s: PlannerSettings): string | undefined {
  const retiring = retiringKey(obs, s);
  if (!retiring || !obs.current) return undefined;
  const kept = `the previous key ${retiring.key.apiKeySid} (version ${retiring.versionId})`;
  const what = `a rotation waits at its consumer gate: ${kept} still serves consumers until the gate retires it`;
  const wait = `wait for the gate (twilio-key-rotator status ${s.target} says what it waits on)`;
  const confirm = s.gate.manualConfirm
    ? `, confirm with "twilio-key-rotator confirm ${s.target}" once every consumer uses ${obs.current.key.apiKeySid}`
    : '';
  const finish = `then run "twilio-key-rotator rotate --target ${s.target}" to finish the rotation`;
  return `${what}; ${wait}${confirm}, ${finish}, and replace the value after that`;
}
