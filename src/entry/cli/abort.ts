import { oneTargetName, type Command } from './command.js';
import { BAD_INPUT, targetIsAnArgument } from './flags.js';

export const abort: Command = {
  usage: [['abort <target>', 'back out an Auth Token rotation before its promotion']],
  help: `Usage: twilio-key-rotator abort <target> [--json]

Backs out an Auth Token rotation before its promotion: deletes the secondary token this tool created
and drops it from AWSPENDING. The primary token is untouched. After a promotion there is nothing to
back out (the old token is dead); rotate finishes instead.`,
  exitCodes: `Exit codes: 0 backed out, 1 the store or Twilio could not be reached,
${BAD_INPUT} (e.g. an API-key target).`,
  flags: [],
  refuses: { target: targetIsAnArgument('abort') },
  check: (rest) => oneTargetName('abort', rest),
  async run({ rest, values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { named: rest });
    const { abort: abortTarget } = await import('../../engine/commands.js');
    const done = await abortTarget(config, runtime, rest[0]!);
    print(values.json ? JSON.stringify(done) : `${done.target}: ${done.detail}.`);
    return 0;
  },
};
