import { CURRENT, parseStamp, PREVIOUS, TAG_CONFIRMED, TAG_CURRENT_SINCE } from './labels.js';
import { TAG_PROMOTED, TAG_RETIRED } from './labels.js';
import type { StoredSecret } from './ports.js';

/**
 * "<versionId> <ref> <ISO time>": the AWSCURRENT version's credential by reference (a key SID or a
 * client ID, never a secret) and the version's creation time — what "nothing due" rests on — kept
 * where ListSecrets returns them, so a batched sweep need not read the values. Written with
 * rotator:current-since, and at "done" where it is missing or names another version.
 *
 * A claim, not proof: it counts only for the version it names, and only while the listing shows the
 * quiet end of a rotation (`trustedClaim`); any other state reads the secret. A look built on it may
 * conclude "nothing due" and nothing else (engine/reconcile.ts): every step, and every other outcome,
 * is decided again on the secret itself. A late write from a killed run names a version that is no
 * longer AWSCURRENT; a person's new version (Console, `secret put --replace`) has none.
 */
export const TAG_CLAIM = 'rotator:current';

const CLOCK_SKEW_MS = 15 * 60_000;

export interface Claim {
  versionId: string;
  ref: string;
  createdAtMs: number;
}

export const formatClaim = (c: Claim) => `${c.versionId} ${c.ref} ${new Date(c.createdAtMs).toISOString()}`;

export function parseClaim(tag: string | undefined): Claim | undefined {
  const [versionId, ref, iso, ...rest] = tag?.split(' ') ?? [];
  if (!versionId || !ref || !iso || rest.length > 0 || !/^[A-Za-z0-9]{2,64}$/.test(ref)) return undefined;
  const createdAtMs = Date.parse(iso);
  return Number.isNaN(createdAtMs) ? undefined : { versionId, ref, createdAtMs };
}

/** Tags a quiet secret may carry; any other rotator tag with a value (a pause, an error, an alert) means work. */
const QUIET = new Set([TAG_CLAIM, TAG_CURRENT_SINCE, TAG_CONFIRMED, TAG_PROMOTED, TAG_RETIRED]);

/**
 * The claim a listing lets a run conclude "nothing due" from, or undefined: read the secret. Only when
 * AWSCURRENT is alone on the version the claim and rotator:current-since name, no version is
 * AWSPENDING, any AWSPREVIOUS is alone on the version rotator:retired names (its credential is gone),
 * no other label exists, and no other rotator tag has a value.
 */
export function trustedClaim(
  stages: Readonly<Record<string, readonly string[]>>,
  tags: Readonly<Record<string, string>>,
): Claim | undefined {
  const claim = parseClaim(tags[TAG_CLAIM]);
  const since = claim && parseStamp(tags[TAG_CURRENT_SINCE], claim.versionId);
  // A version is made before it is marked current: a later creation time (an edited tag) would put
  // the next rotation off, so it is not believed. CLOCK_SKEW_MS: AWS's clock against the rotator's.
  if (!claim || since === undefined || claim.createdAtMs > since + CLOCK_SKEW_MS) return undefined;
  const only = (labels: readonly string[] | undefined, label: string) => labels?.length === 1 && labels[0] === label;
  if (!only(stages[claim.versionId], CURRENT)) return undefined;
  for (const [versionId, labels] of Object.entries(stages)) {
    if (versionId === claim.versionId || labels.length === 0) continue;
    if (!only(labels, PREVIOUS) || tags[TAG_RETIRED] !== versionId) return undefined;
  }
  const busy = Object.entries(tags).some(([k, v]) => k.startsWith('rotator:') && v !== '' && !QUIET.has(k));
  return busy ? undefined : claim;
}

/** True when a look rests on a claim instead of the secret's value. */
export const restsOnClaim = (secret: StoredSecret | undefined) => secret?.versions.some((v) => v.claim) === true;

/**
 * The tag that records `current` as the claim, when the secret lacks it: the same version and
 * reference need no new write (the time is that of the version, which never changes).
 */
export function claimTags(
  current: { versionId?: string; ref?: string; createdAtMs?: number },
  tags: Readonly<Record<string, string>>,
): Record<string, string> {
  const { versionId, ref, createdAtMs } = current;
  if (versionId === undefined || ref === undefined || createdAtMs === undefined) return {};
  const claim = { versionId, ref, createdAtMs };
  if (parseClaim(formatClaim(claim)) === undefined) return {};
  const had = parseClaim(tags[TAG_CLAIM]);
  return had?.versionId === versionId && had.ref === ref ? {} : { [TAG_CLAIM]: formatClaim(claim) };
}
