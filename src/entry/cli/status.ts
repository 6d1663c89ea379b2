import type { TargetStatus } from '../../engine/commands.js';
import { noArguments, type Command } from './command.js';
import { BAD_INPUT } from './flags.js';
import type { WordsOf } from './rotate.js';

export const status: Command = {
  usage: [['status [--target NAME]…', 'current key, age, next step, what the gate waits on']],
  help: `Usage: twilio-key-rotator status [--target NAME]… [--json]

Read-only. Per target: current key and age, what the next rotate would do, what the gate waits on,
the last error. Exits 1 when a target is stuck, failed its last run, or its current key is gone.

  -t, --target NAME   only this target; repeatable`,
  exitCodes: `Exit codes: 0 nothing needs a person, 1 a target is stuck, failed its last run, lost its current
key or cannot be read, ${BAD_INPUT}.`,
  flags: ['target'],
  check: (rest) => noArguments('status', rest),
  async run({ values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { named: values.target });
    const [{ status: statusOf }, { wordsOf }] = await Promise.all([
      import('../../engine/commands.js'),
      import('../../credentials/registry.js'),
    ]);
    const statuses = await statusOf(config, runtime, values.target);
    const text = () => statuses.map((s) => formatStatus(s, wordsOf)).join('\n');
    print(values.json ? JSON.stringify({ targets: statuses }, null, 2) : text());
    return statuses.some((s) => s.attention) ? 1 : 0;
  },
};

function formatStatus(s: TargetStatus, words: WordsOf): string {
  if (s.error) return `${s.target}: cannot read state: ${s.error}`;
  const age = s.ageDays !== undefined ? ` (${s.ageDays} days old)` : '';
  const alert = (p: NonNullable<TargetStatus['openProblems']>[number]) => {
    const notified = p.notifiedAt ? `, notified ${p.notifiedAt}` : ', not yet delivered';
    return `  alert open:   ${p.problem} since ${p.since}${notified}`;
  };
  const lines = [
    `${s.target}:${s.attention ? '   ** needs attention **' : ''}`,
    `  current ${words(s.kind).noun.padEnd(6)}${s.current ?? '(none yet)'}${age}`,
    `  next step:    ${s.step}`,
    ...(s.next ? [`  next rotate:  ${s.next}`] : []),
    ...(s.waitingOn.length ? [`  waiting on:   ${s.waitingOn.join('\n                ')}`] : []),
    ...(s.nextDueAt ? [`  next due:     ${s.nextDueAt}`] : []),
    ...(s.window ? [`  window:       ${s.window.description} (${s.window.open ? 'open now' : 'closed now'})`] : []),
    ...(s.pausedBy ? [`  paused:       ${s.pausedBy}`] : []),
    ...(s.paused && !s.pausedBy ? ['  paused:       automatic rotation is off (paused: true)'] : []),
    ...(s.lastError ? [`  last error:   ${s.lastError}`] : []),
    ...(s.warnings ?? []).map((w) => `  warning:      ${w}`),
    ...(s.openProblems ?? []).map(alert),
  ];
  return lines.join('\n');
}
