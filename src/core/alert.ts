import type { Finding, Notice, Problem } from './health.js';

/**
 * An alert as every channel receives it, before each formats it its own way (a Slack message, a
 * PagerDuty event, a signed webhook, an SNS message). Built from references only: target, account,
 * key SIDs, token fingerprints, step, the service's error code and message. Never a secret.
 */

/** Problems, plus the events that are not problems. */
export type AlertEvent = Problem | 'resolved' | 'rotation-completed' | 'leak-reported' | 'rolled-back' | 'test';

export type Severity = 'critical' | 'error' | 'warning' | 'info';

/** What each event points a person to; the README's runbook section says the same, word for word. */
export const RUNBOOK: Record<AlertEvent, string> = {
  'step-failed':
    'Read the error and the log lines of the failed step, fix what it names (admin credential, permissions, ' +
    'network, the secret), then run rotate again: every run resumes where the last one stopped.',
  'verification-failed':
    'Twilio refused the new credential: it was withdrawn and the current one keeps serving. Fix what the error ' +
    'names (the policy, validationUrl, or the region), then run rotate again.',
  'foreign-secondary':
    'An Auth Token secondary exists whose value the rotator does not hold, so it is kept, never deleted. If the ' +
    "error says it is probably this rotator's own (an answer was lost), nobody can use it: run rotate --target " +
    "<target> --replace-secondary. If it says it may be someone else's, it may be in use: find out whether " +
    'anyone made one first, then delete it in the Console or with the same command.',
  stuck:
    'Run status: it names the consumer that never reported the new credential, or what changed outside the ' +
    'rotator. Fix or restart that consumer (or run confirm), then rotate; nothing is deleted meanwhile.',
  'current-missing':
    'The credential in the secret no longer works on Twilio, so consumers holding it fail. An API key is ' +
    'replaced by the next run; for an Auth Token, store the working token with secret put --replace.',
  'key-overdue':
    'The current credential is older than maxAgeDays plus the grace, so rotation is not happening: look at the ' +
    "target's other open problems and at status, and fix what stops it.",
  'orphan-found':
    "The rotator never deletes these keys: some look like this target's but are not provably its own (another " +
    'deployment with the same prefix?), others are its own but lost their label after a version of the secret ' +
    'held them (consumers may still use them). Find out whose they are and who still uses them, then delete ' +
    'them by hand.',
  resolved: 'Nothing to do: the problem is gone.',
  'rotation-completed': 'Nothing to do: the old credential was retired after the consumer gate passed.',
  'leak-reported':
    'A scanner found this credential outside the secret: the emergency rotation has started. Remove it from ' +
    'where it was found, watch the emergency-finished log line, then check the old credential is refused ' +
    '(README "Leak reports").',
  'rolled-back':
    'A person rolled the credential back: the previous one is current again and the target is paused. Fix what ' +
    'was wrong with the new one (the policy, a consumer), then resume with rotate --force --target <target> ' +
    '(README "A new key is bad: roll back").',
  test: 'Nothing to do: this is a test alert from "twilio-key-rotator alerts test".',
};

export const SEVERITY: Record<AlertEvent, Severity> = {
  'step-failed': 'error',
  'verification-failed': 'error',
  'foreign-secondary': 'error',
  stuck: 'critical',
  'current-missing': 'critical',
  'key-overdue': 'warning',
  'orphan-found': 'warning',
  resolved: 'info',
  'rotation-completed': 'info',
  'leak-reported': 'critical',
  'rolled-back': 'warning',
  test: 'info',
};

