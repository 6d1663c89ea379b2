import { oneTargetName, type Command } from './command.js';
import { BAD_INPUT, targetIsAnArgument } from './flags.js';

export const confirm: Command = {
  usage: [['confirm <target>', 'record that every consumer uses the new credential']],
  help: `Usage: twilio-key-rotator confirm <target> [--json]

Records that every consumer of <target> uses the credential the gate waits for (gate.manualConfirm):
the current key of an API-key target; the pending token of an Auth Token target, before its promotion.`,
  exitCodes: `Exit codes: 0 recorded, 1 the store could not be reached,
${BAD_INPUT} (e.g. an unknown target, or nothing to confirm).`,
  flags: [],
  refuses: { target: targetIsAnArgument('confirm') },
  check: (rest) => oneTargetName('confirm', rest),
  async run({ rest, values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { named: rest });
    const { confirm: confirmTarget } = await import('../../engine/commands.js');
    const done = await confirmTarget(config, runtime, rest[0]!);
    const then = 'the next rotate run may go on once the rest of the gate passes';
    const text = `${done.target}: confirmed that consumers use ${done.ref} (version ${done.versionId}); ${then}.`;
    print(values.json ? JSON.stringify(done) : text);
    return 0;
  },
};
