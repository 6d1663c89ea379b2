import type { KeyClaim } from '../../core/inventory.js';
import { isOwnKeyName, looksLikeRotatorKeyName } from './naming.js';
import type { Observation, PlannerSettings } from './observation.js';
import { orphanKeys, referencedSids, retiringKey, servedBy, servedUnlabelledKeys } from './plan.js';

const LOOK_ALIKE_WHY = "another deployment's, or made by 0.1.0; never deleted by the rotator";

/**
 * Which keys on the account an API-key target accounts for, for the audit. Pure, and built from the
 * planner's own rules: an orphan here is exactly what `sweep-orphans` would revoke (orphanKeys),
 * ownership is the fingerprint in the name (naming.ts), a previous key is retirable only after a
 * promotion of the rotator's own (retiringKey), a key a version of the secret held is never an orphan
 * (keyHistory). Nothing is re-derived.
 */
export function keyClaims(obs: Observation, s: PlannerSettings): KeyClaim[] {
  const claims: KeyClaim[] = [];
  const add = (sid: string, role: KeyClaim['role'], note?: string) =>
    claims.push({ sid, target: s.target, role, ...(note !== undefined ? { note } : {}) });

  const { current, pending, previous } = obs;
  if (current) add(current.key.apiKeySid, 'current');
  if (pending && pending.key.apiKeySid !== current?.key.apiKeySid) add(pending.key.apiKeySid, 'pending');
  if (previous && previous.key.apiKeySid !== current?.key.apiKeySid) {
    add(
      previous.key.apiKeySid,
      'previous',
      retiringKey(obs, s)
        ? `retired by the rotator once ${s.target}'s consumer gate passes`
        : servedBy(obs, previous.key.apiKeySid) !== undefined
          ? `kept while target ${servedBy(obs, previous.key.apiKeySid)}'s secret holds it too`
          : `not the rotator's to retire (no promotion of its own is recorded); delete it by hand once nothing uses it`,
    );
  }
  const served = servedUnlabelledKeys(obs, s);
  for (const { key, why } of served)
    add(
      key.sid,
      'served',
      `no label in ${s.target}'s secret, but ${why}: consumers may still use it; delete it by hand once nothing does`,
    );
  for (const u of obs.unreadable)
    for (const sid of u.sids) add(sid, 'referenced', `${u.stage} version ${u.versionId} of ${s.target} cannot be read`);

  const fingerprint = obs.fingerprint;
  const referenced = referencedSids(obs);
  const orphans = new Set(orphanKeys(obs, s).map((k) => k.sid));
  for (const key of obs.keys) {
    if (referenced.has(key.sid)) continue;
    if (orphans.has(key.sid)) {
      add(key.sid, 'orphan', `made by the rotator for ${s.target}; no version of its secret ever held it`);
    } else if (fingerprint !== undefined && isOwnKeyName(key.friendlyName, s.prefix, fingerprint)) {
      if (obs.protectedSids.has(key.sid)) continue; // an admin credential: the audit says so
      if (served.some((x) => x.key.sid === key.sid)) continue; // claimed above
      const elsewhere = servedBy(obs, key.sid);
      const unknown = obs.servedElsewhere && 'problem' in obs.servedElsewhere ? obs.servedElsewhere.problem : undefined;
      const why = obs.unreadable.some((u) => u.sids.length === 0)
        ? `a version of ${s.target} cannot be read, so no orphan of it is swept until that is fixed`
        : elsewhere !== undefined
          ? `target ${elsewhere}'s secret holds it`
          : unknown !== undefined
            ? unknown
            : `younger than orphanGraceSeconds (${s.orphanGraceMs / 1000} s): a run may be storing it right now`;
      add(
        key.sid,
        'unpublished',
        `made by the rotator for ${s.target}, held by no version of its secret; kept: ${why}`,
      );
    } else if (looksLikeRotatorKeyName(key.friendlyName, s.prefix)) {
      const ours = fingerprint ? ` ${fingerprint}` : '';
      add(
        key.sid,
        'look-alike',
        `named like ${s.target}'s keys (prefix "${s.prefix}") without its fingerprint${ours}: ${LOOK_ALIKE_WHY}`,
      );
    }
  }
  return claims;
}
