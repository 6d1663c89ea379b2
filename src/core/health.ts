import type { RemoteFault, TargetResult } from './outcome.js';
import { DAY_MS } from './sids.js';

/**
 * A target's health: the problems a run finds, and the state that remembers them between runs (tags
 * on the target's secret), so a person hears of a problem once, again only after the re-notify
 * interval, and once more when it clears. Pure: engine/alerts.ts reads, delivers and writes.
 */

/** Every problem a run can find, in the order alerts list them. */
export const PROBLEMS = [
  'step-failed',
  'verification-failed',
  'foreign-secondary',
  'stuck',
  'current-missing',
  'key-overdue',
  'orphan-found',
] as const;
export type Problem = (typeof PROBLEMS)[number];

/** A failed run shows exactly one of these; a run that moves on clears all three. */
const FAILURES: readonly Problem[] = ['step-failed', 'verification-failed', 'foreign-secondary'];
const LEFT_ALONE = "named like this target's are left alone";

/** "since=<ISO> notified=<ISO>|-": one tag per open problem, within Secrets Manager's tag characters. */
export const TAG_ALERT_PREFIX = 'rotator:alert:';

export interface OpenProblem {
  sinceMs: number;
  /** When an alert about it last reached a channel; undefined while no delivery has succeeded. */
  notifiedAtMs?: number;
}

export type Health = Partial<Record<Problem, OpenProblem>>;

export function parseHealth(tags: Readonly<Record<string, string>> | undefined): Health {
  const health: Health = {};
  for (const problem of PROBLEMS) {
    const m = /^since=(\S+) notified=(\S+)$/.exec(tags?.[TAG_ALERT_PREFIX + problem] ?? '');
    const sinceMs = m ? Date.parse(m[1]!) : NaN;
    if (Number.isNaN(sinceMs)) continue;
    const notifiedAtMs = Date.parse(m![2]!);
    health[problem] = { sinceMs, ...(Number.isNaN(notifiedAtMs) ? {} : { notifiedAtMs }) };
  }
  return health;
}

export function formatHealth(p: OpenProblem): string {
  const notified = p.notifiedAtMs === undefined ? '-' : new Date(p.notifiedAtMs).toISOString();
  return `since=${new Date(p.sinceMs).toISOString()} notified=${notified}`;
}

/** The tags to write so the secret holds `next` instead of `before`: changed ones only ('' clears). */
export function healthTagChanges(before: Health, next: Health): Record<string, string> {
  const out: Record<string, string> = {};
  for (const problem of PROBLEMS) {
    const was = before[problem] ? formatHealth(before[problem]) : '';
    const now = next[problem] ? formatHealth(next[problem]) : '';
    if (was !== now) out[TAG_ALERT_PREFIX + problem] = now;
  }
  return out;
}

/** One problem as a run found it. */
export interface Finding {
  problem: Problem;
  /** What happened, in one line without the target's name. */
  title: string;
  details: string[];
  /** Key SIDs or token fingerprints involved. */
  refs: string[];
  step?: string;
  error?: { message: string; remote?: RemoteFault };
}

/** What one run says of a target: the problems it found, and every problem it was able to judge. */
export interface Assessment {
  found: Finding[];
  judged: ReadonlySet<Problem>;
}

export interface AssessSettings {
  /** What the target's kind calls its credential ("key", "token": its words.noun). */
  noun: string;
  maxAgeMs: number;
  /** A credential older than maxAge plus this is overdue. */
  graceMs: number;
}