export interface Alert {
  /** Unique per alert, the same on every delivery attempt of it (a receiver's idempotency key). */
  id: string;
  event: AlertEvent;
  /** trigger: a problem is open; resolve: it cleared; notify: news that is no problem. */
  action: 'trigger' | 'resolve' | 'notify';
  severity: Severity;
  test: boolean;
  target: string;
  credential: string;
  account: string;
  /** The problem a trigger or resolve is about. */
  problem?: Problem;
  /** One line: what happened, to which target. */
  summary: string;
  details: string[];
  refs: string[];
  step?: string;
  error?: Finding['error'];
  runbook: string;
  /** The same for every alert about one problem of one target (PagerDuty's dedup_key). */
  dedupKey: string;
  /** When the problem was first seen; when this alert was made. */
  firstSeenAt?: string;
  occurredAt: string;
  /** A reminder of a problem already notified, sent after the re-notify interval. */
  renotify?: boolean;
  /** How many refs and details were left out to fit the channel's size limit (fitAlert). */
  omitted?: { refs?: number; details?: number };
}

export const dedupKey = (target: string, problem: string) => `twilio-key-rotator/${target}/${problem}`;

export interface AlertSubject {
  target: string;
  credential: string;
  account: string;
}

export function alertFor(notice: Notice, subject: AlertSubject, id: string, nowMs: number): Alert {
  const firstSeenAt = new Date(notice.sinceMs).toISOString();
  const problem = notice.action === 'resolve' ? notice.problem : notice.finding.problem;
  const event: AlertEvent = notice.action === 'resolve' ? 'resolved' : problem;
  const base = { id, test: false, ...subject, occurredAt: new Date(nowMs).toISOString() };
  const about = { event, action: notice.action, severity: SEVERITY[event], problem };
  const act = { runbook: RUNBOOK[event], dedupKey: dedupKey(subject.target, problem), firstSeenAt };
  if (notice.action === 'resolve') {
    const summary = `${subject.target}: resolved: ${problem} (open since ${firstSeenAt})`;
    return { ...base, ...about, summary, details: [], refs: [], ...act };
  }
  const f = notice.finding;
  return {
    ...base,
    ...about,
    summary: `${subject.target}: ${f.title}`,
    details: f.details,
    refs: f.refs,
    ...(f.step ? { step: f.step } : {}),
    ...(f.error ? { error: f.error } : {}),
    ...act,
    ...(notice.renotify ? { renotify: true } : {}),
  };
}

/** An alert that opens no problem, so nothing will resolve it: each has its own dedup key. */
function notice(
  subject: AlertSubject,
  event: 'rotation-completed' | 'leak-reported' | 'rolled-back' | 'test',
  what: { summary: string; details?: string[]; refs?: string[] },
  id: string,
  nowMs: number,
): Alert {
  return {
    id,
    test: event === 'test',
    ...subject,
    event,
    action: 'notify',
    severity: SEVERITY[event],
    summary: what.summary,
    details: what.details ?? [],
    refs: what.refs ?? [],
    runbook: RUNBOOK[event],
    dedupKey: dedupKey(subject.target, `${event}/${id}`),
    occurredAt: new Date(nowMs).toISOString(),
  };
}

/** The opt-in news of a finished rotation. */
export function completedAlert(subject: AlertSubject, current: string | undefined, id: string, nowMs: number): Alert {
  const summary = `${subject.target}: rotation completed${current ? `; ${current} is current` : ''}`;
  return notice(subject, 'rotation-completed', { summary, refs: current ? [current] : [] }, id, nowMs);
}

/**
 * A verified leak report matched this target and its emergency rotation has started. References
 * only: what was found (a key SID or a token fingerprint) and where the report says it was.
 */
export function leakAlert(
  subject: AlertSubject,
  found: { ref: string; where: string; source: string },
  id: string,
  nowMs: number,
): Alert {
  const summary = `${subject.target}: ${found.ref} was reported leaked by ${found.source}; emergency rotation started`;
  const what = { summary, details: [`found at ${found.where}`], refs: [found.ref] };
  return notice(subject, 'leak-reported', what, id, nowMs);
}

