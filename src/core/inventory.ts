import type { TwilioKey } from './ports.js';

/**
 * The key inventory (`twilio-key-rotator audit`): every key on an account, classified. Pure: the
 * keys come from one complete list, the claims from each target's own observation (a credential
 * kind says which keys it accounts for, using the same ownership rules its planner deletes by).
 *
 *   admin           the key of an admin credential this configuration names
 *   managed         the current, pending or previous key of a target (or one behind a version that
 *                   cannot be read, or one an unlabelled version of its secret held: it was served)
 *   twilio-managed  made by Twilio for its own products; recognised by name only (below)
 *   rotator-orphan  made by the rotator for a target (its fingerprint is in the name), held by no
 *                   version of its secret, ever
 *   unmanaged       everything else: nobody in this configuration accounts for it
 *
 * Only rotator orphans are ever cleaned up, and only those the planner itself would sweep.
 */

export type KeyClass = 'admin' | 'managed' | 'twilio-managed' | 'rotator-orphan' | 'unmanaged';

export type ClaimRole =
  | 'current'
  | 'pending'
  | 'previous'
  /** A labelled version that does not parse names it: treated as in use. */
  | 'referenced'
  /** A version of the secret held it (or may have) and no label does now: served, so never an orphan. */
  | 'served'
  /** The target's orphan, past the grace period: the sweep would revoke it. */
  | 'orphan'
  /** Named for the target, held by no version of its secret, but not sweepable (see the note). */
  | 'unpublished'
  /** Named like the target's keys without its fingerprint: another deployment's, or made by 0.1.0. */
  | 'look-alike';

export interface KeyClaim {
  sid: string;
  target: string;
  role: ClaimRole;
  note?: string;
}

/** `old`: past the audit's threshold; `cleanup`: `audit --cleanup` would revoke it. */
export interface InventoryEntry {
  sid: string;
  friendlyName: string | null;
  createdAtMs: number;
  class: KeyClass;
  claims: { target: string; role: ClaimRole }[];
  old: boolean;
  note?: string;
  cleanup: boolean;
}

/**
 * Keys Twilio creates in an account for its own products. The API marks them in no way (no type, no
 * owner, `flags` undocumented), so the only sign is the name Twilio documents: "Studio API Key"
 * (https://www.twilio.com/docs/studio/studio-generated-api-keys). Anyone can give a key that name;
 * such a key is classified here and left alone, which is the safe mistake.
 */
export const TWILIO_MANAGED_NAMES: readonly string[] = ['Studio API Key'];

const MANAGED_ROLES: readonly ClaimRole[] = ['current', 'pending', 'previous', 'referenced', 'served'];

function classOf(key: TwilioKey, claims: readonly KeyClaim[], admin: boolean): { class: KeyClass; note?: string } {
  if (admin) return { class: 'admin', note: 'an admin credential of this configuration; never touched' };
  if (claims.some((c) => MANAGED_ROLES.includes(c.role))) return { class: 'managed' };
  if (key.friendlyName !== null && TWILIO_MANAGED_NAMES.includes(key.friendlyName))
    return { class: 'twilio-managed', note: 'made by Twilio for its own products (by its name); never touched' };
  const own = claims.find((c) => c.role === 'orphan' || c.role === 'unpublished');
  if (own) return { class: 'rotator-orphan', ...(own.note ? { note: own.note } : {}) };
  const alike = claims.find((c) => c.role === 'look-alike');
  return { class: 'unmanaged', ...(alike?.note ? { note: alike.note } : {}) };
}

export function classifyKeys(
  keys: readonly TwilioKey[],
  claims: readonly KeyClaim[],
  adminSids: ReadonlySet<string>,
  at: { nowMs: number; olderThanMs: number },
): InventoryEntry[] {
  return keys.map((key) => {
    const mine = claims.filter((c) => c.sid === key.sid);
    const { class: cls, note } = classOf(key, mine, adminSids.has(key.sid));
    return {
      sid: key.sid,
      friendlyName: key.friendlyName,
      createdAtMs: key.createdAtMs,
      class: cls,
      claims: mine.map(({ target, role }) => ({ target, role })),
      old: at.nowMs - key.createdAtMs > at.olderThanMs,
      ...(note !== undefined ? { note } : {}),
      cleanup: cls === 'rotator-orphan' && mine.some((c) => c.role === 'orphan'),
    };
  });
}
