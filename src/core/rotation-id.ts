import { createHash } from 'node:crypto';

/**
 * The rotation id is also the Secrets Manager ClientRequestToken and version id of the new
 * version. It is derived, not random: every rotator that looks at the same current version computes
 * the same id, so two racing rotators write to the same token and the store lets exactly one of them win.
 *
 * `basis` is the current version id ("genesis" before the secret has one). The counter skips ids
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

/** The 32-hex rotation id for a Secrets Manager token: the UUID's hex digits, else a hash. */
export function rotationIdForToken(token: string): string {
  const hex = token.replace(/-/g, '').toLowerCase();
  return ROTATION_ID.test(hex) ? hex : createHash('sha256').update(token).digest('hex').slice(0, 32);
}
