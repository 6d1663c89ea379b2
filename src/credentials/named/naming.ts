import { createHash } from 'node:crypto';
import { rotationIdForToken } from '../../core/rotation-id.js';

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
  // Called for every key on the account, several times per target: nothing is built before a name matches.
  const head = prefix.length + fingerprint.length;
  return (
    friendlyName !== null &&
    friendlyName.length === head + 24 &&
    friendlyName.startsWith(prefix) &&
    friendlyName.startsWith(fingerprint, prefix.length) &&
    OWN_SUFFIX.test(friendlyName.slice(head))
  );
}

/**
 * True for any name of the rotator's shape on this prefix, another target's and pre-fingerprint ones
 * included: only `isOwnKeyName` proves ownership; these others are reported, never deleted.
 */
export function looksLikeRotatorKeyName(friendlyName: string | null, prefix: string): boolean {
  return (
    friendlyName !== null && friendlyName.startsWith(prefix) && ROTATOR_SUFFIX.test(friendlyName.slice(prefix.length))
  );
}

/**
 * True when `id` is a rotation id derived from `basis` (core/rotation-id.ts; a unit test keeps the
 * formulas equal), counter ≤ `maxCounter`: a version id is immutable, so no late write can undo this.
 */
export function isRotationFrom(secretId: string, basis: string, id: string, maxCounter: number): boolean {
  if (!ROTATOR_SUFFIX.test(id)) return false;
  for (let k = 0; k <= maxCounter; k++) {
    if (createHash('sha256').update(`${secretId}\n${basis}\n${k}`).digest('hex').slice(0, 32) === id) return true;
  }
  return false;
}

/** How keys were named before fingerprints (≤ 0.1.0): prefix + the id of the version that stores them. */
export function legacyKeyName(prefix: string, versionId: string): string {
  return prefix + rotationIdForToken(versionId);
}
