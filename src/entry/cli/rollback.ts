import type { RollbackReport } from '../../engine/rollback.js';
import { oneTargetName, type Command } from './command.js';
import { BAD_INPUT, targetIsAnArgument } from './flags.js';

export const rollback: Command = {
  usage: [['rollback <target> [--dry-run]', 'a bad new key: put the previous one back during the overlap']],
  help: `Usage: twilio-key-rotator rollback <target> [--dry-run] [--json]

A new credential is bad: during the overlap (after its promotion, before the old one is retired),
puts the previous credential back. Verifies the old one still works first (refuses, changing nothing,
if not), pauses the target so the schedule does not rotate it again, moves AWSCURRENT back, revokes
the new credential when it is provably this target's own (else keeps it and says so), and sends a
rolled-back alert. A rerun finishes a rollback that was cut short. Resume with rotate --force
--target <target>. An Auth Token cannot be rolled back: its old token dies at the promotion (before
it, use abort).

      --dry-run   verify the old credential and print the plan; change nothing`,
  exitCodes: `Exit codes: 0 rolled back (or, with --dry-run, planned), 1 the store or Twilio could not be
reached, something changed meanwhile (a person, a concurrent run), or the new credential was kept,
${BAD_INPUT}
(e.g. nothing to roll back, the old credential no longer works, an Auth Token after its promotion).`,
  flags: ['dry-run'],
  refuses: { target: targetIsAnArgument('rollback') },
  check: (rest) => oneTargetName('rollback', rest),
  async run({ rest, values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { named: rest });
    const { rollback: rollbackTarget } = await import('../../engine/rollback.js');
    const done = await rollbackTarget(config, runtime, rest[0]!, { dryRun: values['dry-run'] ?? false });
    print(values.json ? JSON.stringify(done, null, 2) : formatRollback(done));
    return done.kept !== undefined ? 1 : 0;
  },
};

function formatRollback(r: RollbackReport): string {
  const pair = `${r.from.ref} (version ${r.from.versionId}) back to ${r.to.ref} (version ${r.to.versionId})`;
  const planned = r.state === 'planned';
  const head = planned
    ? `${r.target}: rollback plan from ${pair} (dry run, nothing changed)`
    : `${r.target}: rolled back from ${pair}`;
  const steps = r.steps.map((s, i) => (planned ? `  ${i + 1}. ${s.detail}` : `  ${s.step}: ${s.detail}`));
  const tail = planned ? [] : [`  ${r.paused}`, ...(r.kept ? [`  KEPT: ${r.kept}`] : [])];
  return [head, ...steps, ...tail].join('\n');
}
