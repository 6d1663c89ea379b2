import { UsageError } from '../../errors.js';
import type { Command } from './command.js';
import { targetIsAnArgument } from './flags.js';

export const alerts: Command = {
  usage: [['alerts test [--channel NAME]', 'send a test alert to every (or the named) channel']],
  help: `Usage: twilio-key-rotator alerts test [--channel NAME] [--json]

Sends a clearly marked test alert to every configured alert channel (alerts.channels), or to the one
named, and says for each whether it was delivered. A PagerDuty test is triggered and resolved at once.
Exits 1 when a channel could not be reached.

      --channel NAME  only this channel`,
  exitCodes: `Exit codes: 0 every channel took the test alert, 1 a channel could not be reached,
2 no channel is configured (or none of that name), or bad configuration or usage.`,
  flags: ['channel'],
  refuses: { target: targetIsAnArgument('alerts') },
  check(rest) {
    if (rest[0] !== 'test' || rest.length !== 1)
      throw new UsageError('usage: twilio-key-rotator alerts test [--channel NAME]');
  },
  async run({ values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { setup: false });
    const { sendTestAlerts } = await import('../../engine/alerts.js');
    const sent = await sendTestAlerts(config, runtime, values.channel);
    const text = sent.map((d) => (d.delivered ? `${d.channel} (${d.type}): test alert delivered` : `${d.error}`));
    print(values.json ? JSON.stringify({ channels: sent }, null, 2) : text.join('\n'));
    return sent.every((d) => d.delivered) ? 0 : 1;
  },
};
