import { createHash } from 'node:crypto';

/**
 * `rotate --now` treats a credential as leaked. For an Auth Token that fact must reach the webhook
 * helper (src/webhooks.ts): a token retired by an emergency promotion gets no grace, because whoever
 * leaked it can sign requests with it. The fact is one tag per version, keyed by the version it is
 * about ("rotator:leaked:<versionId>" = ISO time it was recorded), so a late write of one emergency
 * can never erase another's; it is written before the promotion that retires that version.
 */
export const TAG_LEAKED_PREFIX = 'rotator:leaked:';

/** Characters Secrets Manager allows in a tag key (besides letters and digits), and its length bound. */
const TAG_SAFE = /^[A-Za-z0-9_.:/=+\-@]{1,100}$/;

/** The tag key recording `versionId` as leaked; an id a tag key cannot hold is named by its hash. */
export function leakedTagKey(versionId: string): string {
  const id = TAG_SAFE.test(versionId) ? versionId : createHash('sha256').update(versionId).digest('hex').slice(0, 32);
  return TAG_LEAKED_PREFIX + id;
}

/** True when the tags record `versionId` as leaked ('' is a cleared tag). */
export function isLeaked(tags: Readonly<Record<string, string>>, versionId: string): boolean {
  return (tags[leakedTagKey(versionId)] ?? '') !== '';
}

/**
 * The tags to write so that every version in `leaked` is recorded, and records of versions that hold
 * no label any more are cleared (they can never be AWSPREVIOUS again; Secrets Manager allows 50 tags).
 */
export function leakedTagChanges(
  tags: Readonly<Record<string, string>>,
  labelled: readonly string[],
  leaked: readonly string[],
  nowMs: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  const keep = new Set(labelled.map(leakedTagKey));
  for (const [key, value] of Object.entries(tags))
    if (key.startsWith(TAG_LEAKED_PREFIX) && value !== '' && !keep.has(key)) out[key] = '';
  for (const versionId of leaked)
    if (!isLeaked(tags, versionId)) out[leakedTagKey(versionId)] = new Date(nowMs).toISOString();
  return out;
}
