import type { StoredSecret, StoredVersion } from './ports.js';

/** Staging labels, and the tags any run (or `status`) reads where a rotation stands by; every kind's. */

export const CURRENT = 'AWSCURRENT';
export const PENDING = 'AWSPENDING';
export const PREVIOUS = 'AWSPREVIOUS';

/** "<versionId> <ISO time>": when that version became current (the gate of an API key counts from it). */
export const TAG_CURRENT_SINCE = 'rotator:current-since';
/** "<versionId>": a person confirmed that every consumer uses that version. */
export const TAG_CONFIRMED = 'rotator:confirmed';
/**
 * "<versionId>": the credential in that version (AWSPREVIOUS after a promotion) was retired by the
 * rotator. A look needs no more than its label: its value is not fetched.
 */
export const TAG_RETIRED = 'rotator:retired';
/** "<ISO time> <step>: <message>": the last failure, cleared once the target moves on. */
export const TAG_LAST_ERROR = 'rotator:last-error';
/**
 * "<from versionId> <to versionId>", written just before the rotator moves AWSCURRENT. The previous
 * credential is retired only when AWSPREVIOUS and AWSCURRENT are exactly that pair: the rotator
 * deletes the old credential of a promotion it performed itself, never one it found there.
 */
export const TAG_PROMOTED = 'rotator:promoted';

/** A Secrets Manager rotation whose AWSPENDING version stays empty this long is reported stuck. */
export const PLACEHOLDER_STUCK_AFTER_MS = 3_600_000;

/** A previous version whose credential this rotator retired: it holds nothing a look needs (its value is skipped). */
export const notRetired = (
  v: { versionId: string; stages: readonly string[] },
  tags: Readonly<Record<string, string>>,
) => !(v.stages.length === 1 && v.stages[0] === PREVIOUS && tags[TAG_RETIRED] === v.versionId);

export function labelled(secret: StoredSecret | undefined, stage: string): StoredVersion | undefined {
  return secret?.versions.find((v) => v.stages.includes(stage));
}

/** A time stamp tag "<versionId> <ISO time>"; it counts only for the version named. */
export function parseStamp(tag: string | undefined, versionId: string): number | undefined {
  if (!tag) return undefined;
  const [id, iso] = tag.split(' ');
  if (id !== versionId || !iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatStamp(versionId: string, atMs: number): string {
  return `${versionId} ${new Date(atMs).toISOString()}`;
}

export function formatPromotion(fromVersionId: string, toVersionId: string): string {
  return `${fromVersionId} ${toVersionId}`;
}

/** Whether the tags record the rotator moving AWSCURRENT from `from` to `to` (undefined: no record). */
export function recordedPromotion(secret: StoredSecret, from: string, to: string): boolean | undefined {
  const recorded = secret.tags[TAG_PROMOTED]?.split(' ');
  if (recorded?.length !== 2) return undefined;
  return recorded[0] === from && recorded[1] === to;
}

/**
 * A version that holds AWSCURRENT and still AWSPENDING: a promotion moved AWSCURRENT and stopped before
 * it removed AWSPENDING (two calls on Secrets Manager). Harmless to AWS, which treats the rotation as
 * complete, but the label is taken off so the secret reads as finished.
 */
export function pendingLeftOnCurrent(secret: StoredSecret | undefined): string | undefined {
  return secret?.versions.find((x) => x.stages.includes(PENDING) && x.stages.includes(CURRENT))?.versionId;
}

/**
 * A version Secrets Manager labelled AWSPENDING before its rotation function stored anything: its
 * own rotation is under way. A binary version is not a placeholder; it is unreadable.
 */
export function placeholderOf(
  secret: StoredSecret | undefined,
): { versionId: string; createdAtMs: number } | undefined {
  const v = secret?.versions.find(
    (x) =>
      x.stages.includes(PENDING) && x.value === undefined && !x.binary && !x.skipped && !x.stages.includes(CURRENT),
  );
  return v ? { versionId: v.versionId, createdAtMs: v.createdAtMs } : undefined;
}

/** Labels and tags of a secret as one comparable string (version ids and their sorted labels, sorted tags). */
export function labelsStamp(
  secret:
    | { versions: readonly { versionId: string; stages: readonly string[] }[]; tags: Readonly<Record<string, string>> }
    | undefined,
): string {
  if (!secret) return 'absent';
  const versions = secret.versions
    .filter((v) => v.stages.length > 0)
    .map((v) => `${v.versionId}=${[...v.stages].sort().join('+')}`)
    .sort();
  const tags = Object.entries(secret.tags)
    .filter(([, value]) => value !== '')
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return JSON.stringify([versions, tags]);
}