/** Reads a run's result. A run that could not look judges only what its ending shows. */
export function assess(result: TargetResult, s: AssessSettings, nowMs: number): Assessment {
  const found: Finding[] = [];
  const judged = new Set<Problem>();
  const seen = result.seen;
  const what = s.noun;

  if (result.kind === 'failed') {
    const problem: Problem = result.reason ?? 'step-failed';
    found.push({
      problem,
      title:
        problem === 'verification-failed'
          ? `a new ${what} failed verification at ${result.step}`
          : problem === 'foreign-secondary'
            ? 'an Auth Token secondary exists whose value this rotator does not hold (kept)'
            : `rotation failed at ${result.step}`,
      details: [],
      refs: [],
      step: result.step,
      error: { message: result.error, ...(result.remote ? { remote: result.remote } : {}) },
    });
  }
  if (result.kind === 'failed' || result.kind === 'done' || result.kind === 'waiting')
    for (const p of FAILURES) judged.add(p);

  const find = (problem: Problem, title: string, refs: string[], details: string[] = []) =>
    found.push({ problem, title, details, refs });
  if (seen) {
    judged.add('current-missing');
    const gone = seen.goneAtStart;
    if (gone !== undefined)
      find('current-missing', `the current ${what} ${gone} is gone from Twilio (deleted or refused)`, [gone]);
    if (seen.current) {
      judged.add('key-overdue');
      const age = nowMs - seen.current.createdAtMs;
      const limits = `maxAgeDays ${s.maxAgeMs / DAY_MS}, grace ${s.graceMs / DAY_MS} days`;
      const title = `the current ${what} ${seen.current.ref} is ${Math.floor(age / DAY_MS)} days old (${limits})`;
      if (age >= s.maxAgeMs + s.graceMs) find('key-overdue', title, [seen.current.ref]);
    }
    if (seen.orphans) {
      judged.add('orphan-found');
      const title = `${seen.orphans.length} ${what}(s) ${LEFT_ALONE}: ${seen.orphans.join(', ')}`;
      if (seen.orphans.length > 0) find('orphan-found', title, [...seen.orphans]);
    }
  }

  // A stuck target's run changes nothing; any outcome, or a step taken, says whether it is stuck.
  if (['done', 'waiting', 'stuck', 'busy'].includes(result.kind) || result.steps.length > 0) {
    judged.add('stuck');
    // A current credential that is gone is the cause to report, not the stuck target it leaves.
    if (result.kind === 'stuck' && !found.some((f) => f.problem === 'current-missing')) {
      const kept = result.kept ? `; ${result.kept} is kept` : '';
      const title = `stuck since ${new Date(result.sinceMs).toISOString()}${kept}`;
      find('stuck', title, result.kept ? [result.kept] : [], [...result.on]);
    }
  }
  return { found, judged };
}

/** What to send now about one problem. */
export type Notice =
  | { action: 'trigger'; finding: Finding; sinceMs: number; renotify: boolean }
  | { action: 'resolve'; problem: Problem; sinceMs: number };

/**
 * Which alerts are due: a problem found for the first time, one whose last alert never reached a
 * channel, one past the re-notify interval; a resolve for a problem judged gone that was notified.
 */
export function decide(health: Health, a: Assessment, nowMs: number, renotifyMs: number): Notice[] {
  const out: Notice[] = [];
  for (const finding of a.found) {
    const open = health[finding.problem];
    if (!open) out.push({ action: 'trigger', finding, sinceMs: nowMs, renotify: false });
    else if (open.notifiedAtMs === undefined || nowMs - open.notifiedAtMs >= renotifyMs)
      out.push({ action: 'trigger', finding, sinceMs: open.sinceMs, renotify: open.notifiedAtMs !== undefined });
  }
  for (const problem of PROBLEMS) {
    const open = health[problem];
    if (open?.notifiedAtMs !== undefined && a.judged.has(problem) && !a.found.some((f) => f.problem === problem))
      out.push({ action: 'resolve', problem, sinceMs: open.sinceMs });
  }
  return out;
}

/**
 * The health after this run, given which notices reached at least one channel. A problem stays open
 * until a run judges it gone; its resolve is retried until it is delivered. A problem never notified
 * is simply forgotten when it clears.
 */
export function nextHealth(
  health: Health,
  a: Assessment,
  notices: readonly Notice[],
  delivered: (n: Notice) => boolean,
  nowMs: number,
): Health {
  const next: Health = {};
  for (const problem of PROBLEMS) {
    const open = health[problem];
    const finding = a.found.find((f) => f.problem === problem);
    const notice = notices.find((n) => (n.action === 'trigger' ? n.finding.problem : n.problem) === problem);
    if (finding) {
      const sinceMs = open?.sinceMs ?? nowMs;
      const notifiedAtMs = notice && delivered(notice) ? nowMs : open?.notifiedAtMs;
      next[problem] = { sinceMs, ...(notifiedAtMs !== undefined ? { notifiedAtMs } : {}) };
    } else if (open && a.judged.has(problem)) {
      if (notice && !delivered(notice)) next[problem] = open;
    } else if (open) next[problem] = open;
  }
  return next;
}
