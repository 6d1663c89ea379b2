import type { TargetResult } from '../core/outcome.js';
import type { TargetStatus } from '../engine/commands.js';
import type { RollbackReport } from '../engine/rollback.js';

/** How a result's credentials are named in words: keys by SID, tokens by fingerprint. */
const noun = (credential: string) => (credential === 'auth-token' ? 'token' : 'key');

export function formatResult(r: TargetResult): string {
  const head = `${r.target}: `;
  const what = noun(r.credential);
  switch (r.kind) {
    case 'done':
      return `${head}done. Current ${what} ${r.current}; next rotation due ${new Date(r.nextDueAtMs).toISOString()}.`;
    case 'waiting':
      return `${head}${r.credential === 'auth-token' ? `waiting; ${r.kept} stays the current token` : `waiting for consumers before deleting ${r.kept}`} (gives up ${new Date(r.deadlineMs).toISOString()}):\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'stuck':
      return `${head}STUCK since ${new Date(r.sinceMs).toISOString()}${r.kept ? `; ${r.kept} is kept` : ''}; a person must act:\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'busy':
      return `${head}nothing to do now: ${r.reason}.`;
    case 'lost-race':
      return `${head}another rotator got there first (${r.detail}); what this run made was revoked.`;
    case 'deferred':
      if (r.reason === 'paused' && r.detail.includes('rotate --force')) return `${head}${r.detail}.`;
      if (r.reason === 'paused') return `${head}${r.detail}; name it with --target to rotate it anyway.`;
      if (r.reason === 'window') return `${head}${r.detail}; --force starts it now.`;
      return `${head}${r.detail}; the next run resumes.`;
    case 'failed':
      return `${head}FAILED at ${r.step}: ${r.error}`;
    case 'planned':
      return [
        `${r.target}: plan (dry run, nothing changed)`,
        ...r.checks.map((c) => `  check: ${c}`),
        ...r.warnings.map((w) => `  warning: ${w}`),
        ...r.plan.map((p, i) => `  ${i + 1}. ${p}`),
      ].join('\n');
  }
}

/**
 * A result as `--json` prints it. API-key results keep the field names of 0.1.0 (`currentKeySid`,
 * `previousKeySid`) beside the kind-neutral ones, for scripts written against them. What the run saw
 * for alerts and metrics (`seen`) stays inside.
 */
export function forJson(result: TargetResult): unknown {
  const { seen: _seen, ...r } = result;
  if (r.credential !== 'api-key') return r;
  if (r.kind === 'done') return { ...r, currentKeySid: r.current };
  if (r.kind === 'waiting' || (r.kind === 'stuck' && r.kept)) return { ...r, previousKeySid: r.kept };
  return r;
}

export function formatStatus(s: TargetStatus): string {
  if (s.error) return `${s.target}: cannot read state: ${s.error}`;
  const lines = [
    `${s.target}:${s.attention ? '   ** needs attention **' : ''}`,
    `  current ${noun(s.kind).padEnd(6)}${s.current ?? '(none yet)'}${s.ageDays !== undefined ? ` (${s.ageDays} days old)` : ''}`,
    `  next step:    ${s.step}`,
    ...(s.next ? [`  next rotate:  ${s.next}`] : []),
    ...(s.waitingOn.length ? [`  waiting on:   ${s.waitingOn.join('\n                ')}`] : []),
    ...(s.nextDueAt ? [`  next due:     ${s.nextDueAt}`] : []),
    ...(s.window ? [`  window:       ${s.window.description} (${s.window.open ? 'open now' : 'closed now'})`] : []),
    ...(s.pausedBy ? [`  paused:       ${s.pausedBy}`] : []),
    ...(s.paused && !s.pausedBy ? ['  paused:       automatic rotation is off (paused: true)'] : []),
    ...(s.lastError ? [`  last error:   ${s.lastError}`] : []),
    ...(s.warnings ?? []).map((w) => `  warning:      ${w}`),
    ...(s.openProblems ?? []).map(
      (p) =>
        `  alert open:   ${p.problem} since ${p.since}${p.notifiedAt ? `, notified ${p.notifiedAt}` : ', not yet delivered'}`,
    ),
  ];
  return lines.join('\n');
}

export function formatRollback(r: RollbackReport): string {
  const pair = `${r.from.ref} (version ${r.from.versionId}) back to ${r.to.ref} (version ${r.to.versionId})`;
  const head =
    r.state === 'planned'
      ? `${r.target}: rollback plan from ${pair} (dry run, nothing changed)`
      : `${r.target}: rolled back from ${pair}`;
  const steps = r.steps.map((s, i) => (r.state === 'planned' ? `  ${i + 1}. ${s.detail}` : `  ${s.step}: ${s.detail}`));
  const tail = r.state === 'planned' ? [] : [`  ${r.paused}`, ...(r.kept ? [`  KEPT: ${r.kept}`] : [])];
  return [head, ...steps, ...tail].join('\n');
}
