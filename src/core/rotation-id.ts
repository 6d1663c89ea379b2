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

/**
 * Which target a key belongs to, in 8 hex characters: a hash of the account and the identity of the
 * secret the key is stored in (its ARN on Secrets Manager, its own id in the file store). Two
 * configurations that share a prefix on one account, even with secrets of the same name in two
 * stores, name their keys differently, so neither can mistake the other's keys for its own.
 */
export function ownerFingerprint(accountSid: string, secretIdentity: string): string {
  return createHash('sha256')
    .update(`twilio-key-rotator owner\n${accountSid.toUpperCase()}\n${secretIdentity}`)
    .digest('hex')
    .slice(0, 8);
}

/** prefix + 8-hex owner fingerprint + the first 24 hex of the rotation id: prefix + 32 ≤ 64 characters. */
export function keyName(prefix: string, fingerprint: string, id: string): string {
  return `${prefix}${fingerprint}${id.slice(0, 24)}`;
}

const OWN_SUFFIX = /^[0-9a-f]{24}$/;
const ROTATOR_SUFFIX = /^[0-9a-f]{32}$/;

/** True for a key this target's rotator created: its name carries this target's fingerprint. */
export function isOwnKeyName(friendlyName: string | null, prefix: string, fingerprint: string): boolean {
  const head = prefix + fingerprint;
  return friendlyName !== null && friendlyName.startsWith(head) && OWN_SUFFIX.test(friendlyName.slice(head.length));
}

/**
 * True for any name of the rotator's shape on this prefix: this target's keys, another target's that
 * shares the prefix, and keys named before fingerprints existed (prefix + rotation id). Only
 * `isOwnKeyName` proves ownership; these others are reported, never deleted.
 */
export function looksLikeRotatorKeyName(friendlyName: string | null, prefix: string): boolean {
  return (
    friendlyName !== null && friendlyName.startsWith(prefix) && ROTATOR_SUFFIX.test(friendlyName.slice(prefix.length))
  );
}

/** How keys were named before fingerprints (≤ 0.1.0): prefix + the id of the version that stores them. */
export function legacyKeyName(prefix: string, versionId: string): string {
  return prefix + rotationIdForToken(versionId);
}