/** `rollback` put the previous credential back and paused the target. References only. */
export function rollbackAlert(
  subject: AlertSubject,
  rolled: { from: string; to: string; kept?: string },
  id: string,
  nowMs: number,
): Alert {
  const summary = `${subject.target}: rolled back from ${rolled.from} to ${rolled.to}; automatic rotation is paused`;
  const details = rolled.kept ? [`the new credential ${rolled.from} was kept: ${rolled.kept}`] : [];
  return notice(subject, 'rolled-back', { summary, details, refs: [rolled.to, rolled.from] }, id, nowMs);
}

export function testAlert(channel: string, id: string, nowMs: number): Alert {
  const subject = { target: '(test)', credential: '(test)', account: '(test)' };
  const summary = `TEST alert from twilio-key-rotator to channel "${channel}": delivery works`;
  return notice(subject, 'test', { summary }, id, nowMs);
}

/** The JSON document webhooks and SNS carry (the Standard Webhooks payload shape: type, timestamp, data). */
export function alertDocument(alert: Alert): { type: string; timestamp: string; data: Omit<Alert, 'id'> } {
  const { id: _id, ...data } = alert;
  return { type: `rotator.${alert.event.replace(/-/g, '_')}`, timestamp: alert.occurredAt, data };
}

/**
 * Size limits of the channels, and what they cut when a message is over: Slack truncates text past
 * 40,000 characters (the runbook line, last, went first), PagerDuty refuses an event over 512 KB,
 * SNS a message over 256 KiB (attributes and subject included, so the document gets a little less),
 * and a webhook gets the document SNS gets.
 */
export const CHANNEL_LIMITS = { slackTextChars: 40_000, pagerDutyBytes: 512 * 1024, documentBytes: 252 * 1024 };

/** Texts past these are clipped first, at a word: one line of summary, a detail, an error message. */
const SUMMARY_CHARS = 500;
const DETAIL_CHARS = 1000;
const ERROR_CHARS = 2000;

/** `text` cut at a word (or after a comma) to at most `max` characters, marked "…". */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  const at = Math.max(room.lastIndexOf(' '), room.lastIndexOf(','));
  return `${(at > max / 2 ? room.slice(0, at) : room).replace(/[ ,]+$/, '')}…`;
}

/**
 * The alert, made to fit a channel: `fits` says whether a version goes through. Long texts are
 * clipped, then the lists (refs, details) halved until it fits, each cut counted in `omitted`. The
 * runbook, the event, the target and the dedup key are never cut: they are what a person acts on.
 */
export function fitAlert(alert: Alert, fits: (a: Alert) => boolean): Alert {
  if (fits(alert)) return alert;
  for (let keep = Math.max(alert.refs.length, alert.details.length); ; keep = Math.floor(keep / 2)) {
    const cut = shorten(alert, keep);
    if (keep === 0 || fits(cut)) return cut;
  }
}

function shorten(alert: Alert, keep: number): Alert {
  const refs = Math.max(0, alert.refs.length - keep);
  const details = Math.max(0, alert.details.length - keep);
  return {
    ...alert,
    summary: clip(alert.summary, SUMMARY_CHARS),
    refs: alert.refs.slice(0, keep),
    details: alert.details.slice(0, keep).map((d) => clip(d, DETAIL_CHARS)),
    ...(alert.error ? { error: { ...alert.error, message: clip(alert.error.message, ERROR_CHARS) } } : {}),
    ...(refs > 0 || details > 0
      ? { omitted: { ...(refs > 0 ? { refs } : {}), ...(details > 0 ? { details } : {}) } }
      : {}),
  };
}

/** The alert as the webhook and SNS document carry it: within CHANNEL_LIMITS.documentBytes. */
export function fitDocument(alert: Alert): Alert {
  const size = (a: Alert) => Buffer.byteLength(JSON.stringify(alertDocument(a)));
  return fitAlert(alert, (a) => size(a) <= CHANNEL_LIMITS.documentBytes);
}
