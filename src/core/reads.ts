import type { CloudTrailGateConfig } from './target.js';

/**
 * CloudTrail evidence for the consumer gate, as a pure decision over the GetSecretValue events of one
 * secret (src/adapters/cloudtrail/ reads them). The question: has every principal that read the secret
 * in the look-back window before `sinceMs` (the promotion, or for an Auth Token the moment the pending
 * token was stored) read the new version since?
 *
 *   since-lookback        since (promotion)     since+skew+delay          now
 *   -----+--- readers ----------+-- must read new ------+------------------+-->
 *                                the readers before `since` are all known  |
 *
 * A read is of the new version when it named its VersionId, or asked for a stage the new version holds
 * (no VersionId and no stage means AWSCURRENT) clearly after `since`. A principal whose latest read
 * since `since` asked for something else (AWSPREVIOUS, an old VersionId) is still on the old version.
 * Failed calls (errorCode) read nothing and do not count either way.
 *
 * Two clocks meet here: `since` is the rotator's, eventTime is AWS's (to the second, truncated). A
 * rotator whose AWS calls are accepted at all is within SigV4's five minutes of AWS, so a read by stage
 * within CLOCK_SKEW_MS after `since` might have been answered before the promotion: it makes its
 * principal a reader and does not count as new. Truncation only moves events earlier, which can make a
 * read look older, never newer. Every doubt therefore keeps the gate closed, never opens it.
 */

/** SigV4 refuses requests more than 5 minutes off AWS's clock: no working rotator is further off. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface SecretReadEvent {
  /** The principal CloudTrail names; for an assumed role, the role's ARN (sessions come and go). */
  principal: string;
  /** The ARN as CloudTrail wrote it (an assumed-role session), when it differs from `principal`. */
  sessionArn?: string;
  atMs: number;
  versionId?: string;
  versionStage?: string;
  failed: boolean;
}

/** What the engine learnt from CloudTrail for one gate check: the reads, or why there are none. */
export type ReadLog = { reads: readonly SecretReadEvent[]; fromMs: number } | { problem: string };

/** How many principals a blocker list names one by one; the rest are counted. */
const NAMED_AT_MOST = 10;

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function globMatch(pattern: string, text: string): boolean {
  const literal = (part: string) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`).test(text);
}

const ignored = (e: SecretReadEvent, patterns: readonly string[]) =>
  patterns.some((p) => globMatch(p, e.principal) || (e.sessionArn !== undefined && globMatch(p, e.sessionArn)));

const asked = (e: SecretReadEvent) =>
  e.versionId !== undefined ? `version ${e.versionId}` : (e.versionStage ?? 'AWSCURRENT');

export interface ReadVerdict {
  /** Why the gate waits; empty when every reader has switched. */
  on: string[];
  /** Principals still on the old version and when each last read, oldest read first. */
  behind: { principal: string; lastReadMs: number; asked: string }[];
  readers: number;
}

export function readVerdict(
  log: ReadLog,
  settings: CloudTrailGateConfig,
  at: { nowMs: number; sinceMs: number; versionId: string; stages: readonly string[] },
): ReadVerdict {
  const none = { behind: [], readers: 0 };
  if ('problem' in log) return { ...none, on: [`CloudTrail evidence: ${log.problem}`] };
  const completeAt = at.sinceMs + CLOCK_SKEW_MS + settings.deliveryDelayMs;
  if (at.nowMs < completeAt) {
    const delay = 'gate.cloudtrail.deliveryDelaySeconds, plus 5 minutes for clock skew';
    const why = `CloudTrail delivers events within minutes, not at once (${delay})`;
    return {
      ...none,
      on: [`CloudTrail evidence: reads before the promotion are all known at ${iso(completeAt)}; ${why}`],
    };
  }
  const windowStart = at.sinceMs - settings.lookbackMs;
  if (log.fromMs > windowStart)
    return {
      ...none,
      on: [`CloudTrail evidence: the lookup started at ${iso(log.fromMs)}, after ${iso(windowStart)}`],
    };
  const surelyAfter = at.sinceMs + CLOCK_SKEW_MS;
  const isNew = (e: SecretReadEvent) =>
    e.versionId !== undefined
      ? e.versionId === at.versionId
      : e.atMs >= surelyAfter && at.stages.includes(e.versionStage ?? 'AWSCURRENT');
  const counted = log.reads.filter((e) => !e.failed && !ignored(e, settings.ignorePrincipals));
  const readers = new Set(counted.filter((e) => e.atMs >= windowStart && e.atMs < surelyAfter).map((e) => e.principal));
  const behind: ReadVerdict['behind'] = [];
  for (const principal of readers) {
    const mine = counted.filter((e) => e.principal === principal).sort((a, b) => a.atMs - b.atMs);
    const last = mine.at(-1)!;
    const latestSince = mine.filter((e) => e.atMs >= at.sinceMs).at(-1);
    if (!latestSince || !isNew(latestSince)) behind.push({ principal, lastReadMs: last.atMs, asked: asked(last) });
  }
  behind.sort((a, b) => a.lastReadMs - b.lastReadMs || a.principal.localeCompare(b.principal));
  const on = behind.slice(0, NAMED_AT_MOST).map((b) => {
    const what = b.lastReadMs >= at.sinceMs ? `asked for ${b.asked}` : 'no read since the promotion';
    return `CloudTrail evidence: ${b.principal} is still on the old version (last read ${iso(b.lastReadMs)}, ${what})`;
  });
  if (behind.length > NAMED_AT_MOST)
    on.push(`CloudTrail evidence: ${behind.length - NAMED_AT_MOST} more principals are still on the old version`);
  return { on, behind, readers: readers.size };
}
