import { createHash } from 'node:crypto';

/**
 * The rotation id is also the Secrets Manager ClientRequestToken and version id of the new
 * version, and the suffix of the new key's FriendlyName. It is derived, not random: every
 * rotator that looks at the same current version computes the same id, so two racing rotators
 * write to the same token and the store lets exactly one of them win.
 *
 * `basis` is the current version id ("genesis" before the secret exists). The counter skips ids
 * the secret has already used, e.g. by a rotation that was abandoned, because a token is never reused.
 */
export function rotationId(secretId: string, basis: string, usedIds: readonly string[]): string {
  const used = new Set(usedIds);
  for (let k = 0; ; k++) {
    const id = createHash('sha256').update(`${secretId}\n${basis}\n${k}`).digest('hex').slice(0, 32);
    if (!used.has(id)) return id;
  }
}

export const ROTATION_ID = /^[0-9a-f]{32}$/;

/** True for a FriendlyName this target's rotator gave a key. */
export function isRotatorKeyName(friendlyName: string | null, prefix: string): boolean {
  return (
    friendlyName !== null && friendlyName.startsWith(prefix) && ROTATION_ID.test(friendlyName.slice(prefix.length))
  );
}
