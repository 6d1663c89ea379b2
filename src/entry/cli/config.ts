import { UsageError } from '../../errors.js';
import type { Command } from './command.js';
import { BAD_INPUT } from './flags.js';

const USAGE = 'usage: twilio-key-rotator config check [--config PATH] [--json]';

export const config: Command = {
  usage: [['config check', 'validate the configuration file; touches nothing']],
  help: `Usage: twilio-key-rotator config check [--config PATH] [--json]

Reads and validates the configuration file exactly as every other command does (\${NAME} references
from this environment included) and says whether it is valid, naming every problem by its path.
Touches nothing: no store, no Twilio, no network. Editors can check as you type with
config/rotator.schema.json (the first line of config/example.yaml points at it).`,
  exitCodes: `Exit codes: 0 the file is valid, ${BAD_INPUT}.`,
  flags: [],
  refuses: { target: USAGE },
  check(rest) {
    if (rest[0] !== 'check' || rest.length !== 1) throw new UsageError(USAGE);
  },
  async run({ values, session, print }) {
    const { path } = session;
    const loaded = await session.config();
    const summary = {
      valid: true,
      path,
      targets: loaded.targets.map((t) => t.name),
      fleets: loaded.fleets.map((f) => f.name),
      channels: loaded.alerts.channels.map((c) => c.name),
    };
    const counts = [
      `${summary.targets.length} target(s)`,
      `${summary.fleets.length} fleet(s)`,
      `${summary.channels.length} alert channel(s)`,
    ].join(', ');
    print(values.json ? JSON.stringify(summary, null, 2) : `${path}: valid (${counts}); nothing was contacted.`);
    return 0;
  },
};
